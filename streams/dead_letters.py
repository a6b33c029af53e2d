"""Dead letters: a rejected event with where it came from and why."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def dead_letter(topic: str, partition: int | None, offset: int | None, key: bytes | None,
                raw: bytes | None, reason: str, field: str | None, detail: str,
                transaction_id: str | None = None) -> dict[str, Any]:
    return {
        "source_topic": topic,
        "partition": partition,
        "offset": offset,
        "key": None if key is None else key.decode("utf-8", "replace"),
        "raw_value": "" if raw is None else raw.decode("utf-8", "replace"),
        "reason": reason,
        "field": field,
        "transaction_id": transaction_id,
        "detail": detail,
        "dead_lettered_at": datetime.now(UTC).isoformat(),
    }
