"""apply_groups: each partition's batch applied and written back, the partitions' acknowledgements awaited together."""
from __future__ import annotations

import asyncio
import json

import pytest
from rocksdict import Options, Rdict

from core.fx import FxBook
from core.stored import TABLES
from streams.apply import Incoming, LedgerContext, apply_groups
from streams.partition_transaction import PENDING_KEY, PENDING_TABLE
from tests.streams.test_partition_transaction import HeldProducer, _Topic


class _PartitionedData:
    def __init__(self, dbs: dict[int, Rdict]) -> None:
        self.dbs = dbs
        self.persisted: dict = {}

    def _db_for_partition(self, partition: int) -> Rdict:
        return self.dbs[partition]

    def set_persisted_offset(self, tp, offset: int) -> None:
        self.persisted[tp] = offset


class _Table:
    def __init__(self, name: str, dbs: dict[int, Rdict]) -> None:
        self.data = _PartitionedData(dbs)
        self.changelog_topic = _Topic(f"{name}-changelog")


@pytest.fixture
def tables(tmp_path):
    made = {name: _Table(name, {p: Rdict(str(tmp_path / f"{name}-{p}"), options=Options(raw_mode=True))
                                for p in (0, 1)}) for name in (*TABLES, PENDING_TABLE)}
    yield made
    for table in made.values():
        for db in table.data.dbs.values():
            db.close()


def _portfolio(partition: int, pid: str) -> Incoming:
    value = {"portfolio_id": pid, "name": pid, "base_currency": "USD", "open_date": "2024-01-01"}
    return Incoming("portfolios", partition, 0, pid.encode(), json.dumps(value).encode())


def _deposit(partition: int, pid: str) -> Incoming:
    value = {"transaction_id": "D1", "portfolio_id": pid, "type": "DEPOSIT", "trade_date": "2024-01-02",
             "amount": "100", "currency": "USD"}
    return Incoming("transactions", partition, 1, pid.encode(), json.dumps(value).encode())


async def test_every_partitions_changelog_records_are_sent_before_any_partition_awaits_its_acknowledgement(tables):
    producer = HeldProducer()
    context = LedgerContext(tables, FxBook(), None, producer)
    applying = asyncio.ensure_future(apply_groups(context, {
        0: [_portfolio(0, "P0"), _deposit(0, "P0")], 1: [_portfolio(1, "P1"), _deposit(1, "P1"), Incoming(
            "transactions", 1, 2, b"P1", b"not json")]}))
    for _ in range(20):
        await asyncio.sleep(0)
    assert {meta.partition for _, _, meta in producer.held} == {0, 1}
    assert not applying.done()
    while not applying.done():  # the pending batches, then the tables, then the dead letter
        producer.acknowledge()
        await asyncio.sleep(0)
    letters = await applying
    assert [(letter["partition"], letter["offset"]) for letter in letters] == [(1, 2)]
    for partition in (0, 1):
        assert tables[PENDING_TABLE].data.dbs[partition].get(PENDING_KEY) is None
    assert {tp.partition for tp in tables["cash"].data.persisted} == {0, 1}
