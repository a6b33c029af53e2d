"""The daily-series topology: stale date ranges → recomputed `daily_series` rows.

Run with `faust -A streams.series worker`. The sink stores, in the same
transaction as each change, which (portfolio, dates) it made stale (see
sink.marks) and relays those marks onto `series_marks`, keyed by portfolio.
This agent coalesces a batch of marks per portfolio and recomputes exactly
those dates from PostgreSQL (streams.series_store → core.series), so a
back-dated trade or a corrected price rewrites only what it affects. Marks are
acknowledged after the rows are committed: a crash replays them, and a
recompute is idempotent. A mark that cannot be read, or whose recompute
raises for another reason than the database being unreachable, is
dead-lettered (`processing_error`, "series worker: ...") and the rest go on.
"""
from __future__ import annotations

import asyncio
import logging
import os
from collections import defaultdict
from datetime import date

import asyncpg
import mode
import orjson
from aiokafka import AIOKafkaProducer

from folio.config import load_settings
from folio.faults import fault_point
from sink.marks import Mark, coalesce
from streams.app import make_app
from streams.dead_letters import dead_letter, publish_letters
from streams.series_store import recompute

log = logging.getLogger(__name__)

app = make_app("series")
# No web server (its state is PostgreSQL): run it with `--without-web`, since
# the faust CLI turns the web server on whatever the app configures.
app.conf.web_enabled = False
marks_topic = app.topic("series_marks", key_type=bytes, value_type=bytes,
                        key_serializer="raw", value_serializer="raw")
# A busy stream marks the same portfolios again and again: waiting up to a
# second lets one recompute cover them all (the series is history, not a
# live figure, so a second of delay costs nothing a reader can see).
BATCH_MAX = int(os.environ.get("FOLIO_SERIES_BATCH_MAX", "10000"))
BATCH_WITHIN = float(os.environ.get("FOLIO_SERIES_BATCH_WITHIN", "1.0"))


class _Pool:
    pool: asyncpg.Pool | None = None
    producer: AIOKafkaProducer | None = None
    ready = asyncio.Event()


@app.service
class Database(mode.Service):
    async def on_start(self) -> None:
        settings = load_settings()
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: the series topology reads and writes PostgreSQL")
        _Pool.pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
        _Pool.producer = AIOKafkaProducer(bootstrap_servers=settings.broker, acks="all")
        await _Pool.producer.start()
        _Pool.ready.set()

    async def on_stop(self) -> None:
        if _Pool.producer is not None:
            await _Pool.producer.stop()
        if _Pool.pool is not None:
            await _Pool.pool.close()


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _mark(value: bytes) -> Mark:
    m = orjson.loads(value)
    return (m["portfolio_id"], _day(m.get("from")), _day(m.get("to")))


def _letter(m, detail: str) -> dict:
    return dead_letter(m.topic, m.partition, m.offset, m.key, m.value, "processing_error", None,
                       f"series worker: {detail}")


@app.agent(marks_topic, concurrency=1)
async def keep_series(stream) -> None:
    await _Pool.ready.wait()
    async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN):
        try:
            await _recompute_batch([event.message for event in events])
        except Exception:
            # Faust acknowledges the marks when this iteration ends: die instead.
            log.critical("series marks could be neither applied nor dead-lettered; exiting", exc_info=True)
            os._exit(70)


async def _recompute_batch(messages: list) -> None:
    """Recompute every marked portfolio; a mark that cannot be read or recomputed is dead-lettered."""
    letters, marks, sources = [], [], defaultdict(list)
    for m in messages:
        try:
            mark = _mark(m.value)
        except Exception as exc:
            letters.append(_letter(m, f"unreadable mark: {type(exc).__name__}: {exc}"))
            continue
        marks.append(mark)
        sources[mark[0]].append(m)
    for portfolio_id, lo, hi in coalesce(marks):
        try:
            await _recompute_until_done(portfolio_id, lo, hi)
        except Exception as exc:
            log.exception("series recompute of %s failed", portfolio_id)
            letters += [_letter(m, f"recompute of {portfolio_id} failed: {type(exc).__name__}: {exc}")
                        for m in sources[portfolio_id]]
    fault_point("series:before_ack")
    if letters:
        await publish_letters(_Pool.producer, letters)


async def _recompute_until_done(portfolio_id: str, lo: date | None, hi: date | None) -> None:
    """PostgreSQL down is waited out: a mark is acknowledged only once its rows are in."""
    delay = 0.2
    while True:
        try:
            async with _Pool.pool.acquire() as conn:
                written = await recompute(conn, portfolio_id, lo, hi)
            log.debug("series %s %s..%s: %d points", portfolio_id, lo, hi, written)
            return
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                asyncpg.exceptions.AdminShutdownError, asyncpg.exceptions.CannotConnectNowError) as exc:
            if isinstance(exc, asyncpg.exceptions._base.DataError):
                raise  # asyncpg refusing a value is the data's fault, not the connection's
            log.warning("series recompute of %s failed (%s); retrying in %.1fs", portfolio_id, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
