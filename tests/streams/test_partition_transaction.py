"""PartitionTransaction: the batch whole first, then each table, then the changelogs; a crash in between is finished.

The tables are real RocksDB databases; the producer is a recorder of what would
reach each changelog partition (the order and content of its records is the
unit under test; the broker's own behaviour is covered by the integration tests).
"""
from __future__ import annotations

import asyncio

import pytest
from rocksdict import Options, Rdict

from core.ledger import apply_transaction, define_portfolio
from core.fx import FxBook
from core.stored import TABLES
from folio import faults
from streams.partition_transaction import PENDING, PartitionTransaction
from tests.core.factories import cancel, make_tx

DEFINITION = {"portfolio_id": "P1", "name": "P", "base_currency": "USD", "cost_method": "FIFO",
              "open_date": "2024-01-01"}


class _Batch:
    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes | None]] = []

    def append(self, key, value, timestamp):
        self.records.append((key, value))
        return True


class RecordingProducer:
    def __init__(self) -> None:
        self.topics: dict[str, list[tuple[bytes, bytes | None]]] = {}

    def create_batch(self) -> _Batch:
        return _Batch()

    async def send_batch(self, batch: _Batch, topic: str, partition: int):
        log = self.topics.setdefault(topic, [])
        future = asyncio.get_running_loop().create_future()
        future.set_result(type("Meta", (), {"offset": len(log)})())
        log.extend(batch.records)
        return future


class _Data:
    def __init__(self, db: Rdict) -> None:
        self.db = db
        self.persisted: dict = {}

    def _db_for_partition(self, partition: int) -> Rdict:
        return self.db

    def set_persisted_offset(self, tp, offset: int) -> None:
        self.persisted[tp] = offset


class _Topic:
    def __init__(self, name: str) -> None:
        self.name = name

    def get_topic_name(self) -> str:
        return self.name


class Table:
    def __init__(self, name: str, db: Rdict) -> None:
        self.data = _Data(db)
        self.changelog_topic = _Topic(f"{name}-changelog")


@pytest.fixture
def tables(tmp_path):
    made = {name: Table(name, Rdict(str(tmp_path / name), options=Options(raw_mode=True))) for name in TABLES}
    yield made
    for table in made.values():
        table.data.db.close()


async def _apply(tables, producer, *txs, on_written=None):
    transaction = PartitionTransaction(tables, 0, on_written)
    for arrival, tx in txs:
        if tx is None:
            define_portfolio(transaction.store, DEFINITION, arrival)
        else:
            apply_transaction(transaction.store, tx, arrival, FxBook().rate)
    await transaction.flush(producer)


def _state(tables) -> dict:
    return {name: dict(table.data.db.items()) for name, table in tables.items()}


async def test_a_flush_writes_every_table_and_changelog_and_leaves_no_pending_batch(tables):
    producer = RecordingProducer()
    await _apply(tables, producer, (0, None), (1, make_tx("BUY", quantity=10, price=10, transaction_id="B1")))
    assert {topic: len(log) for topic, log in producer.topics.items()} == {
        "books-changelog": 1, "ledger-changelog": 1, "positions-changelog": 1, "cash-changelog": 1,
        "entries-changelog": 1, "days-changelog": 1}
    assert tables["books"].data.db.get(PENDING) is None
    assert tables["days"].data.persisted  # the persisted offset moved once the changelog had it


async def test_a_crash_between_two_tables_writes_is_finished_by_the_next_flush_tombstones_included(
        tables, monkeypatch, tmp_path):
    producer = RecordingProducer()
    buy = make_tx("BUY", quantity=10, price=10, trade_date="2024-01-03", transaction_id="B1")
    await _apply(tables, producer, (0, None), (1, buy))

    # The cancellation changes the ledger, the position, cash, and deletes B1's entry and its day;
    # the worker dies right after the first table's RocksDB write.
    def crash(point: str) -> None:
        if point == "worker:after_rocksdb":
            raise SystemExit(70)
    monkeypatch.setattr("streams.partition_transaction.fault_point", crash)
    with pytest.raises(SystemExit):
        await _apply(tables, producer, (2, cancel(buy, 2)))
    monkeypatch.undo()
    assert tables["books"].data.db.get(PENDING) is not None
    assert tables["entries"].data.db.get(b"P1\x1fSEC\x1f2024-01-03\x1f00000000000000000001\x1fB1") is not None

    # After the restart the next batch of the partition finishes it before its own records.
    await _apply(tables, producer, (3, make_tx("DEPOSIT", security=None, amount=5, transaction_id="D1")))
    assert producer.topics["entries-changelog"][-1] == (
        b"P1\x1fSEC\x1f2024-01-03\x1f00000000000000000001\x1fB1", None)
    assert producer.topics["days-changelog"][-1] == (b"P1\x1fSEC\x1f2024-01-03", None)
    assert tables["books"].data.db.get(PENDING) is None

    # Every table now holds what an uninterrupted run holds.
    clean = {name: Table(name, Rdict(str(tmp_path / f"clean-{name}"), options=Options(raw_mode=True)))
             for name in TABLES}
    try:
        await _apply(clean, RecordingProducer(), (0, None), (1, buy))
        await _apply(clean, RecordingProducer(), (2, cancel(buy, 2)))
        await _apply(clean, RecordingProducer(), (3, make_tx("DEPOSIT", security=None, amount=5,
                                                             transaction_id="D1")))
        assert _state(tables) == _state(clean)
    finally:
        for table in clean.values():
            table.data.db.close()


async def test_every_write_tells_its_listener_which_keys_it_wrote_a_finished_crashed_batch_included(
        tables, monkeypatch):
    """What live reads' versions (streams.live_versions) are bumped from."""
    producer = RecordingProducer()
    told: list[set[str]] = []

    def listener(changes) -> None:
        told.append({name for name, items in changes.items() if items})

    await _apply(tables, producer, (0, None), (1, make_tx("BUY", quantity=10, price=10, transaction_id="B1")),
                 on_written=listener)
    assert told == [{"books", "ledger", "positions", "cash", "entries", "days"}]

    def crash(point: str) -> None:
        if point == "worker:after_rocksdb":
            raise SystemExit(70)
    monkeypatch.setattr("streams.partition_transaction.fault_point", crash)
    with pytest.raises(SystemExit):
        await _apply(tables, producer, (2, make_tx("DEPOSIT", security=None, amount=5, transaction_id="D1")),
                     on_written=listener)
    monkeypatch.undo()
    told.clear()
    # The next transaction object finishes the crashed batch's writes (the ledger and cash) and says so.
    PartitionTransaction(tables, 0, listener)
    assert told == [{"ledger", "cash"}]

class HeldProducer(RecordingProducer):
    """Records like RecordingProducer, but a batch is acknowledged (or fails) only when the test says so."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[tuple[str, asyncio.Future, object]] = []

    async def send_batch(self, batch: _Batch, topic: str, partition: int):
        log = self.topics.setdefault(topic, [])
        meta = type("Meta", (), {"offset": len(log), "partition": partition})()
        log.extend(batch.records)
        future = asyncio.get_running_loop().create_future()
        self.held.append((topic, future, meta))
        return future

    def acknowledge(self, failing: str | None = None) -> None:
        for topic, future, meta in self.held:
            if topic == failing:
                future.set_exception(OSError("broker unreachable"))
            else:
                future.set_result(meta)


async def test_every_tables_changelog_records_are_sent_before_any_acknowledgement_is_awaited(tables):
    producer = RecordingProducer()
    await _apply(tables, producer, (0, None))
    held = HeldProducer()
    transaction = PartitionTransaction(tables, 0)
    apply_transaction(transaction.store, make_tx("BUY", quantity=10, price=10, transaction_id="B1"), 1, FxBook().rate)
    flushing = asyncio.ensure_future(transaction.flush(held))
    for _ in range(10):
        await asyncio.sleep(0)
    # One round trip for the whole batch: every changed table is queued while none is acknowledged.
    assert set(held.topics) == {"books-changelog", "ledger-changelog", "positions-changelog", "cash-changelog",
                                "entries-changelog", "days-changelog"}
    assert not flushing.done()
    assert not tables["positions"].data.persisted  # no persisted offset before its acknowledgement
    assert tables["books"].data.db.get(PENDING) is not None
    held.acknowledge()
    await flushing
    assert tables["positions"].data.persisted and tables["books"].data.db.get(PENDING) is None


async def test_a_changelog_that_is_not_acknowledged_keeps_the_pending_batch_and_its_tables_persisted_offset(tables):
    held = HeldProducer()
    transaction = PartitionTransaction(tables, 0)
    define_portfolio(transaction.store, DEFINITION, 0)
    apply_transaction(transaction.store, make_tx("BUY", quantity=10, price=10, transaction_id="B1"), 1, FxBook().rate)
    flushing = asyncio.ensure_future(transaction.flush(held))
    for _ in range(10):
        await asyncio.sleep(0)
    held.acknowledge(failing="positions-changelog")
    with pytest.raises(OSError):
        await flushing
    assert not tables["positions"].data.persisted
    assert tables["books"].data.db.get(PENDING) is not None  # the next batch sends it all again
