"""The daily-series topology: stale date ranges → recomputed `daily_series` rows.

Run with `faust -A streams.series worker`. The sink stores, in the same
transaction as each change, which (portfolio, dates) it made stale (see
sink.marks) and relays those marks onto `series_marks`, keyed by portfolio.
This agent coalesces a batch of marks per portfolio and recomputes exactly
those dates from PostgreSQL (streams.series_store → core.series), so a
back-dated trade or a corrected price rewrites only what it affects. Marks are
acknowledged after the rows are committed: a crash replays them, and a
recompute is idempotent.
"""
from __future__ import annotations

import asyncio
import logging
import os
from datetime import date

import asyncpg
import mode
import orjson

from folio import telemetry
from folio.config import load_settings
from folio.logs import record_fields
from sink.marks import Mark, coalesce
from streams.app import make_app
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
    ready = asyncio.Event()


app.service(telemetry.heartbeat_service("series"))


@app.service
class Database(mode.Service):
    async def on_start(self) -> None:
        dsn = load_settings().database_url
        if not dsn:
            raise RuntimeError("DATABASE_URL is not set: the series topology reads and writes PostgreSQL")
        _Pool.pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        _Pool.ready.set()

    async def on_stop(self) -> None:
        if _Pool.pool is not None:
            await _Pool.pool.close()


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _mark(value: bytes) -> Mark:
    m = orjson.loads(value)
    return (m["portfolio_id"], _day(m.get("from")), _day(m.get("to")))


@app.agent(marks_topic, concurrency=1)
async def keep_series(stream) -> None:
    await _Pool.ready.wait()
    async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN):
        marks = []
        for event in events:
            try:
                marks.append(_mark(event.message.value))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                log.error("ignoring an unreadable series mark at offset %s", event.message.offset,
                          extra=record_fields(event.message.topic, event.message.partition, event.message.offset))
        telemetry.count_record("series", "series_marks", n=len(events))
        for portfolio_id, lo, hi in coalesce(marks):
            await _recompute_until_done(portfolio_id, lo, hi)


async def _recompute_until_done(portfolio_id: str, lo: date | None, hi: date | None) -> None:
    """PostgreSQL down is waited out: a mark is acknowledged only once its rows are in."""
    delay = 0.2
    while True:
        try:
            async with _Pool.pool.acquire() as conn:
                written = await telemetry.timed_recompute(recompute(conn, portfolio_id, lo, hi))
            log.debug("series %s %s..%s: %d points", portfolio_id, lo, hi, written)
            return
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                asyncpg.exceptions.AdminShutdownError, asyncpg.exceptions.CannotConnectNowError) as exc:
            log.warning("series recompute of %s failed (%s); retrying in %.1fs", portfolio_id, exc, delay)
            telemetry.count_retry("database")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
