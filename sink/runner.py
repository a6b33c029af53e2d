"""The sink: table changelogs and reference topics → PostgreSQL.

At-least-once: a batch is written in one database transaction and the Kafka
offsets are committed only after it is in. If PostgreSQL is unavailable the
batch is retried until it goes in; nothing is skipped. A record the database
refuses for its data (a NUL in text, a number out of range, unreadable JSON)
is narrowed down, dead-lettered as `sink_rejected` and the rest written: no
record can stop the sink, and none is committed without being stored or
dead-lettered.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import asyncpg
import asyncpg.exceptions._base as asyncpg_base
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from folio import telemetry
from folio.consumer_groups import positions_app_id, sink_group_id
from folio.logs import record_fields
from core.stored import decode
from schemas.decode import Rejection, decode_event
from sink import stream_log
from sink.migrate import migrate
from sink.rows import Batch, cash_row, dead_letter_row, letter_transaction, portfolio_row
from sink.writer import write_batch
from folio.faults import fault_point
from folio.tasks import cancel_and_wait
from streams.reference_feed import FETCH_WAIT_MS
from streams.dead_letters import DEAD_LETTERS_TOPIC, dead_letter, publish_letters

log = logging.getLogger("folio.sink")

# A record's own fault: its data cannot be read or stored (PostgreSQL's data
# exception and integrity classes, asyncpg refusing a parameter, our row
# building). Narrowed down to the record and dead-lettered. Anything else
# (connection lost, server shutting down, timeouts) is retried, never blamed
# on a record.
RECORD_FAULTS = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, asyncpg_base.DataError,
                 ValueError, TypeError, KeyError, ArithmeticError)
SINK_REJECTED = "sink_rejected"

REFERENCE_TOPICS = ("instruments", "prices", "fx_rates", DEAD_LETTERS_TOPIC)
SERIES_MARKS_TOPIC = "series_marks"
RELAY_MAX = 10_000


def changelog_topics(app_id: str) -> dict[str, str]:
    prefix = positions_app_id(app_id)
    return {f"{prefix}-{table}-changelog": table for table in ("books", "ledger", "positions", "cash", "days")}


def build_batch(records: Iterable[ConsumerRecord], changelogs: dict[str, str],
                rejected: list[tuple[ConsumerRecord, Exception]] | None = None) -> Batch:
    """The rows of `records`; a record that cannot be read raises, or is added to `rejected` if given."""
    batch = Batch()
    for r in records:
        try:
            _add(batch, r, changelogs)
        except RECORD_FAULTS as exc:
            if rejected is None:
                raise
            rejected.append((r, exc))
    return batch


def _add(batch: Batch, r: ConsumerRecord, changelogs: dict[str, str]) -> None:
    table = changelogs.get(r.topic)
    if table is not None:
        if r.value is None:
            if table == "days":
                batch.delete_day(r.key)
            return
        state = decode(table, r.value)
        if table == "days":
            batch.add_day(state)
        elif table == "positions":
            batch.add_position(state)
        elif table == "ledger":
            batch.add_transaction(state)
        elif table == "cash":
            batch.cash[(state.portfolio_id, state.currency)] = cash_row(state)
        else:
            batch.portfolios[state.portfolio_id] = portfolio_row(state)
        return
    if r.topic == DEAD_LETTERS_TOPIC:
        row = dead_letter_row(orjson.loads(r.value))
        batch.dead_letters[row[:3]] = row
        named = letter_transaction(row)
        if named is not None:
            batch.letter_transactions.append(named)
        return
    event = decode_event(r.topic, r.key, r.value or b"")  # as the worker decides it
    if isinstance(event, Rejection):
        return  # the positions worker dead-letters it
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


class Sink:
    def __init__(self, bootstrap: str, dsn: str, app_id: str = "folio", batch_max: int = 5000) -> None:
        self.bootstrap = bootstrap
        self.dsn = dsn
        self.app_id = app_id
        self.batch_max = batch_max
        self.changelogs = changelog_topics(app_id)
        self.rows_written = 0
        self._conn: asyncpg.Connection | None = None
        self._relay_conn: asyncpg.Connection | None = None  # the marks relay's own
        self._producer: AIOKafkaProducer | None = None
        self._marks_due = asyncio.Event()

    async def _connection(self, relay: bool = False) -> asyncpg.Connection:
        attr = "_relay_conn" if relay else "_conn"
        delay = 0.2
        while getattr(self, attr) is None or getattr(self, attr).is_closed():
            try:
                conn = await asyncpg.connect(self.dsn)
                setattr(self, attr, conn)
                await migrate(conn)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("database unavailable (%s); retrying in %.1fs", exc, delay)
                telemetry.count_retry("database")
                setattr(self, attr, None)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        return getattr(self, attr)

    async def _write(self, batch: Batch) -> int:
        """Write the batch, waiting out database outages; a record fault (RECORD_FAULTS) raises."""
        delay = 0.2
        while True:
            conn = await self._connection()
            try:
                marks = await write_batch(conn, batch)
            except RECORD_FAULTS:
                raise
            except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                    asyncpg.exceptions.AdminShutdownError, asyncpg.exceptions.CannotConnectNowError) as exc:
                log.warning("write failed (%s); retrying in %.1fs", exc, delay)
                telemetry.count_retry("database")
                if not conn.is_closed():
                    await conn.close()
                self._conn = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            except Exception as exc:  # not the record's fault either: never skip, wait and retry
                log.exception("write failed (%r); retrying in %.1fs", exc, delay)
                telemetry.count_retry("database")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                await self._prune_stream_log(conn)
                return marks

    @staticmethod
    async def _prune_stream_log(conn: asyncpg.Connection) -> None:
        """After the batch committed, in transactions of its own: a failed prune never undoes a write."""
        try:
            await stream_log.prune_if_due(conn)
        except Exception as exc:  # best effort: any failure here must not turn written records into letters
            log.warning("pruning the stream log failed (%r); trying again later", exc)

    async def _write_records(self, records: list[ConsumerRecord]) -> tuple[list[dict], int]:
        """Write what can be written; (dead letters for the records that cannot, marks stored).

        A record fault in a batch is narrowed down by halving it (each half
        in record order, so per-partition order holds) until the record that
        causes it is alone; it is dead-lettered and everything else written.
        """
        rejected: list[tuple[ConsumerRecord, Exception]] = []
        batch = build_batch(records, self.changelogs, rejected)
        letters = [self._rejection(r, exc) for r, exc in rejected]
        if not len(batch):
            return letters, 0
        try:
            marks = await self._write(batch)
            self.rows_written += len(batch)
            telemetry.count_rows_written(len(batch))
            return letters, marks
        except RECORD_FAULTS as exc:
            readable = [r for r in records if all(r is not bad for bad, _ in rejected)]
            if len(readable) == 1:
                return letters + [self._rejection(readable[0], exc)], 0
            half = len(readable) // 2
            first, first_marks = await self._write_records(readable[:half])
            second, second_marks = await self._write_records(readable[half:])
            return letters + first + second, first_marks + second_marks

    @staticmethod
    def _rejection(r: ConsumerRecord, exc: Exception) -> dict:
        log.error("dead-lettering %s[%s]@%s: the sink cannot store it (%r)", r.topic, r.partition, r.offset, exc,
                  extra=record_fields(r.topic, r.partition, r.offset))
        return dead_letter(r.topic, r.partition, r.offset, r.key, r.value, SINK_REJECTED, None,
                           f"sink: {type(exc).__name__}: {exc}")

    async def _relay_marks(self) -> None:
        """Publish the outbox's series marks, then delete what was published.

        A crash between the two publishes some marks twice; recomputing a
        range twice gives the same values, so that is harmless.
        """
        while True:
            conn = await self._connection(relay=True)
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
            except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, KafkaError) as exc:
                log.warning("relaying series marks failed (%s); retrying", exc)
                telemetry.count_retry("database")
                if not conn.is_closed():
                    await conn.close()
                self._relay_conn = None
                await asyncio.sleep(0.5)

    async def _relay_when_due(self) -> None:
        """Relay the outbox whenever a batch stored marks, beside the write loop.

        The marks are in PostgreSQL with their batch (an outbox), so the batch's
        offsets need not wait for them to reach Kafka: publishing them (a broker
        round trip, a read and a delete) no longer delays the sink's next fetch,
        and so the next change's way to the database and the position stream.
        """
        while True:
            await self._marks_due.wait()
            self._marks_due.clear()
            try:
                await self._relay_marks()
            except Exception:  # never lose the relay: the marks stay in the outbox, try again
                log.exception("relaying series marks failed; retrying in 1s")
                self._marks_due.set()
                await asyncio.sleep(1.0)

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
            bootstrap_servers=self.bootstrap, group_id=sink_group_id(self.app_id),
            enable_auto_commit=False, auto_offset_reset="earliest",
            max_partition_fetch_bytes=8 << 20, fetch_max_bytes=64 << 20,
            # A change should reach PostgreSQL and the position stream within tens of ms: a
            # broker may hold a fetch until this wait ends (Kafka's default 500; tansu does).
            fetch_max_wait_ms=FETCH_WAIT_MS,
        )
        await consumer.start()
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=5)
        await self._producer.start()
        relay = None
        try:
            await self._wait_for_topics(consumer, [*topics, SERIES_MARKS_TOPIC])
            self._marks_due.set()  # what an earlier run left in the outbox
            relay = asyncio.create_task(self._relay_when_due(), name="folio-sink-marks-relay")
            consumer.subscribe(topics)
            while stop is None or not stop.is_set():
                fetched = await consumer.getmany(timeout_ms=200, max_records=self.batch_max)
                if not fetched:
                    continue
                records = [r for batch in fetched.values() for r in batch]
                fault_point("sink:before_write")
                letters, marks = await self._write_records(records)
                if letters:
                    await publish_letters(self._producer, letters)
                if marks:
                    self._marks_due.set()
                fault_point("sink:before_commit")
                try:
                    await consumer.commit()
                except KafkaError as exc:  # e.g. a rebalance: the rows are in, redelivery is harmless
                    log.warning("committing offsets failed (%r); they may be redelivered", exc)
                telemetry.count_outcomes("sink", records, letters)
        finally:
            await cancel_and_wait(relay)
            await consumer.stop()
            await self._producer.stop()
            for conn in (self._conn, self._relay_conn):
                if conn is not None and not conn.is_closed():
                    await conn.close()
