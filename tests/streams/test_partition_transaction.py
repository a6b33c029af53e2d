"""PartitionTransaction: the batch whole first, then each table, then the changelogs; a crash in between is
finished, by the same worker or by the one the partition moves to.

The tables are real RocksDB databases; the producer is a recorder of what would
reach each changelog partition (the order and content of its records is the
unit under test; the broker's own behaviour is covered by the integration tests).
"""
from __future__ import annotations

import asyncio
import zlib

import orjson
import pytest
from rocksdict import Options, Rdict

from core.ledger import apply_transaction, define_portfolio
from core.fx import FxBook
from core.stored import TABLES
from folio import faults
from streams.partition_transaction import LEGACY_PENDING, PENDING_KEY, PENDING_TABLE, PartitionTransaction
from tests.core.factories import cancel, make_tx

DEFINITION = {"portfolio_id": "P1", "name": "P", "base_currency": "USD", "cost_method": "FIFO",
              "open_date": "2024-01-01"}


class _Batch:
    """A record batch; like aiokafka's, full (append answers None) once `capacity` bytes are in it."""

    def __init__(self, capacity: int | None = None) -> None:
        self.records: list[tuple[bytes, bytes | None]] = []
        self.capacity = capacity

    def append(self, key, value, timestamp):
        size = sum(len(k) + len(v or b"") for k, v in self.records)
        if self.capacity is not None and self.records and size + len(key) + len(value or b"") > self.capacity:
            return None
        self.records.append((key, value))
        return True


class RecordingProducer:
    def __init__(self, batch_capacity: int | None = None) -> None:
        self.topics: dict[str, list[tuple[bytes, bytes | None]]] = {}
        self.batch_capacity = batch_capacity

    def create_batch(self) -> _Batch:
        return _Batch(self.batch_capacity)

    async def send(self, topic: str, value: bytes, key: bytes | None = None):
        """One message (dead letters): delivered at once."""
        self.topics.setdefault(topic, []).append((key, value))
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

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


def make_tables(directory, records: dict[str, list[tuple[bytes, bytes | None]]] | None = None) -> dict[str, Table]:
    """A worker's tables; given changelog records (by topic), recovered from them as Faust does."""
    made = {name: Table(name, Rdict(str(directory / name), options=Options(raw_mode=True)))
            for name in (*TABLES, PENDING_TABLE)}
    for name, table in made.items():
        for key, value in (records or {}).get(table.changelog_topic.name, ()):
            if value is None:
                table.data.db.delete(key)
            else:
                table.data.db[key] = value
    return made


def close(tables) -> None:
    for table in tables.values():
        table.data.db.close()


@pytest.fixture
def tables(tmp_path):
    made = make_tables(tmp_path)
    yield made
    close(made)


def pending(tables) -> bytes | None:
    return tables[PENDING_TABLE].data.db.get(PENDING_KEY)


async def _apply(tables, producer, *txs, on_written=None):
    transaction = PartitionTransaction(tables, 0, on_written)
    for arrival, tx in txs:
        if tx is None:
            define_portfolio(transaction.store, DEFINITION, arrival)
        else:
            apply_transaction(transaction.store, tx, arrival, FxBook().rate)
    await transaction.flush(producer)


def _state(tables) -> dict:
    return {name: dict(tables[name].data.db.items()) for name in TABLES}


async def test_a_flush_writes_every_table_and_changelog_and_leaves_no_pending_batch(tables):
    producer = RecordingProducer()
    await _apply(tables, producer, (0, None), (1, make_tx("BUY", quantity=10, price=10, transaction_id="B1")))
    assert {topic: len(log) for topic, log in producer.topics.items()} == {
        "books-changelog": 1, "ledger-changelog": 1, "positions-changelog": 1, "cash-changelog": 1,
        "entries-changelog": 1, "days-changelog": 1,
        # The batch's part and its header before the tables' records, their tombstones after.
        "pending-changelog": 4}
    assert producer.topics["pending-changelog"][-2] == (PENDING_KEY, None)  # then the part's tombstone
    assert pending(tables) is None
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
    assert pending(tables) is not None
    assert tables["entries"].data.db.get(b"P1\x1fSEC\x1f2024-01-03\x1f00000000000000000001\x1fB1") is not None

    # After the restart the next batch of the partition finishes it before its own records.
    await _apply(tables, producer, (3, make_tx("DEPOSIT", security=None, amount=5, transaction_id="D1")))
    assert producer.topics["entries-changelog"][-1] == (
        b"P1\x1fSEC\x1f2024-01-03\x1f00000000000000000001\x1fB1", None)
    assert producer.topics["days-changelog"][-1] == (b"P1\x1fSEC\x1f2024-01-03", None)
    assert pending(tables) is None

    # Every table now holds what an uninterrupted run holds.
    (tmp_path / "clean").mkdir()
    clean = make_tables(tmp_path / "clean")
    try:
        await _apply(clean, RecordingProducer(), (0, None), (1, buy))
        await _apply(clean, RecordingProducer(), (2, cancel(buy, 2)))
        await _apply(clean, RecordingProducer(), (3, make_tx("DEPOSIT", security=None, amount=5,
                                                             transaction_id="D1")))
        assert _state(tables) == _state(clean)
    finally:
        close(clean)


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

    async def send(self, topic: str, value: bytes, key: bytes | None = None):
        """One message (dead letters): delivered at once."""
        self.topics.setdefault(topic, []).append((key, value))
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    async def send_batch(self, batch: _Batch, topic: str, partition: int):
        log = self.topics.setdefault(topic, [])
        meta = type("Meta", (), {"offset": len(log), "partition": partition})()
        log.extend(batch.records)
        future = asyncio.get_running_loop().create_future()
        self.held.append((topic, future, meta))
        return future

    def acknowledge(self, failing: str | None = None) -> None:
        for topic, future, meta in self.held:
            if future.done():
                continue
            if topic == failing:
                future.set_exception(OSError("broker unreachable"))
            else:
                future.set_result(meta)


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_the_batch_reaches_the_pending_changelog_before_any_tables_changelog_record_is_sent(tables):
    producer = RecordingProducer()
    await _apply(tables, producer, (0, None))
    held = HeldProducer()
    transaction = PartitionTransaction(tables, 0)
    apply_transaction(transaction.store, make_tx("BUY", quantity=10, price=10, transaction_id="B1"), 1, FxBook().rate)
    flushing = asyncio.ensure_future(transaction.flush(held))
    await _settle()
    assert set(held.topics) == {"pending-changelog"}
    sent = [key for key, _ in held.topics["pending-changelog"]]
    assert len(sent) == 2 and sent[0].startswith(b"batch:") and sent[1] == PENDING_KEY  # the header last
    assert pending(tables) is not None and tables["ledger"].data.db.get(b"P1\x1fB1") is None
    held.acknowledge()
    await _settle()
    # Then one round trip for the tables: every changed table is queued while none is acknowledged.
    assert set(held.topics) == {"pending-changelog", "books-changelog", "ledger-changelog", "positions-changelog",
                                "cash-changelog", "entries-changelog", "days-changelog"}
    assert not flushing.done()
    assert not tables["positions"].data.persisted  # no persisted offset before its acknowledgement
    assert pending(tables) is not None
    held.acknowledge()
    await flushing
    assert tables["positions"].data.persisted and pending(tables) is None
    assert held.topics["pending-changelog"][-2:] == [(PENDING_KEY, None), (sent[0], None)]


async def test_a_changelog_that_is_not_acknowledged_keeps_the_pending_batch_and_its_tables_persisted_offset(tables):
    held = HeldProducer()
    transaction = PartitionTransaction(tables, 0)
    define_portfolio(transaction.store, DEFINITION, 0)
    apply_transaction(transaction.store, make_tx("BUY", quantity=10, price=10, transaction_id="B1"), 1, FxBook().rate)
    flushing = asyncio.ensure_future(transaction.flush(held))
    await _settle()
    held.acknowledge()
    await _settle()
    held.acknowledge(failing="positions-changelog")
    with pytest.raises(OSError):
        await flushing
    assert not tables["positions"].data.persisted
    assert pending(tables) is not None  # the next batch sends it all again


class DyingProducer(RecordingProducer):
    """Records like RecordingProducer until the worker dies: at the first record batch for `topic`."""

    def __init__(self, topic: str) -> None:
        super().__init__()
        self.dies_at = topic
        self.armed = False

    async def send(self, topic: str, value: bytes, key: bytes | None = None):
        """One message (dead letters): delivered at once."""
        self.topics.setdefault(topic, []).append((key, value))
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    async def send_batch(self, batch: _Batch, topic: str, partition: int):
        if self.armed and topic == self.dies_at:
            raise SystemExit(137)
        return await super().send_batch(batch, topic, partition)


@pytest.mark.parametrize("dies_at", ["ledger-changelog", "cash-changelog", "days-changelog"])
async def test_a_batch_half_on_the_changelogs_when_its_worker_died_is_finished_by_the_worker_the_partition_moves_to(
        tmp_path, dies_at):
    first = tmp_path / "first"
    first.mkdir()
    producer = DyingProducer(dies_at)
    buy = make_tx("BUY", quantity=10, price=10, trade_date="2024-01-03", transaction_id="B1")
    sell = make_tx("SELL", quantity=4, price=12, trade_date="2024-01-05", transaction_id="S1")
    dead = make_tables(first)
    try:
        await _apply(dead, producer, (0, None), (1, buy))
        producer.armed = True
        # The worker dies while sending the sell's batch: some tables' records are on their changelogs,
        # the others' are not, and its RocksDB stays on its disk.
        with pytest.raises(SystemExit):
            await _apply(dead, producer, (2, sell))
    finally:
        close(dead)
    assert producer.topics["pending-changelog"][-1][0] == PENDING_KEY
    assert producer.topics["pending-changelog"][-1][1] is not None  # the batch's header
    assert producer.topics["positions-changelog"][-1][0] == b"P1\x1fSEC" and (
        (b'"S1"' in producer.topics["positions-changelog"][-1][1]) == (dies_at != "ledger-changelog"))

    # Another worker recovers every table from its changelog, then gets the sell again (its offset was
    # never committed) and a deposit after it.
    (tmp_path / "second").mkdir()
    survivor = make_tables(tmp_path / "second", producer.topics)
    (tmp_path / "clean").mkdir()
    clean = make_tables(tmp_path / "clean")
    try:
        deposit = make_tx("DEPOSIT", security=None, amount=5, transaction_id="D1")
        after = RecordingProducer()
        await _apply(survivor, after, (2, sell), (3, deposit))
        await _apply(clean, RecordingProducer(), (0, None), (1, buy))
        await _apply(clean, RecordingProducer(), (2, sell), (3, deposit))
        assert _state(survivor) == _state(clean)
        # And what it sent completes every table's changelog: a third worker recovering from them agrees too.
        (tmp_path / "third").mkdir()
        combined = {topic: producer.topics.get(topic, []) + after.topics.get(topic, [])
                    for topic in {*producer.topics, *after.topics}}
        third = make_tables(tmp_path / "third", combined)
        try:
            assert _state(third) == _state(clean)
        finally:
            close(third)
    finally:
        close(survivor)
        close(clean)


async def test_a_pending_batch_left_in_the_books_database_by_an_earlier_release_is_finished(tables, tmp_path):
    producer = RecordingProducer()
    buy = make_tx("BUY", quantity=10, price=10, transaction_id="B1")
    await _apply(tables, producer, (0, None))
    # What the earlier release wrote before its first table: the whole batch, in `books`.
    transaction = PartitionTransaction(tables, 0)
    apply_transaction(transaction.store, buy, 1, FxBook().rate)
    changes = transaction.store.changes()
    legacy = orjson.dumps({name: [[k.decode(), None if v is None else v.decode()] for k, v in items]
                           for name, items in changes.items()})
    tables["books"].data.db[LEGACY_PENDING] = legacy
    tables["ledger"].data.db.put(*changes["ledger"][0])  # it died after the first table

    await _apply(tables, producer, (2, make_tx("DEPOSIT", security=None, amount=5, transaction_id="D1")))
    assert tables["books"].data.db.get(LEGACY_PENDING) is None
    (tmp_path / "clean").mkdir()
    clean = make_tables(tmp_path / "clean")
    try:
        await _apply(clean, RecordingProducer(), (0, None), (1, buy))
        await _apply(clean, RecordingProducer(), (2, make_tx("DEPOSIT", security=None, amount=5,
                                                             transaction_id="D1")))
        assert _state(tables) == _state(clean)
    finally:
        close(clean)


async def _assert_the_next_owner_ends_as_an_uninterrupted_run(tmp_path, changelogs, first, redelivered) -> None:
    """A worker recovering every table from `changelogs` gets `redelivered` again: it ends where a worker
    that applied `first` then `redelivered` without a crash ends."""
    (tmp_path / "second").mkdir()
    survivor = make_tables(tmp_path / "second", changelogs)
    (tmp_path / "clean").mkdir()
    clean = make_tables(tmp_path / "clean")
    try:
        await _apply(survivor, RecordingProducer(), redelivered)
        await _apply(clean, RecordingProducer(), first, redelivered)
        assert _state(survivor) == _state(clean)
        assert list(survivor[PENDING_TABLE].data.db.keys()) == []  # no part of any attempt left behind
    finally:
        close(survivor)
        close(clean)


async def test_a_batch_larger_than_a_message_travels_in_parts_and_is_finished_from_them(tables, monkeypatch, tmp_path):
    monkeypatch.setattr("streams.partition_transaction.BATCH_BYTES", 64)
    producer = DyingProducer("cash-changelog")
    buy = make_tx("BUY", quantity=10, price=10, trade_date="2024-01-03", transaction_id="B1")
    await _apply(tables, producer, (0, None))
    producer.armed = True
    with pytest.raises(SystemExit):
        await _apply(tables, producer, (1, buy))
    sent = producer.topics["pending-changelog"]
    assert len(sent) > 3 and sent[-1][0] == PENDING_KEY  # header + part(s) of the first batch, then this one's
    assert all(len(value) <= 64 for _, value in sent if value is not None)

    await _assert_the_next_owner_ends_as_an_uninterrupted_run(tmp_path, producer.topics, (0, None), (1, buy))


class RetriedProducer(RecordingProducer):
    """The first attempt's positions send fails (a broker error), the second attempt dies before its header."""

    def __init__(self) -> None:
        super().__init__(batch_capacity=200)  # a few parts per record batch, as big batches are
        self.attempt = 0

    async def send(self, topic: str, value: bytes, key: bytes | None = None):
        """One message (dead letters): delivered at once."""
        self.topics.setdefault(topic, []).append((key, value))
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    async def send_batch(self, batch: _Batch, topic: str, partition: int):
        if self.attempt == 1 and topic == "positions-changelog":
            raise OSError("broker unreachable")
        if self.attempt == 2 and topic == "pending-changelog" and (PENDING_KEY, None) not in batch.records and any(
                key == PENDING_KEY for key, _ in batch.records):
            raise SystemExit(137)
        return await super().send_batch(batch, topic, partition)


async def test_a_retried_flush_that_dies_before_its_header_leaves_the_first_attempts_batch_whole(
        tables, monkeypatch, tmp_path):
    """A retry writes new parts: they must not replace the parts the first attempt's header names."""
    monkeypatch.setattr("streams.partition_transaction.BATCH_BYTES", 64)  # several parts
    producer = RetriedProducer()
    buy = make_tx("BUY", quantity=10, price=10, trade_date="2024-01-03", transaction_id="B1")
    await _apply(tables, producer, (0, None))
    transaction = PartitionTransaction(tables, 0)
    apply_transaction(transaction.store, buy, 1, FxBook().rate)
    producer.attempt = 1
    with pytest.raises(OSError):  # header and ledger acknowledged, positions refused
        await transaction.flush(producer)
    producer.attempt = 2
    with pytest.raises(SystemExit):  # apply_group's retry: its parts land, its header does not
        await transaction.flush(producer)

    await _assert_the_next_owner_ends_as_an_uninterrupted_run(tmp_path, producer.topics, (0, None), (1, buy))


async def test_a_finished_batch_leaves_no_header_and_no_part_behind_locally_or_on_the_changelog(
        tables, monkeypatch, tmp_path):
    monkeypatch.setattr("streams.partition_transaction.BATCH_BYTES", 64)
    producer = RecordingProducer()
    await _apply(tables, producer, (0, None), (1, make_tx("BUY", quantity=10, price=10, transaction_id="B1")))
    assert list(tables[PENDING_TABLE].data.db.keys()) == []
    (tmp_path / "second").mkdir()
    recovered = make_tables(tmp_path / "second", producer.topics)
    try:
        assert list(recovered[PENDING_TABLE].data.db.keys()) == []
    finally:
        close(recovered)


async def test_a_batch_of_several_parts_sends_its_header_only_once_every_part_is_acknowledged(tables, monkeypatch):
    monkeypatch.setattr("streams.partition_transaction.BATCH_BYTES", 64)
    await _apply(tables, RecordingProducer(), (0, None))
    held = HeldProducer()
    transaction = PartitionTransaction(tables, 0)
    apply_transaction(transaction.store, make_tx("BUY", quantity=10, price=10, transaction_id="B1"), 1, FxBook().rate)
    flushing = asyncio.ensure_future(transaction.flush(held))
    await _settle()
    sent = [key for key, _ in held.topics["pending-changelog"]]
    assert len(sent) > 1 and PENDING_KEY not in sent  # the parts, and no header while they are unacknowledged
    held.acknowledge()
    await _settle()
    assert held.topics["pending-changelog"][len(sent)][0] == PENDING_KEY
    while not flushing.done():
        held.acknowledge()
        await _settle()
    await flushing


def _part(batch_id: str, index: int, raw: bytes) -> tuple[bytes, bytes]:
    return b"batch:%s:%06d" % (batch_id.encode(), index), raw


UNREADABLE = {
    "a header that is not JSON": (b"\xff{not json", []),
    "a header of another shape": (b'["id", 1]', []),
    "a header asking for a million parts": (b'{"id": "x", "parts": 1000000}', []),
    "parts that are not zlib": (b'{"id": "x", "parts": 1}', [_part("x", 0, b"plain bytes")]),
    "a batch of an unknown table": (b'{"id": "x", "parts": 1}',
                                    [_part("x", 0, zlib.compress(b'{"nosuch": [["k", "v"]]}'))]),
    "a batch whose keys are not text": (b'{"id": "x", "parts": 1}',
                                        [_part("x", 0, zlib.compress(b'{"ledger": [[1, "v"]]}'))]),
    "a record that is not a key and a value": (b'{"id": "x", "parts": 1}',
                                                [_part("x", 0, zlib.compress(b'{"books": ["ab"]}'))]),
    "a value its table cannot read": (b'{"id": "x", "parts": 1}',
                                      [_part("x", 0, zlib.compress(b'{"books": [["P1", "x"]]}'))]),
    "parts that inflate a thousandfold": (b'{"id": "x", "parts": 1}',
                                          [_part("x", 0, zlib.compress(b'{"books": [' + b" " * 50_000_000 + b"]}"))]),
}


@pytest.mark.parametrize("case", list(UNREADABLE))
async def test_an_unreadable_pending_batch_is_refused_as_a_dead_letter_and_the_partition_goes_on(tables, case):
    """A forged or corrupt `pending` record would otherwise fail the partition at every start."""
    producer = RecordingProducer()
    await _apply(tables, producer, (0, None))
    header, parts = UNREADABLE[case]
    tables[PENDING_TABLE].data.db[PENDING_KEY] = header
    for key, raw in parts:
        tables[PENDING_TABLE].data.db[key] = raw
    before = _state(tables)

    transaction = PartitionTransaction(tables, 0)  # raised before: a crash loop
    assert _state(tables) == before  # nothing of it applied
    apply_transaction(transaction.store, make_tx("BUY", quantity=10, price=10, transaction_id="B1"), 1,
                      FxBook().rate)
    await transaction.flush(producer)

    [(key, value)] = producer.topics["dead_letters"]
    letter = orjson.loads(value)
    assert (key, letter["reason"], letter["source_topic"], letter["partition"]) == (
        PENDING_KEY, "invalid_pending_batch", "pending-changelog", 0)
    assert "cannot be read" in letter["detail"]
    assert list(tables[PENDING_TABLE].data.db.keys()) == []  # header and parts gone, locally
    deleted = {k for k, v in producer.topics["pending-changelog"] if v is None}
    assert {PENDING_KEY, *(k for k, _ in parts)} <= deleted  # and on the changelog
    positions = [orjson.loads(v) for v in tables["positions"].data.db.values()]
    assert [(p["security_id"], p["quantity"]) for p in positions] == [("SEC", "10")]


async def test_an_unreadable_pending_batch_with_no_batch_after_it_is_still_reported_and_deleted(tables):
    producer = RecordingProducer()
    tables[PENDING_TABLE].data.db[PENDING_KEY] = b"garbage"

    await PartitionTransaction(tables, 0).flush(producer)  # as a live read finishing a cut-short batch does

    assert [orjson.loads(v)["reason"] for _, v in producer.topics["dead_letters"]] == ["invalid_pending_batch"]
    assert tables[PENDING_TABLE].data.db.get(PENDING_KEY) is None
