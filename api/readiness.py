"""Readiness rules: which stage is crash-looping, stuck or lagging (pure functions).

A stage is
- crash-looping when it started `max_starts` times or more within
  `restart_window` seconds (sink and series record their starts);
- stuck when its last heartbeat is older than `heartbeat_max_age` seconds (or
  it never beat), or when its group has lag but committed nothing for
  `stuck_after` seconds;
- lagging when its group is more than `max_lag` records behind.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from api.stage_status import HEARTBEAT_STAGES, Observation

OK = "ok"


@dataclass(frozen=True)
class ReadinessLimits:
    max_lag: int = 100_000
    max_starts: int = 3
    restart_window: float = 300.0
    heartbeat_max_age: float = 30.0
    stuck_after: float = 60.0


@dataclass(frozen=True)
class Progress:
    """The last time a stage's group committed anything (its committed offsets' sum moved)."""

    committed: int
    since: float


def stage_lags(obs: Observation) -> dict[str, tuple[int, int]]:
    """stage -> (records behind, sum of committed offsets)."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for p in obs.lags or ():
        totals[p.stage][0] += p.lag
        totals[p.stage][1] += p.committed
    return {stage: (lag, committed) for stage, (lag, committed) in totals.items()}


def track_progress(previous: dict[str, Progress], obs: Observation, now: float) -> dict[str, Progress]:
    """Progress per stage after this observation (unchanged where the lag could not be read)."""
    if obs.lags is None:
        return dict(previous)
    tracked = {}
    for stage, (lag, committed) in stage_lags(obs).items():
        before = previous.get(stage)
        moved = before is None or before.committed != committed or lag == 0
        tracked[stage] = Progress(committed, now) if moved else before
    return tracked


def judge_stages(obs: Observation, limits: ReadinessLimits, progress: dict[str, Progress],
                 now: float) -> dict[str, str]:
    """Component -> "ok" or why it is not: one entry per stage, plus the broker when lag is unknown."""
    verdicts: dict[str, list[str]] = defaultdict(list)
    if obs.lags is None:
        verdicts["broker"].append(obs.errors.get("broker", "consumer lag unavailable"))
    for stage, (lag, _) in stage_lags(obs).items():
        verdicts[stage]
        if lag > limits.max_lag:
            verdicts[stage].append(f"lagging: {lag} records behind (bound {limits.max_lag})")
        started = progress.get(stage)
        if lag > 0 and started is not None and now - started.since >= limits.stuck_after:
            verdicts[stage].append(f"stuck: {lag} records behind and nothing committed for "
                                   f"{now - started.since:.0f}s")
    for stage, beat in obs.heartbeats.items():
        verdicts[stage]
        if beat.starts_in_window >= limits.max_starts:
            verdicts[stage].append(f"crash-looping: {beat.starts_in_window} starts in the last "
                                   f"{limits.restart_window:.0f}s")
    if "database" not in obs.errors:
        for stage in HEARTBEAT_STAGES:
            beat = obs.heartbeats.get(stage)
            verdicts[stage]
            if beat is None or beat.age_seconds is None:
                verdicts[stage].append("stuck: no heartbeat yet")
            elif beat.age_seconds > limits.heartbeat_max_age:
                verdicts[stage].append(f"stuck: last heartbeat {beat.age_seconds:.0f}s ago "
                                       f"(bound {limits.heartbeat_max_age:.0f}s)")
    return {component: "; ".join(why) or OK for component, why in sorted(verdicts.items())}
