"""What the app holds for its life: the database, the live client and the
Kafka publisher. Nothing connects until first used (an app that never reads
PostgreSQL never connects to it); the lifespan starts the publisher and
closes everything."""
from __future__ import annotations

import asyncio

from api.auth.authenticator import Authenticator
from api.db import Database
from api.db_answers import ChangeListener, ChangeLog, DbAnswers
from api.live import LiveClient
from api.publisher import KafkaPublisher
from api.settings import ApiSettings
from api.stream import StreamHub
from folio.tasks import cancel_and_wait


class Resources:
    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self.database = Database(settings.database_url, settings.db_timeout)
        self.authenticator = Authenticator(settings.auth)
        self.changes = changes = ChangeLog()
        # Without the listener nothing is ever kept: the change log never says it is listening.
        self.db_answers = DbAnswers(changes, ChangeListener(self.database, changes) if settings.db_answers else None)
        self._live: LiveClient | None = None
        self._publisher: KafkaPublisher | None = None
        self._stream: StreamHub | None = None
        self._starting: asyncio.Task | None = None
        # One redrive at a time: two at once would re-publish the same letters twice.
        self.redrive_lock = asyncio.Lock()

    @property
    def live(self) -> LiveClient:
        if self._live is None:
            self._live = LiveClient(self.settings.worker_url, self.settings.worker_timeout,
                                    self.settings.worker_token)
        return self._live

    @property
    def publisher(self) -> KafkaPublisher:
        if self._publisher is None:
            self._publisher = KafkaPublisher(self.settings.kafka_bootstrap, self.settings.broker_timeout)
        return self._publisher

    @property
    def stream(self) -> StreamHub:
        """The position stream's listener, started by its first subscriber."""
        if self._stream is None:
            self._stream = StreamHub(self.database, self.settings.stream_queue, self.changes)
        return self._stream

    def start(self) -> None:
        """Connect the producer in the background: a broker that is down must not
        keep the read side from starting (ingestion retries on its first request)."""
        self._starting = asyncio.create_task(self.publisher.start_quietly(), name="folio-api-producer-start")

    async def aclose(self) -> None:
        await cancel_and_wait(self._starting)
        self._starting = None
        if self._publisher is not None:
            await self._publisher.stop()
            self._publisher = None
        if self._stream is not None:
            await self._stream.aclose()
            self._stream = None
        if self._live is not None:
            await self._live.aclose()
            self._live = None
        await self.db_answers.aclose()
        await self.database.dispose()
