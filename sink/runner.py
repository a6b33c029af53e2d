"""The sink: table changelogs and reference topics → PostgreSQL.

At-least-once: a batch is written in one database transaction and the Kafka
offsets are committed only after it is in. If PostgreSQL is unavailable the
batch is retried until it goes in; nothing is skipped.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from schemas.decode import Rejection, decode_event
from sink.migrate import migrate
from sink.rows import Batch, cash_row, dead_letter_row, letter_transaction, portfolio_row, transaction_row
from sink.writer import write_batch

log = logging.getLogger("folio.sink")

REFERENCE_TOPICS = ("instruments", "prices", "fx_rates", "dead_letters")
SERIES_MARKS_TOPIC = "series_marks"
RELAY_MAX = 10_000


def changelog_topics(app_id: str) -> dict[str, str]:
    prefix = f"{app_id}-positions"
    return {f"{prefix}-{table}-changelog": table for table in ("books", "ledger", "positions", "cash")}


def build_batch(records: Iterable[ConsumerRecord], changelogs: dict[str, str]) -> Batch:
    batch = Batch()
    for r in records:
        table = changelogs.get(r.topic)
        if table is not None:
            if r.value is None:
                continue
            state = orjson.loads(r.value)
            if table == "positions":
                batch.add_position(state)
            elif table == "ledger":
                f = state["fields"]
                batch.transactions[(f["portfolio_id"], f["transaction_id"])] = transaction_row(state)
                batch.add_transaction_version(state)
            elif table == "cash":
                batch.cash[(state["portfolio_id"], state["currency"])] = cash_row(state)
            else:
                batch.portfolios[state["portfolio_id"]] = portfolio_row(state)
            continue
        if r.topic == "dead_letters":
            letter = orjson.loads(r.value)
            row = dead_letter_row(letter)
            batch.dead_letters[row[:3]] = row
            named = letter_transaction(letter)
            if named is not None:
                batch.letter_transactions.append(named)
            continue
        key = None if r.key is None else r.key.decode("utf-8", "replace")
        event = decode_event(r.topic, key, r.value or b"")
        if isinstance(event, Rejection):
            continue  # the positions worker dead-letters it
        batch.reference_sources.append((r.topic, r.partition, r.offset))
        if r.topic == "instruments":
            batch.instruments[event.security_id] = (
                event.security_id, event.name, event.currency, event.isin, event.asset_class,
                event.sector, event.country, r.partition, r.offset)
        elif r.topic == "prices":
            batch.prices[(event.security_id, event.price_date)] = (
                event.security_id, event.price_date, event.price, event.currency, r.partition, r.offset)
        elif r.topic == "fx_rates":
            batch.fx_rates[(event.from_currency, event.to_currency, event.rate_date)] = (
                event.from_currency, event.to_currency, event.rate_date, event.rate, r.partition, r.offset)
    return batch


class Sink:
    def __init__(self, bootstrap: str, dsn: str, app_id: str = "folio", batch_max: int = 5000) -> None:
        self.bootstrap = bootstrap
        self.dsn = dsn
        self.app_id = app_id
        self.batch_max = batch_max
        self.changelogs = changelog_topics(app_id)
        self.rows_written = 0
        self._conn: asyncpg.Connection | None = None
        self._producer: AIOKafkaProducer | None = None

    async def _connection(self) -> asyncpg.Connection:
        delay = 0.2
        while self._conn is None or self._conn.is_closed():
            try:
                self._conn = await asyncpg.connect(self.dsn)
                await migrate(self._conn)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("database unavailable (%s); retrying in %.1fs", exc, delay)
                self._conn = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        return self._conn

    async def _write(self, batch: Batch) -> int:
        delay = 0.2
        while True:
            conn = await self._connection()
            try:
                return await write_batch(conn, batch)
            except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                    asyncpg.exceptions.AdminShutdownError, asyncpg.exceptions.CannotConnectNowError) as exc:
                log.warning("write failed (%s); retrying in %.1fs", exc, delay)
                if not conn.is_closed():
                    await conn.close()
                self._conn = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _relay_marks(self) -> None:
        """Publish the outbox's series marks, then delete what was published.

        A crash between the two publishes some marks twice; recomputing a
        range twice gives the same values, so that is harmless.
        """
        while True:
            conn = await self._connection()
            try:
                rows = await conn.fetch("SELECT id, portfolio_id, from_date, to_date FROM series_marks"
                                        " ORDER BY id LIMIT $1", RELAY_MAX)
                if not rows:
                    return
                for r in rows:
                    value = {"portfolio_id": r["portfolio_id"],
                             "from": r["from_date"] and r["from_date"].isoformat(),
                             "to": r["to_date"] and r["to_date"].isoformat()}
                    await self._producer.send(SERIES_MARKS_TOPIC, key=r["portfolio_id"].encode(),
                                              value=orjson.dumps(value))
                await self._producer.flush()
                await conn.execute("DELETE FROM series_marks WHERE id <= $1", rows[-1]["id"])
            except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as exc:
                log.warning("relaying series marks failed (%s); retrying", exc)
                self._conn = None
                await asyncio.sleep(0.5)

    async def _wait_for_topics(self, consumer: AIOKafkaConsumer, topics: list[str]) -> None:
        while True:
            existing = await consumer.topics()
            missing = [t for t in topics if t not in existing]
            if not missing:
                return
            log.info("waiting for topics %s", missing)
            await asyncio.sleep(1.0)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        await self._connection()
        topics = [*self.changelogs, *REFERENCE_TOPICS]
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=f"{self.app_id}-sink",
            enable_auto_commit=False, auto_offset_reset="earliest",
            max_partition_fetch_bytes=8 << 20, fetch_max_bytes=64 << 20,
        )
        await consumer.start()
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=5)
        await self._producer.start()
        try:
            await self._wait_for_topics(consumer, [*topics, SERIES_MARKS_TOPIC])
            await self._relay_marks()
            consumer.subscribe(topics)
            while stop is None or not stop.is_set():
                fetched = await consumer.getmany(timeout_ms=200, max_records=self.batch_max)
                if not fetched:
                    continue
                records = [r for batch in fetched.values() for r in batch]
                batch = build_batch(records, self.changelogs)
                if len(batch):
                    if await self._write(batch):
                        await self._relay_marks()
                    self.rows_written += len(batch)
                await consumer.commit()
        finally:
            await consumer.stop()
            await self._producer.stop()
            if self._conn is not None and not self._conn.is_closed():
                await self._conn.close()
