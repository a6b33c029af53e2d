"""The sink isolates a record the database refuses (dead-lettered, the rest of its batch written), and relays series marks beside its write loop."""
from __future__ import annotations

import asyncio
import contextlib

import orjson

from core.ledger import apply_transaction, define_portfolio
from core.store import MemoryStore
from sink.runner import Sink
from tests.core.factories import make_tx
from tests.sink.test_writer import CHANGELOGS, Record, changelog


def ledger_records(*transaction_ids: str) -> list[Record]:
    store = MemoryStore()
    define_portfolio(store, {"portfolio_id": "P1", "name": "P", "base_currency": "USD",
                             "cost_method": "FIFO", "open_date": "2024-01-01"}, 0)
    for arrival, tid in enumerate(transaction_ids, start=1):
        apply_transaction(store, make_tx("DEPOSIT", security=None, amount="100", transaction_id=tid),
                          arrival, lambda *a: None)
    return ([changelog("books", b) for b in store.portfolios.values()]
            + [changelog("ledger", t) for t in store.txs.values()]
            + [changelog("cash", c) for c in store.cash.values()])


async def test_a_nul_in_a_transaction_id_is_dead_lettered_and_the_rest_of_the_batch_is_stored(db, sink_database_url):
    # Issue 7, item 1: this record crash-looped the sink (CharacterNotInRepertoireError) for ever.
    records = ledger_records("T1", "a\x00b", "T3")
    unreadable = Record(next(iter(CHANGELOGS)), 0, 999, b"k", b"{not json")
    sink = Sink("unused:9092", sink_database_url)
    letters, _ = await sink._write_records([*records, unreadable])
    await sink._conn.close()

    assert sorted((letter["reason"], letter["offset"]) for letter in letters) == sorted(
        [("sink_rejected", records[2].offset), ("sink_rejected", 999)])
    assert "CharacterNotInRepertoireError" in next(x["detail"] for x in letters if x["offset"] != 999)
    assert sorted(r["transaction_id"] for r in await db.fetch("SELECT transaction_id FROM transactions")) == [
        "T1", "T3"]
    assert await db.fetchval("SELECT balance FROM cash_balances") == 300
    assert await db.fetchval("SELECT count(*) FROM portfolios") == 1


async def test_garbage_on_the_dead_letter_topic_becomes_a_letter_the_sink_can_store(db, sink_database_url):
    garbage = Record("dead_letters", 1, 17, b"\x00", b'{"reason": 42}')
    sink = Sink("unused:9092", sink_database_url)
    letters, _ = await sink._write_records([garbage])
    # Stored as the sink will find it on the topic: once, and without another rejection.
    again, _ = await sink._write_records([Record("dead_letters", 0, 0, b"k", orjson.dumps(letters[0]))])
    await sink._conn.close()

    assert [(x["source_topic"], x["partition"], x["offset"], x["reason"]) for x in letters] == [
        ("dead_letters", 1, 17, "sink_rejected")]
    assert again == []
    row = await db.fetchrow("SELECT raw_value, reason, key_encoding FROM dead_letters")
    assert (row["raw_value"], row["reason"], row["key_encoding"]) == ('{"reason": 42}', "sink_rejected", "base64")


class HeldProducer:
    """Takes series marks like the sink's producer; `flush` waits until the test releases it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.release = asyncio.Event()

    async def send(self, topic, key=None, value=None):
        self.sent.append((topic, key, value))

    async def flush(self):
        await self.release.wait()


async def test_series_marks_are_relayed_beside_the_write_loop_on_their_own_connection(db, sink_database_url):
    sink = Sink("unused:9092", sink_database_url)
    sink._producer = producer = HeldProducer()
    await db.execute("INSERT INTO series_marks (portfolio_id, from_date, to_date) VALUES ('P1', '2024-01-02', NULL)")
    relay = asyncio.create_task(sink._relay_when_due())
    try:
        sink._marks_due.set()
        while not producer.sent:
            await asyncio.sleep(0.01)
        # The relay waits for the broker; the write loop's connection is free meanwhile.
        letters, _ = await sink._write_records(ledger_records("T1"))
        assert letters == [] and await db.fetchval("SELECT count(*) FROM transactions") == 1
        assert await db.fetchval("SELECT count(*) FROM series_marks") >= 1  # not deleted before the broker has it
        producer.release.set()
        while await db.fetchval("SELECT count(*) FROM series_marks"):
            sink._marks_due.set()
            await asyncio.sleep(0.01)
        assert {(topic, key) for topic, key, _ in producer.sent} == {("series_marks", b"P1")}
    finally:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
        for conn in (sink._conn, sink._relay_conn):
            if conn is not None:
                await conn.close()


async def test_a_failing_stream_log_prune_of_any_kind_is_logged_and_never_escapes_a_committed_write(monkeypatch, caplog):
    # A ValueError is a "record fault" to the write loop: escaping, it would dead-letter records already written.
    async def broken(conn):
        raise ValueError("settings unreadable")
    monkeypatch.setattr("sink.runner.stream_log.prune_if_due", broken)
    await Sink._prune_stream_log(None)
    assert "pruning the stream log failed" in caplog.text


async def test_a_nul_in_a_portfolio_or_a_history_day_is_dead_lettered_and_the_rest_is_stored_and_marked(
        db, sink_database_url):
    # The rows that mark series since this stop (a portfolio created, a day that changed) meet
    # hostile text like every other row: the record is set aside, the batch and its marks go in.
    from core.records import DayState, PortfolioState
    from tests.core.factories import D

    poisoned_book = changelog("books", PortfolioState("P\x00X", {
        "portfolio_id": "P\x00X", "name": "P", "base_currency": "USD", "cost_method": "FIFO",
        "open_date": "2024-01-01"}, seq=1, applied=1))
    poisoned_day = changelog("days", DayState("P1", "S\x00", "2024-01-02", None, D("1e99"), D("1e-99"), D("0"),
                                              D("0"), D("0"), listed=True, currency="USD", seq=1, applied=1))
    records = [*ledger_records("T1"), poisoned_book, poisoned_day]
    sink = Sink("unused:9092", sink_database_url)
    letters, _ = await sink._write_records(records)
    await sink._conn.close()

    assert sorted(letter["offset"] for letter in letters) == sorted([poisoned_book.offset, poisoned_day.offset])
    assert {letter["reason"] for letter in letters} == {"sink_rejected"}
    assert [r["portfolio_id"] for r in await db.fetch("SELECT portfolio_id FROM portfolios")] == ["P1"]
    assert await db.fetchval("SELECT count(*) FROM position_history") == 0
    # P1's row was created: its whole series is stale.
    assert [tuple(r) for r in await db.fetch("SELECT portfolio_id, from_date, to_date FROM series_marks")] == [
        ("P1", None, None)]
