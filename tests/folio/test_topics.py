"""topics.yaml and its idempotent application."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from folio.topics import (
    PACKAGED_TOPICS_FILE,
    TopicsFileError,
    apply_topics,
    is_difference,
    load_topics,
)


@pytest.fixture
def topics_file(tmp_path: Path):
    """Write a topics.yaml with the given body."""

    def write(body: str) -> Path:
        path = tmp_path / "topics.yaml"
        path.write_text(body)
        return path

    return write


def test_topics_yaml_declares_folio_topics_with_their_retention():
    specs = {spec.name: spec for spec in load_topics(PACKAGED_TOPICS_FILE)}

    assert {name: spec.configs for name, spec in specs.items()} == {
        "portfolios": {"cleanup.policy": "compact"},
        "instruments": {"cleanup.policy": "compact"},
        "transactions": {"cleanup.policy": "delete", "retention.ms": "-1"},
        "prices": {"cleanup.policy": "delete", "retention.ms": "-1"},
        "fx_rates": {"cleanup.policy": "delete", "retention.ms": "-1"},
        "dead_letters": {"cleanup.policy": "delete", "retention.ms": "-1"},
        # Internal (sink → series topology); a lost backlog is rebuilt by `folio series rebuild`: a week.
        "series_marks": {"cleanup.policy": "delete", "retention.ms": "604800000"},
    }
    assert {spec.partitions for spec in specs.values()} == {4}
    assert {spec.replication for spec in specs.values()} == {1}


def test_folio_replication_overrides_every_topics_replication(monkeypatch):
    monkeypatch.setenv("FOLIO_REPLICATION", "3")

    assert {spec.replication for spec in load_topics(PACKAGED_TOPICS_FILE)} == {3}


def test_co_partitioned_topics_with_different_partition_counts_are_refused(topics_file):
    path = topics_file(
        "defaults: {partitions: 4, replication: 1}\n"
        "co_partitioned: [[portfolios, transactions]]\n"
        "topics:\n"
        "  - {name: portfolios, cleanup_policy: compact}\n"
        "  - {name: transactions, partitions: 8}\n"
    )

    with pytest.raises(TopicsFileError, match="same partition count"):
        load_topics(path)


def test_an_unknown_cleanup_policy_is_refused(topics_file):
    path = topics_file("topics:\n  - {name: t, partitions: 1, replication: 1, cleanup_policy: forever}\n")

    with pytest.raises(TopicsFileError, match="cleanup_policy"):
        load_topics(path)


@pytest.mark.integration
async def test_applying_twice_creates_each_topic_once_then_reports_it_existing(start_broker):
    bootstrap = start_broker()
    specs = load_topics(PACKAGED_TOPICS_FILE)

    first = await apply_topics(bootstrap, specs)
    second = await apply_topics(bootstrap, specs)

    assert [line.split(":")[0] for line in first] == [f"created {spec.name}" for spec in specs]
    assert second == [f"exists {spec.name}" for spec in specs]


@pytest.mark.integration
async def test_a_partition_count_unlike_the_file_is_reported_and_left_alone(start_broker):
    bootstrap = start_broker()
    specs = load_topics(PACKAGED_TOPICS_FILE)
    await apply_topics(bootstrap, specs)
    wanted_more = [dataclasses.replace(spec, partitions=8) if spec.name == "prices" else spec for spec in specs]

    report = await apply_topics(bootstrap, wanted_more)
    unchanged = await apply_topics(bootstrap, specs)

    assert [line for line in report if is_difference(line)] == [
        "partition mismatch prices: the broker has 4, topics.yaml says 8 "
        "(not changed: changing it moves keys to other partitions)"
    ]
    assert not any(is_difference(line) for line in unchanged)
