"""Bytes ⇄ JSON for table values and keys. Decimals travel as strings."""
from __future__ import annotations

from typing import Any

import orjson

SEP = "\x1f"  # unit separator: cannot appear in ids that come from JSON text keys


def compound_key(*parts: str) -> str:
    return SEP.join(parts)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def loads(raw: bytes | str) -> Any:
    return orjson.loads(raw)
