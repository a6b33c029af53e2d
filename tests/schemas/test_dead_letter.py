"""A dead letter fits any broker whatever it rejects, and keeps the raw value exactly."""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timezone

from schemas.decode import Rejection
from schemas.events import DeadLetter

AT = datetime(2026, 11, 26, tzinfo=timezone.utc)
REJECTION = Rejection("invalid_json", None, "not UTF-8 JSON", None)
# Kafka's default message.max.bytes is 1 MiB; a letter must stay far below it.
BROKER_MESSAGE_LIMIT = 1_048_588


def letter(raw: bytes, key: bytes | None = b"P1", rejection=REJECTION) -> DeadLetter:
    return DeadLetter.build(rejection, source_topic="transactions", partition=1, offset=7, key=key, raw=raw, at=AT)


def test_a_one_megabyte_value_keeps_its_first_4_kib_its_size_and_its_sha256():
    raw = b'{"transaction_id":"T1","pad":"' + b"x" * 1_000_000 + b'"}'
    built = letter(raw)
    assert built.raw_size == 1_000_032
    assert built.raw_sha256 == hashlib.sha256(raw).hexdigest()
    assert built.raw_truncated is True
    assert built.raw_encoding == "utf-8"
    assert built.raw_value == raw[:4096].decode()
    assert len(built.model_dump_json()) < 8192


def test_a_small_value_is_kept_whole_and_not_marked_truncated():
    raw = b'{"transaction_id":"T1"}'
    built = letter(raw)
    assert (built.raw_value, built.raw_size, built.raw_truncated) == ('{"transaction_id":"T1"}', 23, False)


def test_a_head_cut_through_a_multibyte_character_keeps_only_whole_characters():
    raw = "é".encode() * 3000  # 6000 bytes, 2 per character
    built = letter(raw)
    assert built.raw_value == "é" * 2048
    assert built.raw_truncated is True


def test_a_value_holding_nul_is_kept_exactly_in_base64():
    raw = b'{"transaction_id":"a\x00b","portfolio_id":"P1"}'
    built = letter(raw)
    assert built.raw_encoding == "base64"
    assert base64.b64decode(built.raw_value) == raw
    assert built.raw_head_bytes() == raw
    assert "\x00" not in built.model_dump_json()


def test_a_value_that_is_not_utf8_is_kept_exactly_in_base64():
    raw = b"\xff\xfe{\x80"
    built = letter(raw)
    assert (built.raw_encoding, built.raw_head_bytes(), built.raw_truncated) == ("base64", raw, False)


def test_a_huge_binary_key_is_bounded_and_kept_exactly_as_far_as_it_goes():
    key = b"\x00" * 2_000_000
    built = letter(b"{}", key=key)
    assert built.key_encoding == "base64"
    assert built.key_bytes() == b"\x00" * 1024


def test_huge_free_text_and_nul_in_it_are_bounded_and_escaped():
    rejection = Rejection("processing_error", "f\x00", "E" * 1_000_000 + "\x00", "T\x00" * 500_000)
    built = letter(b"{}", rejection=rejection)
    assert len(built.detail) == 2000 and built.detail.endswith("…")
    assert built.field == "f\\x00"
    assert len(built.transaction_id) == 256
    assert "\x00" not in built.model_dump_json()


def test_the_worst_letter_stays_far_below_the_broker_message_limit():
    # Control characters are escaped six-fold in JSON: the worst case for the text head.
    rejection = Rejection("processing_error", "f" * 10_000, "\x01" * 1_000_000, "\x01" * 1_000_000)
    built = letter(b"\x01" * 5_000_000, key=b"\x01" * 5_000_000, rejection=rejection)
    assert len(built.model_dump_json().encode()) < BROKER_MESSAGE_LIMIT // 16


def test_a_letter_written_before_size_and_hash_existed_still_decodes():
    old = ('{"source_topic":"transactions","partition":0,"offset":3,"key":"P1","raw_value":"x",'
           '"reason":"invalid_json","field":null,"transaction_id":null,"detail":"d",'
           '"dead_lettered_at":"2026-01-01T00:00:00+00:00"}')
    decoded = DeadLetter.model_validate_json(old)
    assert (decoded.raw_value, decoded.raw_encoding, decoded.raw_size, decoded.raw_sha256,
            decoded.raw_truncated) == ("x", "utf-8", None, None, False)


def test_a_letter_from_older_code_holding_nul_and_a_huge_value_decodes_storable():
    old = {"source_topic": "transactions", "partition": 0, "offset": 3, "key": "P\x001",
           "raw_value": "a\x00b" + "x" * 10_000, "reason": "invalid_json", "field": None,
           "transaction_id": "T\x00", "detail": "d", "dead_lettered_at": "2026-01-01T00:00:00+00:00"}
    decoded = DeadLetter.model_validate(old)
    assert decoded.raw_head_bytes() == ("a\x00b" + "x" * 10_000).encode()[:4096]
    assert (decoded.raw_encoding, decoded.raw_truncated) == ("base64", True)
    assert decoded.key_bytes() == b"P\x001"
    assert decoded.transaction_id == "T\\x00"
