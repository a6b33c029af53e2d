"""Dead letters: a rejected event with where it came from and why."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaProducer
import orjson
from aiokafka.errors import KafkaError

from schemas.decode import Rejection
from schemas.events import DeadLetter, letter_bytes

log = logging.getLogger(__name__)

DEAD_LETTERS_TOPIC = "dead_letters"
# A positions worker's write-ahead batch (streams.partition_transaction) that could not be read back.
INVALID_PENDING_BATCH = "invalid_pending_batch"


def dead_letter(topic: str, partition: int | None, offset: int | None, key: bytes | None,
                raw: bytes | None, reason: str, field: str | None, detail: str,
                transaction_id: str | None = None) -> dict[str, Any]:
    """The JSON body of a dead letter (schemas.events.DeadLetter), for the `dead_letters` topic.

    Bounded whatever it rejects (raw value's head, size and sha256), so it
    always fits the broker's message limit."""
    letter = DeadLetter.build(Rejection(reason, field, detail, transaction_id), source_topic=topic,
                              partition=partition, offset=offset, key=key, raw=raw or b"")
    return letter.model_dump(mode="json")


async def publish_letters(producer: AIOKafkaProducer, letters: list[dict[str, Any]]) -> None:
    """Send letters and wait until the broker has them all (before the source is acknowledged).

    A broker that cannot take them now is waited out with backoff: a letter
    is never dropped, and its source never acknowledged without it."""
    delay = 0.2
    while True:
        try:
            pending = [await producer.send(DEAD_LETTERS_TOPIC, letter_value(letter), key=letter_key(letter))
                       for letter in letters]
            await asyncio.gather(*pending)
            return
        except KafkaError as exc:
            log.warning("publishing %d dead letters failed (%r); retrying in %.1fs", len(letters), exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def letter_value(letter: dict[str, Any]) -> bytes:
    """The Kafka value of a letter."""
    return orjson.dumps(letter)


def letter_key(letter: dict[str, Any]) -> bytes | None:
    """The Kafka key of a letter: the original key."""
    key = letter.get("key")
    return None if key is None else letter_bytes(key, letter.get("key_encoding"))
