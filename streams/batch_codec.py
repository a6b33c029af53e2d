"""Packing many source records into one message, and unpacking them again.

A batch carries each record's source offset, key and value bytes exactly
(values need not be valid UTF-8 or JSON: dead letters must show them as sent).
Layout: magic, count, then per record offset (q), key length (i, -1 = none),
value length (i, -1 = none) and the bytes.
"""
from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

MAGIC = b"FB1"
_COUNT = struct.Struct(">I")
_HEAD = struct.Struct(">qii")


HEADER_BYTES = len(MAGIC) + _COUNT.size


def packed_size(key: bytes | None, value: bytes | None) -> int:
    """Bytes one record adds to a packed batch."""
    return _HEAD.size + len(key or b"") + len(value or b"")


def pack(records: Iterable[tuple[int, bytes | None, bytes | None]]) -> bytes:
    parts = [MAGIC, b""]
    n = 0
    for offset, key, value in records:
        parts.append(_HEAD.pack(offset, -1 if key is None else len(key), -1 if value is None else len(value)))
        if key:
            parts.append(key)
        if value:
            parts.append(value)
        n += 1
    parts[1] = _COUNT.pack(n)
    return b"".join(parts)


def unpack(payload: bytes) -> Iterator[tuple[int, bytes | None, bytes | None]]:
    if payload[:3] != MAGIC:
        raise ValueError("not a Folio record batch")
    view = memoryview(payload)
    (n,) = _COUNT.unpack_from(view, 3)
    pos = 3 + _COUNT.size
    for _ in range(n):
        offset, klen, vlen = _HEAD.unpack_from(view, pos)
        pos += _HEAD.size
        key = None
        if klen >= 0:
            key = bytes(view[pos:pos + klen])
            pos += klen
        value = None
        if vlen >= 0:
            value = bytes(view[pos:pos + vlen])
            pos += vlen
        yield offset, key, value
