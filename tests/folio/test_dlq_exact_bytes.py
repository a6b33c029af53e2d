"""Redrive re-publishes a letter's exact bytes, and never a value of which only the head was kept."""
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


def test_a_value_kept_in_base64_is_redriven_as_its_original_bytes():
    raw = b'{"transaction_id":"T\x00","portfolio_id":"P1"}\xff'
    event = _redrive_event(Record(orjson.dumps(dead_letter("transactions", 0, 3, b"P\x001", raw, "invalid_json",
                                                           None, "bad"))))
    assert (event.topic, event.key, event.value) == ("transactions", b"P\x001", raw)


def test_a_truncated_value_is_not_redriven():
    letter = dead_letter("transactions", 0, 3, b"P1", b"x" * 100_000, "record_too_large", None, "big")
    assert _redrive_event(Record(orjson.dumps(letter))) is None
