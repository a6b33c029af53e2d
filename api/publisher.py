"""Publishing ingested events to Kafka.

`Publisher` is what the ingest routes depend on (`api.deps.get_publisher`);
tests override it with an in-memory fake. `KafkaPublisher` keeps one
AIOKafkaProducer (acks=all) for the app's life: the lifespan starts it in the
background, a publish waits for it (and retries the start if the broker was
down), then sends every message and waits for every acknowledgement.

A broker failure in the middle of a request answers 503 after some messages
may have gone out; re-sending the whole request is safe, because every
consumer ignores what it has already applied (same transaction version,
same reference record).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from api.errors import BrokerUnavailable

log = logging.getLogger(__name__)

Message = tuple[str, bytes]  # (key, value)


class Publisher(Protocol):
    async def publish(self, topic: str, messages: Sequence[Message]) -> None:
        """Publish in order and return once every message is acknowledged."""


class KafkaPublisher:
    def __init__(self, bootstrap: str, timeout: float = 10.0) -> None:
        self.bootstrap = bootstrap
        self.timeout = timeout
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        async with self._lock:
            if self._producer is not None:
                return
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap,
                client_id="folio-api",
                acks="all",
                # The development broker (tansu) rejects idempotence; every
                # consumer in Folio is idempotent anyway.
                enable_idempotence=False,
                linger_ms=5,
                request_timeout_ms=int(self.timeout * 1000),
            )
            try:
                await asyncio.wait_for(producer.start(), self.timeout)
            except BaseException as exc:  # cancelled too: never leave a half-started producer
                with contextlib.suppress(Exception):
                    await producer.stop()
                if isinstance(exc, (KafkaError, OSError, TimeoutError)):
                    raise BrokerUnavailable(
                        f"broker at {self.bootstrap} unavailable: {_describe(exc)}") from exc
                raise
            self._producer = producer

    async def start_quietly(self) -> None:
        try:
            await self.start()
        except BrokerUnavailable as exc:
            log.warning("%s; ingestion will retry on its first request", exc.message)

    async def publish(self, topic: str, messages: Sequence[Message]) -> None:
        await self.start()
        assert self._producer is not None
        try:
            pending = [await self._producer.send(topic, value=value, key=key.encode("utf-8"))
                       for key, value in messages]
            await asyncio.wait_for(asyncio.gather(*pending), self.timeout)
        except (KafkaError, TimeoutError) as exc:
            raise BrokerUnavailable(f"publishing to {topic!r} failed: {_describe(exc)}") from exc

    async def stop(self) -> None:
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()


def _describe(exc: BaseException) -> str:
    text = str(exc)
    name = type(exc).__name__
    return text if text.startswith(name) else f"{name}: {text}".rstrip(": ")
