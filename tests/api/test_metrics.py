"""The stages' part of /metrics: valid Prometheus text carrying exactly the observed figures."""
from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.metrics import render_stages
from api.stage_status import Heartbeat, Observation
from folio.devenv.run_state import ChildStatus, parse_children
from folio.lag import PartitionLag
from folio.telemetry import RECOMPUTE_BUCKETS, StageCounters


def _families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def _values(family) -> dict[tuple, float]:
    return {(s.name, *sorted(s.labels.items())): s.value for s in family.samples}


def _worker_counters() -> dict:
    counters = StageCounters(started_at=1700000000.5)
    counters.applied[("positions", "transactions")] = 7
    counters.dead_lettered[("positions", "transactions", "invalid_event")] = 2
    counters.dead_lettered[("reference", "prices", "key_mismatch")] = 1
    return counters.snapshot()


def _series_counters() -> dict:
    counters = StageCounters(started_at=1700000001.0)
    counters.recompute_counts[0] = 3  # three recomputes under 5 ms
    counters.recompute_counts[len(RECOMPUTE_BUCKETS)] = 1  # one above the last bound
    counters.recompute_sum = 40.0125
    counters.retries["database"] = 2
    return counters.snapshot()


def _observation() -> Observation:
    sink = StageCounters(started_at=1700000002.0)
    sink.rows_written = 1234
    return Observation(
        lags=[PartitionLag("sink", "folio-sink", "prices", 0, end=10, committed=4),
              PartitionLag("sink", "folio-sink", "prices", 1, end=3, committed=3)],
        heartbeats={"sink": Heartbeat("sink", "h:1", 1.25, 4, 3, sink.snapshot()),
                    "series": Heartbeat("series", "h:2", 0.5, 1, 1, _series_counters())},
        dead_letters={("transactions", "invalid_event"): 15, ("prices", "key_mismatch"): 1},
        worker_counters={"http://w1:6066": _worker_counters()},
        up_children={"sink": ChildStatus(pid=10, restarts=3, last_exit_code=-9),
                     "api": ChildStatus(pid=11, restarts=0)},
    )


def test_stage_metrics_parse_as_prometheus_text_with_one_help_and_type_per_family():
    text = render_stages(_observation())

    families = _families(text)

    assert [line for line in text.splitlines() if line.startswith("# TYPE folio_consumer_lag ")] == [
        "# TYPE folio_consumer_lag gauge"]
    assert families["folio_series_recompute_seconds"].type == "histogram"
    assert families["folio_events_applied"].type == "counter"


def test_lag_and_committed_offsets_are_per_group_topic_and_partition():
    families = _families(render_stages(_observation()))

    assert _values(families["folio_consumer_lag"]) == {
        ("folio_consumer_lag", ("group", "folio-sink"), ("partition", "0"), ("stage", "sink"), ("topic", "prices")): 6,
        ("folio_consumer_lag", ("group", "folio-sink"), ("partition", "1"), ("stage", "sink"), ("topic", "prices")): 0}
    assert sorted(_values(families["folio_consumer_committed_offset"]).values()) == [3, 4]


def test_applied_and_dead_lettered_records_carry_stage_topology_topic_and_reason():
    families = _families(render_stages(_observation()))

    assert _values(families["folio_events_applied"]) == {
        ("folio_events_applied_total", ("instance", "http://w1:6066"), ("stage", "positions"),
         ("topic", "transactions"), ("topology", "positions")): 7}
    assert _values(families["folio_events_dead_lettered"]) == {
        ("folio_events_dead_lettered_total", ("instance", "http://w1:6066"), ("reason", "invalid_event"),
         ("stage", "positions"), ("topic", "transactions"), ("topology", "positions")): 2,
        ("folio_events_dead_lettered_total", ("instance", "http://w1:6066"), ("reason", "key_mismatch"),
         ("stage", "positions"), ("topic", "prices"), ("topology", "reference")): 1}
    assert _values(families["folio_dead_letters"]) == {
        ("folio_dead_letters", ("reason", "invalid_event"), ("source_topic", "transactions")): 15,
        ("folio_dead_letters", ("reason", "key_mismatch"), ("source_topic", "prices")): 1}


def test_rows_retries_starts_restarts_and_heartbeat_ages_are_reported():
    families = _families(render_stages(_observation()))

    assert _values(families["folio_sink_rows_written"]) == {
        ("folio_sink_rows_written_total", ("instance", "h:1"), ("stage", "sink")): 1234}
    assert _values(families["folio_stage_retries"]) == {
        ("folio_stage_retries_total", ("cause", "database"), ("instance", "h:2"), ("stage", "series")): 2}
    assert _values(families["folio_stage_starts"]) == {
        ("folio_stage_starts_total", ("stage", "series")): 1, ("folio_stage_starts_total", ("stage", "sink")): 4}
    assert _values(families["folio_stage_heartbeat_age_seconds"]) == {
        ("folio_stage_heartbeat_age_seconds", ("stage", "series")): 0.5,
        ("folio_stage_heartbeat_age_seconds", ("stage", "sink")): 1.25}
    assert _values(families["folio_up_child_restarts"]) == {
        ("folio_up_child_restarts_total", ("child", "api")): 0, ("folio_up_child_restarts_total", ("child", "sink")): 3}


def test_recompute_latency_is_a_cumulative_histogram():
    family = _families(render_stages(_observation()))["folio_series_recompute_seconds"]

    values = {(s.name, s.labels.get("le")): s.value for s in family.samples}

    assert {s.labels["instance"] for s in family.samples} == {"h:2"}
    assert values[("folio_series_recompute_seconds_bucket", "0.005")] == 3
    assert values[("folio_series_recompute_seconds_bucket", "30.0")] == 3
    assert values[("folio_series_recompute_seconds_bucket", "+Inf")] == 4
    assert values[("folio_series_recompute_seconds_count", None)] == 4
    assert values[("folio_series_recompute_seconds_sum", None)] == 40.0125


def test_a_source_that_did_not_answer_is_reported_down_and_its_figures_left_out():
    obs = Observation(lags=None, errors={"broker": "timed out"}, worker_counters={"http://w1": _worker_counters()})

    families = _families(render_stages(obs))

    assert _values(families["folio_telemetry_source_up"]) == {
        ("folio_telemetry_source_up", ("source", "broker")): 0,
        ("folio_telemetry_source_up", ("source", "database")): 1,
        ("folio_telemetry_source_up", ("source", "worker")): 1}
    assert families["folio_consumer_lag"].samples == []


def test_label_values_are_escaped():
    obs = Observation(dead_letters={('we"ird\\topic\n', "invalid_json"): 1})

    (sample,) = _families(render_stages(obs))["folio_dead_letters"].samples

    assert sample.labels["source_topic"] == 'we"ird\\topic\n'


def test_the_up_status_file_is_read_as_children_by_name(tmp_path):
    path = tmp_path / "status.json"
    path.write_text('{"sink": {"pid": 4, "restarts": 2, "started_at": "2026-11-26T10:00:00+00:00", "last_exit_code": 1}}')

    assert parse_children(path.read_text()) == {
        "sink": ChildStatus(pid=4, restarts=2, started_at="2026-11-26T10:00:00+00:00", last_exit_code=1)}


def test_an_up_status_file_that_is_not_an_object_of_children_is_refused(tmp_path):
    path = tmp_path / "status.json"
    path.write_text("[1, 2]")

    with pytest.raises(ValueError):
        parse_children(path.read_text())
