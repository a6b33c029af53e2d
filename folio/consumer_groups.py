"""Folio's consumer groups: each stage's group id and the topics it consumes.

The one definition: the stages take their group ids from here, the API
reports lag per group and partition from it, and the harness waits on it.
A Faust app's group id is its app id (`streams.app.make_app`).
"""
from __future__ import annotations

from dataclasses import dataclass

MARKET_TOPICS = ("instruments", "prices", "fx_rates")


@dataclass(frozen=True)
class ConsumerGroup:
    stage: str  # the component /health/ready names
    group_id: str
    topics: tuple[str, ...]


def faust_app_id(app_id: str, topology: str) -> str:
    return f"{app_id}-{topology}"


def positions_app_id(app_id: str) -> str:
    return faust_app_id(app_id, "positions")


def batcher_group_id(app_id: str) -> str:
    return f"{positions_app_id(app_id)}-batcher"


def transaction_batches_topic(app_id: str) -> str:
    return f"{positions_app_id(app_id)}-transaction-batches"


def sink_group_id(app_id: str) -> str:
    return f"{app_id}-sink"


def series_group_id(app_id: str) -> str:
    return faust_app_id(app_id, "series")


def consumer_groups(app_id: str, include_sink: bool = True) -> list[ConsumerGroup]:
    """Upstream first: the batcher feeds the positions agents, whose changelogs feed the sink,
    which relays series marks (before it commits) to the series topology."""
    from sink.runner import REFERENCE_TOPICS, SERIES_MARKS_TOPIC, changelog_topics  # sink.runner imports us

    groups = [
        ConsumerGroup("batcher", batcher_group_id(app_id), ("transactions",)),
        ConsumerGroup("positions", positions_app_id(app_id),
                      ("portfolios", transaction_batches_topic(app_id), *MARKET_TOPICS)),
    ]
    if include_sink:
        groups += [
            ConsumerGroup("sink", sink_group_id(app_id), (*changelog_topics(app_id), *REFERENCE_TOPICS)),
            ConsumerGroup("series", series_group_id(app_id), (SERIES_MARKS_TOPIC,)),
        ]
    return groups
