"""streams.fresh_partitions over a stand-in for Faust's consumer: what is resumed when, and where it is sought.

The broker-backed reproduction of the Faust bug is tests/integration/test_fresh_partitions.py.
"""
from __future__ import annotations

import asyncio
from collections import namedtuple

import pytest

from streams import fresh_partitions

TP = namedtuple("TP", "topic partition")
SOURCE, OTHER_SOURCE, CHANGELOG = TP("portfolios", 0), TP("portfolios", 1), TP("app-books-changelog", 0)


class Agent:
    def get_topic_names(self):
        return ["portfolios"]


class Consumer:
    """What Faust's consumer does with these calls, recorded."""

    def __init__(self, committed: dict) -> None:
        self.committed = committed
        self.resumed: list[set] = []
        self.sought: list[tuple] = []
        self.fail: BaseException | None = None

    def assignment(self):
        return {SOURCE, OTHER_SOURCE, CHANGELOG}

    def resume_partitions(self, tps) -> None:
        self.resumed.append(set(tps))

    async def seek(self, tp, offset) -> None:
        self.sought.append((tp, offset))

    async def seek_to_committed(self):
        return dict(self.committed)

    async def perform_seek(self) -> None:
        if self.fail is not None:
            raise self.fail
        await self.seek_to_committed()  # Faust's perform_seek calls it through the instance


class App:
    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer
        self.agents = {"keep_portfolios": Agent()}
        self.consumer_generation_id = 1


def _installed(committed: dict) -> tuple[App, Consumer, list[int]]:
    consumer = Consumer(committed)
    app = App(consumer)
    exits: list[int] = []
    fresh_partitions.install(app, exit_process=exits.append)
    return app, consumer, exits


async def test_a_resumed_source_partition_is_released_only_after_its_seek_and_one_never_committed_from_0():
    app, consumer, exits = _installed({SOURCE: -1, OTHER_SOURCE: 42, CHANGELOG: -1})
    consumer.resume_partitions({SOURCE, OTHER_SOURCE, CHANGELOG})
    assert consumer.resumed == [{CHANGELOG}]  # the changelog at once, the sources held
    await consumer.perform_seek()
    assert consumer.sought == [(SOURCE, 0)]  # committed at 42: Faust's seek put it there; the changelog: not ours
    assert consumer.resumed[-1] == {SOURCE, OTHER_SOURCE} and exits == []


async def test_a_seek_that_fails_with_no_rebalance_to_follow_exits_the_worker():
    app, consumer, exits = _installed({SOURCE: 3, OTHER_SOURCE: 3})
    consumer.resume_partitions({SOURCE, OTHER_SOURCE})
    consumer.fail = asyncio.CancelledError()  # Faust's timeout cancels the seek
    with pytest.raises(asyncio.CancelledError):
        await consumer.perform_seek()
    assert exits == [70]


async def test_a_seek_cut_short_by_a_new_rebalance_keeps_them_held_for_that_rebalances_seek():
    app, consumer, exits = _installed({SOURCE: 3, OTHER_SOURCE: 3})
    consumer.resume_partitions({SOURCE, OTHER_SOURCE})

    wrapped = consumer.seek_to_committed

    async def cut_short_by_a_new_assignment():
        app.consumer_generation_id = 2
        raise asyncio.CancelledError()
    consumer.seek_to_committed = cut_short_by_a_new_assignment
    with pytest.raises(asyncio.CancelledError):
        await consumer.perform_seek()
    assert exits == [] and consumer.resumed == [set()]
    consumer.seek_to_committed = wrapped  # the new rebalance's seek
    await consumer.perform_seek()
    assert consumer.resumed[-1] == {SOURCE, OTHER_SOURCE}
