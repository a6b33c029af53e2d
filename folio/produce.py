"""Publish events onto Folio's topics straight from JSON lines (`folio produce FILE`).

Each line is `{"topic": ..., "key": ..., "value": ...}`. An object `value` is
published as its exact JSON text from the line (sliced out, never re-encoded,
so decimal numbers keep every digit and no float ever touches them); a string
`value` is a raw payload (often deliberately invalid JSON) published verbatim.

Order: one producer, and aiokafka keeps at most one produce request in flight
per broker, so the file order holds within each partition (hence per key).
"""
from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

# Awaiting each send would cost a round trip per message; awaiting them in
# groups keeps batching while still surfacing a failed delivery promptly.
_CONFIRM_EVERY = 10_000

# Decimal for floats: values are only checked here, but never as binary floats.
_DECODER = json.JSONDecoder(parse_float=Decimal)
_WHITESPACE = re.compile(r"[ \t\n\r]*")

Key = str | bytes | None


class EventFileError(ValueError):
    """A line of an events file is not `{"topic", "key", "value"}` JSON."""


@dataclass(frozen=True)
class Event:
    topic: str
    key: bytes | None
    value: bytes


def kafka_producer(bootstrap: str, **overrides: Any) -> AIOKafkaProducer:
    """Folio's producer settings for tools: acks from every in-sync replica, batched.

    No idempotence: the development broker (tansu) rejects it, and every
    consumer in Folio is idempotent anyway.
    """
    settings: dict[str, Any] = dict(
        bootstrap_servers=bootstrap,
        client_id="folio-produce",
        acks="all",
        linger_ms=10,
        max_batch_size=256 * 1024,
        enable_idempotence=False,
    )
    settings.update(overrides)
    return AIOKafkaProducer(**settings)


def read_events(path: Path | str, topics: set[str] | None = None) -> list[Event]:
    """Parse a whole events file (all of it first: a bad line publishes nothing)."""
    events = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            event = parse_event_line(line, where=f"{path}:{number}")
            if topics is None or event.topic in topics:
                events.append(event)
    return events


def parse_event_line(line: str, where: str = "line") -> Event:
    try:
        members = _top_level_members(line)
    except ValueError as error:
        raise EventFileError(f"{where}: not a JSON object line: {error}") from None
    missing = {"topic", "key", "value"} - members.keys()
    if missing:
        raise EventFileError(f"{where}: missing {sorted(missing)}")
    topic, _ = members["topic"]
    key, _ = members["key"]
    value, value_text = members["value"]
    if not isinstance(topic, str) or not topic:
        raise EventFileError(f"{where}: topic must be a non-empty string")
    if key is not None and not isinstance(key, str):
        raise EventFileError(f"{where}: key must be a string or null")
    payload = value if isinstance(value, str) else value_text
    return Event(topic, key.encode() if key is not None else None, payload.encode())


async def produce_file(bootstrap: str, path: Path | str, topics: set[str] | None = None) -> int:
    """Publish every line of `path` (only those on `topics` if given), in file order."""
    return await produce_events(bootstrap, read_events(path, topics))


async def publish(bootstrap: str, topic: str, items: Sequence[tuple[Key, bytes]]) -> int:
    """Publish (key, value) pairs to one topic, in order; return how many."""
    return await produce_events(bootstrap, (Event(topic, _key_bytes(k), v) for k, v in items))


async def produce_events(bootstrap: str, events: Iterable[Event]) -> int:
    """Send in order with one producer; return only once every message is acknowledged."""
    producer = kafka_producer(bootstrap)
    try:
        await producer.start()
        return await send_all(producer, events)
    finally:
        await producer.stop()


async def send_all(producer: AIOKafkaProducer, events: Iterable[Event]) -> int:
    count = 0
    pending: list[asyncio.Future] = []
    for event in events:
        pending.append(await producer.send(event.topic, event.value, key=event.key))
        count += 1
        if len(pending) >= _CONFIRM_EVERY:
            await asyncio.gather(*pending)
            pending.clear()
    await producer.flush()
    await asyncio.gather(*pending)
    return count


def _key_bytes(key: Key) -> bytes | None:
    return key.encode() if isinstance(key, str) else key


def _top_level_members(text: str) -> dict[str, tuple[Any, str]]:
    """Each member of a one-line JSON object: name -> (decoded value, its exact source text).

    Walks the object with the stdlib JSON scanner, so the raw slice is right
    whatever the spacing or member order. For the canonical compact lines it
    equals "the line after `,"value":` minus the final `}`".
    """
    position = _skip_whitespace(text, 0)
    if text[position:position + 1] != "{":
        raise ValueError("expected '{'")
    position = _skip_whitespace(text, position + 1)
    members: dict[str, tuple[Any, str]] = {}
    if text[position:position + 1] == "}":
        return _expect_end(text, position + 1, members)
    while True:
        name, position = _DECODER.raw_decode(text, position)
        if not isinstance(name, str):
            raise ValueError(f"member name must be a string at column {position}")
        position = _skip_whitespace(text, position)
        if text[position:position + 1] != ":":
            raise ValueError(f"expected ':' at column {position}")
        start = _skip_whitespace(text, position + 1)
        value, end = _DECODER.raw_decode(text, start)
        members[name] = (value, text[start:end])
        position = _skip_whitespace(text, end)
        separator = text[position:position + 1]
        if separator == "}":
            return _expect_end(text, position + 1, members)
        if separator != ",":
            raise ValueError(f"expected ',' or '}}' at column {position}")
        position = _skip_whitespace(text, position + 1)


def _skip_whitespace(text: str, position: int) -> int:
    return _WHITESPACE.match(text, position).end()


def _expect_end(text: str, position: int, members: dict[str, tuple[Any, str]]) -> dict[str, tuple[Any, str]]:
    if _skip_whitespace(text, position) != len(text):
        raise ValueError(f"unexpected text after the object at column {position}")
    return members
