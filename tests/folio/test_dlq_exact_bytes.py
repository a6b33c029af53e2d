"""Redrive re-publishes a letter's exact bytes. (A letter that kept only the head of its value is
redriven from the original record or refused: tests/folio/test_dlq.py, on a real broker.)"""
from __future__ import annotations

from dataclasses import dataclass

import orjson

from folio.dlq import _redrive_event
from streams.dead_letters import dead_letter


@dataclass
class Record:
    value: bytes
    key: bytes | None = b"P1"
    topic: str = "dead_letters"
    partition: int = 0
    offset: int = 0


async def test_a_value_kept_in_base64_is_redriven_as_its_original_bytes():
    raw = b'{"transaction_id":"T\x00","portfolio_id":"P1"}\xff'
    letter = dead_letter("transactions", 0, 3, b"P\x001", raw, "invalid_json", None, "bad")
    event, source = await _redrive_event("127.0.0.1:9", Record(orjson.dumps(letter)))  # needs no broker
    assert (event.topic, event.key, event.value, source) == ("transactions", b"P\x001", raw, ("transactions", 0, 3))

