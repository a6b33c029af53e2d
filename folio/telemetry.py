"""What each stage counts about itself, and how the API gets to see it.

Every stage process keeps one `StageCounters` (`COUNTERS`): records applied
and dead-lettered per topology, topic and reason, rows written, retries of
failures that were not the record's fault, and series recompute latency. The
stage loops call the one-line hooks below; nothing here can fail a stage.

How the counters leave the process:
- the positions worker serves them on its web server (`expose_on`), where
  the API already reads live state;
- the sink and the series worker have no web server: `heartbeat()` records
  each process start in `stage_starts` and upserts `stage_heartbeats` (the
  counters and the time) every FOLIO_HEARTBEAT_INTERVAL seconds, on a
  connection of its own. The API reads both: restarts, crash loops and a
  stage that stopped beating (sink/migrations/006_stage_telemetry.sql).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import orjson

from folio.config import load_settings
from folio.logs import record_fields
from folio.tasks import cancel_and_wait

log = logging.getLogger(__name__)
T = TypeVar("T")

RECOMPUTE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
HEARTBEAT_INTERVAL = float(os.environ.get("FOLIO_HEARTBEAT_INTERVAL", "5"))


@dataclass
class StageCounters:
    started_at: float = field(default_factory=time.time)
    applied: Counter = field(default_factory=Counter)  # (topology, topic) -> records
    dead_lettered: Counter = field(default_factory=Counter)  # (topology, topic, reason) -> records
    rows_written: int = 0
    retries: Counter = field(default_factory=Counter)  # cause -> retries
    recompute_counts: list[int] = field(default_factory=lambda: [0] * (len(RECOMPUTE_BUCKETS) + 1))
    recompute_sum: float = 0.0
    # Starts of this stage recorded on local disk (the positions worker's data dir): total, latest times.
    starts_total: int | None = None
    recent_starts: list[float] = field(default_factory=list)

    def snapshot(self) -> dict[str, Any]:
        """The JSON the API reads (worker page, heartbeat row)."""
        return {
            "started_at": self.started_at,
            **({"starts_total": self.starts_total, "recent_starts": self.recent_starts}
               if self.starts_total is not None else {}),
            "applied": [{"topology": t, "topic": topic, "count": n} for (t, topic), n in sorted(self.applied.items())],
            "dead_lettered": [{"topology": t, "topic": topic, "reason": r, "count": n}
                              for (t, topic, r), n in sorted(self.dead_lettered.items())],
            "rows_written": self.rows_written,
            "retries": dict(sorted(self.retries.items())),
            "recompute_seconds": {"buckets": list(RECOMPUTE_BUCKETS), "counts": list(self.recompute_counts),
                                  "sum": self.recompute_sum},
        }


COUNTERS = StageCounters()


# --- hooks for the stage loops (one call each) ---------------------------------

def count_outcomes(topology: str, records: Iterable[Any], letters: Iterable[dict[str, Any]],
                   counters: StageCounters | None = None) -> None:
    """A round's records (with `.topic`) and the dead letters it produced (their JSON bodies); each
    dead letter is logged with where its record is."""
    counters = counters or COUNTERS
    for record in records:
        counters.applied[(topology, record.topic)] += 1
    for letter in letters:
        counters.applied[(topology, letter["source_topic"])] -= 1
        counters.dead_lettered[(topology, letter["source_topic"], letter["reason"])] += 1
        log.warning("dead-lettered (%s%s): %s", letter["reason"], f", field {letter['field']}" if letter.get("field") else "",
                 letter.get("detail"), extra=record_fields(letter["source_topic"], letter.get("partition"),
                                                           letter.get("offset")))


def count_record(topology: str, topic: str, dead_letter_reason: str | None = None, n: int = 1) -> None:
    if dead_letter_reason is None:
        COUNTERS.applied[(topology, topic)] += n
    else:
        COUNTERS.dead_lettered[(topology, topic, dead_letter_reason)] += n


def count_rows_written(n: int) -> None:
    COUNTERS.rows_written += n


def count_retry(cause: str) -> None:
    COUNTERS.retries[cause] += 1


def observe_recompute(seconds: float) -> None:
    COUNTERS.recompute_counts[bisect_left(RECOMPUTE_BUCKETS, seconds)] += 1
    COUNTERS.recompute_sum += seconds


async def timed_recompute(recompute: Awaitable[T]) -> T:
    """`await timed_recompute(recompute(...))`: observes how long it took, successful or not."""
    started = time.perf_counter()
    try:
        return await recompute
    finally:
        observe_recompute(time.perf_counter() - started)


# --- the positions worker: counters on its web server ----------------------------

STAGE_METRICS_PATH = "/stage-metrics/"


STARTS_KEPT = 50


def record_start(path: Path, counters: StageCounters | None = None) -> None:
    """Add this process's start to the file at `path` (total and the latest times), kept across restarts."""
    counters = counters or COUNTERS
    try:
        known = orjson.loads(path.read_bytes())
        total, recent = int(known["total"]), [float(t) for t in known["recent"]]
    except (OSError, ValueError, KeyError, TypeError):
        total, recent = 0, []
    counters.starts_total = total + 1
    counters.recent_starts = [*recent, counters.started_at][-STARTS_KEPT:]
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_bytes(orjson.dumps({"total": counters.starts_total, "recent": counters.recent_starts}))
    os.replace(staging, path)


def expose_on(app, stage: str) -> None:
    """Serve this process's counters at STAGE_METRICS_PATH on a Faust app's web server, and
    count the worker's starts in FOLIO_DATA_DIR/<stage>-starts.json (a Faust task runs once per
    worker start)."""
    async def stage_metrics(web, request):
        return web.json(COUNTERS.snapshot())

    async def count_start() -> None:
        record_start(load_settings().data_dir / f"{stage}-starts.json")

    app.page(STAGE_METRICS_PATH)(stage_metrics)
    app.task(count_start)


# --- the sink and the series worker: heartbeats in PostgreSQL -------------------

def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def beat_forever(stage: str, dsn: str, interval: float = HEARTBEAT_INTERVAL) -> None:
    """Record this start once, then beat every `interval`; PostgreSQL down is waited out."""
    instance = instance_name()
    started = False
    conn: asyncpg.Connection | None = None
    while True:
        try:
            if conn is None or conn.is_closed():
                conn = await asyncpg.connect(dsn, timeout=10)
            if not started:
                async with conn.transaction():
                    await conn.execute("INSERT INTO stage_starts (stage, instance, started_at)"
                                       " VALUES ($1, $2, to_timestamp($3))", stage, instance, COUNTERS.started_at)
                    # Processes that stopped beating a day ago are gone: keep the table small.
                    await conn.execute("DELETE FROM stage_heartbeats WHERE stage = $1"
                                       " AND beat_at < now() - interval '1 day'", stage)
                started = True
            await conn.execute(
                "INSERT INTO stage_heartbeats (stage, instance, started_at, beat_at, counters)"
                " VALUES ($1, $2, to_timestamp($3), now(), $4::jsonb)"
                " ON CONFLICT (stage, instance) DO UPDATE SET beat_at = now(), counters = EXCLUDED.counters",
                stage, instance, COUNTERS.started_at, orjson.dumps(COUNTERS.snapshot()).decode())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a heartbeat must never stop its stage
            log.warning("%s heartbeat not written (%s: %s)", stage, type(exc).__name__, exc)
            if conn is not None and not conn.is_closed():
                conn.terminate()
            conn = None
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def heartbeat(stage: str, dsn: str) -> AsyncIterator[None]:
    """Beat while the body runs (`async with heartbeat("sink", dsn): ...`)."""
    task = asyncio.create_task(beat_forever(stage, dsn), name=f"{stage}-heartbeat")
    try:
        yield
    finally:
        await cancel_and_wait(task)


def heartbeat_service(stage: str):
    """A mode.Service beating for a Faust app: `app.service(heartbeat_service("series"))`."""
    import mode

    class Heartbeat(mode.Service):
        async def on_start(self) -> None:
            dsn = load_settings().database_url
            if dsn:
                self._task = asyncio.create_task(beat_forever(stage, dsn), name=f"{stage}-heartbeat")

        async def on_stop(self) -> None:
            await cancel_and_wait(getattr(self, "_task", None))

    Heartbeat.__name__ = f"{stage.title()}Heartbeat"
    return Heartbeat
