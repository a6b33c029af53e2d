"""Dead letters: a rejected event with where it came from and why."""
from __future__ import annotations

from typing import Any

from schemas.decode import Rejection
from schemas.events import DeadLetter


def dead_letter(topic: str, partition: int | None, offset: int | None, key: bytes | None,
                raw: bytes | None, reason: str, field: str | None, detail: str,
                transaction_id: str | None = None) -> dict[str, Any]:
    """The JSON body of a dead letter (schemas.events.DeadLetter), for the `dead_letters` topic."""
    letter = DeadLetter.build(Rejection(reason, field, detail, transaction_id), source_topic=topic,
                              partition=partition, offset=offset, key=key, raw=raw or b"")
    return letter.model_dump(mode="json")
