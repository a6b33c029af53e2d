"""Readiness rules: crash-looping, stuck and lagging stages are named, with why."""
from __future__ import annotations

from api.readiness import Progress, ReadinessLimits, judge_stages, track_progress
from api.stage_status import Heartbeat, Observation, worker_starts
from folio.lag import PartitionLag

LIMITS = ReadinessLimits(max_lag=1000, max_starts=3, restart_window=300, heartbeat_max_age=30, stuck_after=60)


def beat(stage: str, age: float | None = 2.0, starts_in_window: int = 1) -> Heartbeat:
    return Heartbeat(stage, "host:1", age, starts_total=starts_in_window, starts_in_window=starts_in_window)


def lag(stage: str, end: int, committed: int, partition: int = 0) -> PartitionLag:
    return PartitionLag(stage, f"folio-{stage}", "t", partition, end, committed)


def healthy(**changes) -> Observation:
    obs = Observation(lags=[lag("batcher", 10, 10), lag("positions", 5, 5), lag("sink", 7, 7), lag("series", 3, 3)],
                      heartbeats={"sink": beat("sink"), "series": beat("series")})
    for name, value in changes.items():
        setattr(obs, name, value)
    return obs


def test_every_stage_is_ok_when_caught_up_beating_and_started_once():
    assert judge_stages(healthy(), LIMITS, {}, now=100.0) == {
        "batcher": "ok", "positions": "ok", "sink": "ok", "series": "ok"}


def test_a_stage_started_three_times_within_the_window_is_crash_looping():
    obs = healthy(heartbeats={"sink": beat("sink", starts_in_window=3), "series": beat("series")})

    verdict = judge_stages(obs, LIMITS, {}, now=100.0)

    assert verdict["sink"] == "crash-looping: 3 starts in the last 300s"
    assert verdict["series"] == "ok"


def test_two_starts_within_the_window_are_not_a_crash_loop():
    obs = healthy(heartbeats={"sink": beat("sink", starts_in_window=2), "series": beat("series")})

    assert judge_stages(obs, LIMITS, {}, now=100.0)["sink"] == "ok"


def test_a_heartbeat_older_than_the_bound_is_a_stuck_stage():
    obs = healthy(heartbeats={"sink": beat("sink"), "series": beat("series", age=31.0)})

    assert judge_stages(obs, LIMITS, {}, now=100.0)["series"] == "stuck: last heartbeat 31s ago (bound 30s)"


def test_a_stage_that_never_beat_is_stuck():
    obs = healthy(heartbeats={"sink": beat("sink")})

    assert judge_stages(obs, LIMITS, {}, now=100.0)["series"] == "stuck: no heartbeat yet"


def test_lag_past_the_bound_summed_over_partitions_is_lagging():
    obs = healthy(lags=[lag("sink", 600, 100, 0), lag("sink", 601, 100, 1)])

    assert judge_stages(obs, LIMITS, {}, now=100.0)["sink"] == "lagging: 1001 records behind (bound 1000)"


def test_lag_at_the_bound_is_not_lagging():
    obs = healthy(lags=[lag("sink", 1100, 100)])

    assert judge_stages(obs, LIMITS, {}, now=100.0)["sink"] == "ok"


def test_lag_with_no_commit_for_longer_than_the_bound_is_stuck():
    first = track_progress({}, healthy(lags=[lag("sink", 50, 20)]), now=0.0)
    later = healthy(lags=[lag("sink", 80, 20)])
    progress = track_progress(first, later, now=61.0)

    assert progress["sink"] == Progress(20, 0.0)
    assert judge_stages(later, LIMITS, progress, now=61.0)["sink"] == (
        "stuck: 60 records behind and nothing committed for 61s")


def test_a_commit_restarts_the_stuck_clock():
    first = track_progress({}, healthy(lags=[lag("sink", 50, 20)]), now=0.0)
    moved = healthy(lags=[lag("sink", 80, 21)])
    progress = track_progress(first, moved, now=61.0)

    assert progress["sink"] == Progress(21, 61.0)
    assert judge_stages(moved, LIMITS, progress, now=61.0)["sink"] == "ok"


def test_no_lag_is_never_stuck_however_long_nothing_is_committed():
    first = track_progress({}, healthy(), now=0.0)
    progress = track_progress(first, healthy(), now=1000.0)

    assert judge_stages(healthy(), LIMITS, progress, now=1000.0)["sink"] == "ok"


def test_an_unreadable_broker_is_named_instead_of_the_lag():
    obs = healthy(lags=None, errors={"broker": "consumer lag unavailable: timed out"})

    verdict = judge_stages(obs, LIMITS, {}, now=1.0)

    assert verdict["broker"] == "consumer lag unavailable: timed out"
    assert verdict["sink"] == "ok"


def test_heartbeats_are_not_judged_when_the_database_cannot_be_read():
    obs = healthy(heartbeats={}, errors={"database": "database unavailable"})

    assert judge_stages(obs, LIMITS, {}, now=1.0)["sink"] == "ok"


def test_several_problems_of_one_stage_are_all_named():
    obs = healthy(lags=[lag("sink", 5000, 0)], heartbeats={"sink": beat("sink", age=99.0, starts_in_window=4),
                                                           "series": beat("series")})

    assert judge_stages(obs, LIMITS, {}, now=1.0)["sink"] == (
        "lagging: 5000 records behind (bound 1000); crash-looping: 4 starts in the last 300s; "
        "stuck: last heartbeat 99s ago (bound 30s)")


def test_the_positions_worker_is_crash_looping_when_its_own_start_count_says_so():
    counters = {"starts_total": 7, "recent_starts": [1000.0, 1550.0, 1700.0, 1750.0]}
    obs = healthy()
    obs.heartbeats["positions"] = worker_starts("http://w1", counters, now=1800.0, restart_window=300)

    verdict = judge_stages(obs, LIMITS, {}, now=1.0)

    assert verdict["positions"] == "crash-looping: 3 starts in the last 300s"
    assert obs.heartbeats["positions"].starts_total == 7
