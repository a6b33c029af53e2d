"""A stage's own counts: records applied and dead-lettered, starts kept across restarts on disk."""
from __future__ import annotations

import logging

from folio.telemetry import STARTS_KEPT, StageCounters, count_outcomes, record_start
from streams.apply import Incoming


def test_each_start_adds_one_to_the_count_kept_in_the_file(tmp_path):
    path = tmp_path / "positions-starts.json"
    for started_at in (10.0, 20.0, 30.0):
        counters = StageCounters(started_at=started_at)
        record_start(path, counters)

    assert (counters.starts_total, counters.recent_starts) == (3, [10.0, 20.0, 30.0])
    assert counters.snapshot()["starts_total"] == 3


def test_only_the_latest_start_times_are_kept_but_the_total_counts_them_all(tmp_path):
    path = tmp_path / "positions-starts.json"
    for i in range(STARTS_KEPT + 5):
        counters = StageCounters(started_at=float(i))
        record_start(path, counters)

    assert counters.starts_total == STARTS_KEPT + 5
    assert counters.recent_starts == [float(i) for i in range(5, STARTS_KEPT + 5)]


def test_an_unreadable_file_starts_the_count_again(tmp_path):
    path = tmp_path / "positions-starts.json"
    path.write_text("not json")
    counters = StageCounters(started_at=5.0)

    record_start(path, counters)

    assert (counters.starts_total, counters.recent_starts) == (1, [5.0])


def test_each_dead_letter_is_logged_with_its_topic_partition_offset_and_reason(caplog):
    counters = StageCounters()
    records = [Incoming("transactions", 2, 41, b"P1", b"{}"), Incoming("transactions", 2, 42, b"P1", b"[")]
    letter = {"source_topic": "transactions", "partition": 2, "offset": 42, "reason": "invalid_json",
              "field": None, "detail": "unexpected end of data"}

    with caplog.at_level(logging.WARNING, logger="folio.telemetry"):
        count_outcomes("positions", records, [letter], counters)

    (logged,) = caplog.records
    assert (logged.topic, logged.partition, logged.offset) == ("transactions", 2, 42)
    assert logged.getMessage() == "dead-lettered (invalid_json): unexpected end of data"
    assert counters.applied == {("positions", "transactions"): 1}


def test_a_round_counts_each_record_applied_unless_it_was_dead_lettered():
    counters = StageCounters()
    records = [Incoming("transactions", 0, i, b"P1", b"{}") for i in range(5)] + [Incoming("portfolios", 0, 9, b"P1", b"{}")]
    letters = [{"source_topic": "transactions", "reason": "invalid_event"},
               {"source_topic": "transactions", "reason": "invalid_json"}]

    count_outcomes("positions", records, letters, counters)

    assert counters.applied == {("positions", "transactions"): 3, ("positions", "portfolios"): 1}
    assert counters.dead_lettered == {("positions", "transactions", "invalid_event"): 1,
                                      ("positions", "transactions", "invalid_json"): 1}
