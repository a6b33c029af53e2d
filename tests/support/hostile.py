"""Hostile field values for fuzzing events: near-valid events carrying one of these.

Each is JSON text (a fragment spliced in as a field's value), so numbers keep
their exact spelling and escapes reach the decoder as a producer wrote them.
"""
from __future__ import annotations

import json
import random

MEGABYTE = 1 << 20

HOSTILE_FRAGMENTS: tuple[str, ...] = (
    '"a\\u0000b"',            # NUL (PostgreSQL text refuses it)
    '"\\u0001\\u001f\\u007f"',  # control characters
    '"\\ud800"',              # lone surrogate (not Unicode)
    '"\\udfff\\ud800"',       # reversed surrogate pair
    '"\\u202eevil"',          # right-to-left override
    '""', '" "',
    '"0001-01-01"', '"9999-12-31"', '"2024-02-30"', '"2024-1-2"',
    '"1e99"', "1e99", '"1e-99"', "1e-99", '"9e98"', "-1e99", '"1e100"', "1e400", "1e-400",
    '"-0"', "0", "-1", '"NaN"', "NaN", "Infinity", "-Infinity", '"0x10"',
    '"1234567890123456789012345678901234.5"',  # 35 significant digits
    "123", "true", "null", "[]", "{}", '[1,2,3]', '{"a":1}',
    '"' + "x" * 300 + '"',
)


def splice(event: dict, field: str, fragment: str) -> bytes:
    """The event's JSON with `field` set to the fragment's JSON text, verbatim."""
    marker = "\u2603HOSTILE\u2603"
    text = json.dumps({**event, field: marker}, ensure_ascii=False)
    return text.replace(json.dumps(marker, ensure_ascii=False), fragment, 1).encode("utf-8")


def huge_string(rng: random.Random, size: int = MEGABYTE) -> str:
    """A JSON string fragment of about `size` bytes (printable, valid)."""
    return '"' + "".join(rng.choice("abcdefghij") for _ in range(64)) * (size // 64) + '"'
