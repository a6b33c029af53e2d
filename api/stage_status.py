"""Gathering what /metrics and /health/ready report about the stages.

Four sources, each allowed to fail on its own (the failure is reported, the
rest still is): the broker (consumer lag per group and partition), PostgreSQL
(stage starts and heartbeats, dead letters by reason), the positions worker's
counters, and `folio up`'s status file (its children's restarts).
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from api.db import Database
from api.errors import Unavailable
from api.live import LiveClient
from api.queries.tables import dead_letters as dl
from api.queries.tables import stage_heartbeats as hb
from api.queries.tables import stage_starts as st
from folio.consumer_groups import consumer_groups
from folio.devenv.run_state import ChildStatus, parse_children
from folio.lag import PartitionLag, partition_lags

HEARTBEAT_STAGES = ("sink", "series")


@dataclass(frozen=True)
class Heartbeat:
    """A stage's latest heartbeat (sink, series) and its recorded starts (also the positions worker's)."""

    stage: str
    instance: str | None
    age_seconds: float | None  # None: never beat
    starts_total: int
    starts_in_window: int
    counters: dict[str, Any] = field(default_factory=dict)


@dataclass
class Observation:
    lags: list[PartitionLag] | None = None
    heartbeats: dict[str, Heartbeat] = field(default_factory=dict)
    dead_letters: dict[tuple[str, str], int] = field(default_factory=dict)
    worker_counters: dict[str, dict[str, Any]] = field(default_factory=dict)  # worker URL -> its counters
    up_children: dict[str, ChildStatus] | None = None
    # source ("broker", "database", "worker", "up_status") -> why it could not be read
    errors: dict[str, str] = field(default_factory=dict)


async def observe(database: Database, live: LiveClient, bootstrap: str, app_id: str, *,
                  restart_window: float, up_status_file: str | None, broker_timeout: float) -> Observation:
    obs = Observation()

    async def lags() -> None:
        try:
            obs.lags = await asyncio.wait_for(partition_lags(bootstrap, consumer_groups(app_id)), broker_timeout)
        except Exception as exc:  # noqa: BLE001 - reported, never raised
            obs.errors["broker"] = f"consumer lag unavailable: {_why(exc)}"

    async def stored() -> None:
        try:
            async with database.session() as session:
                obs.heartbeats = await _heartbeats(session, restart_window)
                obs.dead_letters = await _dead_letters(session)
        except Exception as exc:  # noqa: BLE001
            obs.errors["database"] = _why(exc)

    async def worker() -> None:
        answers = await live.stage_counters()
        obs.worker_counters = {url: c for url, c in answers.items() if isinstance(c, dict)}
        if not obs.worker_counters:
            obs.errors["worker"] = "; ".join(answers.values()) or "no worker listed"

    await asyncio.gather(lags(), stored(), worker())
    worker_lives = [worker_starts(url, c, time.time(), restart_window)
                    for url, c in obs.worker_counters.items() if "starts_total" in c]
    if worker_lives:  # the worker starting most often speaks for the stage
        obs.heartbeats["positions"] = max(worker_lives, key=lambda w: (w.starts_in_window, w.starts_total))
    if up_status_file:
        try:
            obs.up_children = parse_children(Path(up_status_file).read_text())
        except (OSError, ValueError) as exc:
            obs.errors["up_status"] = f"{up_status_file}: {_why(exc)}"
    return obs


def worker_starts(url: str, counters: dict[str, Any], now: float, restart_window: float) -> Heartbeat:
    """A positions worker's starts, as it counts them in its data dir (it has no heartbeat)."""
    recent = sum(1 for t in counters.get("recent_starts", ()) if now - t < restart_window)
    return Heartbeat("positions", url, None, counters["starts_total"], recent)


async def _heartbeats(session, restart_window: float) -> dict[str, Heartbeat]:
    recent = st.c.started_at > func.now() - func.make_interval(0, 0, 0, 0, 0, 0, restart_window)
    starts = {r.stage: (r.total, r.recent) for r in await session.execute(
        select(st.c.stage, func.count().label("total"), func.count().filter(recent).label("recent"))
        .group_by(st.c.stage))}
    age = func.extract("epoch", func.now() - hb.c.beat_at).label("age")
    latest = {}
    for r in await session.execute(select(hb.c.stage, hb.c.instance, age, hb.c.counters).order_by(hb.c.beat_at)):
        latest[r.stage] = r  # the newest beat of each stage wins
    beats = {}
    for stage in sorted(set(HEARTBEAT_STAGES) | set(starts) | set(latest)):
        total, recent_starts = starts.get(stage, (0, 0))
        row = latest.get(stage)
        beats[stage] = Heartbeat(stage, row and row.instance, row and float(row.age), total, recent_starts,
                                 (row and row.counters) or {})
    return beats


async def _dead_letters(session) -> dict[tuple[str, str], int]:
    rows = await session.execute(select(dl.c.source_topic, dl.c.reason, func.count().label("n"))
                                 .group_by(dl.c.source_topic, dl.c.reason))
    return {(r.source_topic, r.reason): r.n for r in rows}


def _why(exc: BaseException) -> str:
    if isinstance(exc, Unavailable):
        return exc.message
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}".rstrip(": ")


class StageWatch:
    """The API's view of the stages: observations (reused for `max_age` seconds, so
    scrapes and probes do not hammer the broker) and each stage's commit progress."""

    def __init__(self, max_age: float = 1.0) -> None:
        self.max_age = max_age
        self.progress: dict = {}
        self._last: tuple[float, Observation] | None = None
        self._lock = asyncio.Lock()

    async def observe(self, resources) -> tuple[Observation, float]:
        from api.readiness import track_progress

        async with self._lock:
            now = asyncio.get_running_loop().time()
            if self._last is None or now - self._last[0] > self.max_age:
                s = resources.settings
                obs = await observe(resources.database, resources.live, s.kafka_bootstrap, s.app_id,
                                    restart_window=s.readiness.restart_window, up_status_file=s.up_status_file,
                                    broker_timeout=s.broker_timeout)
                now = asyncio.get_running_loop().time()
                self.progress = track_progress(self.progress, obs, now)
                self._last = (now, obs)
            return self._last[1], now
