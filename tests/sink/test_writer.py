"""The sink's writes: idempotent on seq and source offset, history rewritten from the changed date."""
from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass
from decimal import Decimal

import orjson

from core.ledger import apply_transaction, define_portfolio
from core.records import DayState
from core.store import MemoryStore
from core.stored import encode
from sink.runner import build_batch, changelog_topics
from sink.writer import write_batch
from streams.dead_letters import dead_letter
from tests.core.factories import D, cancel, make_tx

CHANGELOGS = changelog_topics("folio")
TOPIC = {table: topic for topic, table in CHANGELOGS.items()}
_offsets = itertools.count()


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def changelog(table: str, state) -> Record:
    return Record(TOPIC[table], 0, next(_offsets), b"k", encode(state))


class Ledger:
    """A one-portfolio ledger whose records can be snapshotted as changelog records."""

    def __init__(self):
        self.store = MemoryStore()
        self.arrival = itertools.count(1)
        define_portfolio(self.store, {"portfolio_id": "P1", "name": "P", "base_currency": "USD",
                                      "cost_method": "FIFO", "open_date": "2024-01-01"}, 0)

    def apply(self, tx):
        apply_transaction(self.store, tx, next(self.arrival), lambda *a: None)
        return tx

    def records(self) -> list[Record]:
        s = self.store
        return ([changelog("books", b) for b in s.portfolios.values()]
                + [changelog("ledger", t) for t in s.txs.values()]
                + [changelog("positions", p) for p in s.positions.values()]
                + [changelog("cash", c) for c in s.cash.values()]
                + [changelog("days", d) for days in s.days.values() for d in days.values()])


async def _position(db, security="SEC"):
    return await db.fetchrow("SELECT quantity, cost_local, realized_local, seq FROM positions"
                             " WHERE portfolio_id = 'P1' AND security_id = $1", security)


async def _history(db):
    return [tuple(r) for r in await db.fetch(
        "SELECT date::text, quantity, cost_local, realized_local FROM position_history ORDER BY date")]


async def test_a_replayed_older_changelog_record_never_moves_a_row_backwards(db):
    ledger = Ledger()
    ledger.apply(make_tx("BUY", quantity=10, price=100, trade_date="2024-01-01"))
    older = ledger.records()
    ledger.apply(make_tx("SELL", quantity=4, price=120, trade_date="2024-01-02"))
    newer = ledger.records()

    await write_batch(db, build_batch(older, CHANGELOGS))
    await write_batch(db, build_batch(newer, CHANGELOGS))
    await write_batch(db, build_batch(older, CHANGELOGS))  # a replay after a crash

    # 10 @ 100 less 4 by FIFO: 6 left at 600; realized 4 × (120 − 100) = 80; cash −1000 + 480.
    position = await _position(db)
    assert (position["quantity"], position["cost_local"], position["realized_local"]) == (6, 600, 80)
    assert await db.fetchval("SELECT balance FROM cash_balances WHERE currency = 'USD'") == Decimal(-520)
    assert await db.fetchval("SELECT count(*) FROM transactions") == 2


async def test_a_back_dated_trade_rewrites_history_from_its_date_on(db):
    ledger = Ledger()
    ledger.apply(make_tx("BUY", quantity=10, price=100, trade_date="2024-01-01"))
    ledger.apply(make_tx("BUY", quantity=5, price=110, trade_date="2024-01-03"))
    await write_batch(db, build_batch(ledger.records(), CHANGELOGS))
    ledger.apply(make_tx("SELL", quantity=4, price=120, trade_date="2024-01-02"))
    await write_batch(db, build_batch(ledger.records(), CHANGELOGS))

    # d1: 10 @ 100 = 1000; d2: sell 4 FIFO → 6 / 600, realized 80; d3: + 5 @ 110 → 11 / 1150.
    assert await _history(db) == [("2024-01-01", 10, 1000, 0), ("2024-01-02", 6, 600, 80),
                                  ("2024-01-03", 11, 1150, 80)]


async def test_a_compacted_changelog_still_gives_every_days_latest_row(db):
    ledger = Ledger()
    ledger.apply(make_tx("BUY", quantity=10, price=100, trade_date="2024-01-05"))
    await write_batch(db, build_batch(ledger.records(), CHANGELOGS))
    # Two changes, of which the sink sees only each key's last record (as after compaction):
    ledger.apply(make_tx("BUY", quantity=1, price=90, trade_date="2024-01-01"))
    ledger.apply(make_tx("BUY", quantity=2, price=95, trade_date="2024-01-09"))
    await write_batch(db, build_batch(ledger.records(), CHANGELOGS))

    # d1: 1 @ 90; d5: + 10 @ 100 → 11 / 1090; d9: + 2 @ 95 → 13 / 1280.
    assert await _history(db) == [("2024-01-01", 1, 90, 0), ("2024-01-05", 11, 1090, 0),
                                  ("2024-01-09", 13, 1280, 0)]


async def test_a_day_whose_only_trade_is_cancelled_leaves_the_history_by_its_tombstone(db):
    ledger = Ledger()
    ledger.apply(make_tx("BUY", quantity=10, price=100, trade_date="2024-01-01"))
    late = ledger.apply(make_tx("BUY", quantity=5, price=110, trade_date="2024-01-03"))
    await write_batch(db, build_batch(ledger.records(), CHANGELOGS))
    ledger.apply(cancel(late, 2))
    tombstone = Record(TOPIC["days"], 0, next(_offsets), "P1\x1fSEC\x1f2024-01-03".encode(), None)
    await write_batch(db, build_batch([*ledger.records(), tombstone], CHANGELOGS))
    assert await _history(db) == [("2024-01-01", 10, 1000, 0)]


async def test_a_dead_letter_is_stored_once_per_source_offset(db):
    letter = {"source_topic": "transactions", "partition": 2, "offset": 41, "key": "P1", "raw_value": "{",
              "reason": "invalid_json", "field": None, "transaction_id": None, "detail": "x",
              "dead_lettered_at": "2026-01-01T00:00:00Z"}
    records = [Record("dead_letters", 0, n, b"P1", orjson.dumps(letter)) for n in range(3)]
    await write_batch(db, build_batch(records[:2], CHANGELOGS))
    await write_batch(db, build_batch(records[2:], CHANGELOGS))
    assert await db.fetchval("SELECT count(*) FROM dead_letters") == 1


async def test_a_dead_letter_whose_raw_value_holds_nul_is_stored_exactly(db):
    # Item 1 of issue 7: a raw value with a NUL byte crash-looped the sink for ever.
    raw = b'{"transaction_id":"a\x00b","portfolio_id":"P1"}'
    letter = dead_letter("transactions", 0, 5, b"P1", raw, "invalid_json", None, "not UTF-8 JSON")
    await write_batch(db, build_batch([Record("dead_letters", 0, 0, b"P1", orjson.dumps(letter))], CHANGELOGS))
    row = await db.fetchrow("SELECT raw_value, raw_encoding, raw_size, raw_truncated FROM dead_letters")
    assert (base64.b64decode(row["raw_value"]), row["raw_encoding"], row["raw_size"], row["raw_truncated"]) == (
        raw, "base64", 44, False)


async def test_a_letter_from_older_code_with_nul_in_its_text_is_stored(db):
    letter = {"source_topic": "transactions", "partition": 2, "offset": 41, "key": "P\x001",
              "raw_value": "{\"transaction_id\":\"a\x00b\"}", "reason": "invalid_event", "field": "transaction_id",
              "transaction_id": "a\x00b", "detail": "x\x00", "dead_lettered_at": "2026-01-01T00:00:00Z"}
    await write_batch(db, build_batch([Record("dead_letters", 0, 0, b"P1", orjson.dumps(letter))], CHANGELOGS))
    row = await db.fetchrow("SELECT key, key_encoding, raw_value, transaction_id, detail FROM dead_letters")
    assert base64.b64decode(row["raw_value"]) == b'{"transaction_id":"a\x00b"}'
    assert (base64.b64decode(row["key"]), row["key_encoding"]) == (b"P\x001", "base64")
    assert (row["transaction_id"], row["detail"]) == ("a\\x00b", "x\\x00")


async def test_a_price_correction_wins_and_a_replay_of_the_original_does_not(db):
    def price(offset, value):
        return Record("prices", 1, offset, b"S1",
                      b'{"security_id":"S1","price_date":"2024-01-02","price":"%s"}' % value.encode())

    await write_batch(db, build_batch([price(5, "10.00"), price(9, "10.50")], CHANGELOGS))
    await write_batch(db, build_batch([price(5, "10.00")], CHANGELOGS))
    assert await db.fetchval("SELECT price FROM prices WHERE security_id = 'S1'") == Decimal("10.50")


async def _realized_lots(db):
    return [tuple(r) for r in await db.fetch(
        "SELECT transaction_id, item, lot_transaction_id, open_date::text, close_date::text, quantity,"
        " proceeds_local, cost_local, gain_local, gain_base FROM realized_lots ORDER BY transaction_id, item")]


async def test_a_closing_trades_realized_lots_follow_its_latest_record_and_a_late_replay_changes_none(db):
    ledger = Ledger()
    ledger.apply(make_tx("BUY", quantity=10, price=100, trade_date="2024-01-01", transaction_id="B1"))
    ledger.apply(make_tx("BUY", quantity=10, price=110, trade_date="2024-01-02", transaction_id="B2"))
    sell = ledger.apply(make_tx("SELL", quantity=15, price=120, fees=3, trade_date="2024-01-05",
                                transaction_id="S1"))
    first = ledger.records()
    await write_batch(db, build_batch(first, CHANGELOGS))
    # Net proceeds 15 × 120 − 3 = 1797: 10/15 → 1198 against B1's 1000; 599 against 5 of B2 (550).
    assert await _realized_lots(db) == [
        ("S1", 0, "B1", "2024-01-01", "2024-01-05", D(10), D(1198), D(1000), D(198), D(198)),
        ("S1", 1, "B2", "2024-01-02", "2024-01-05", D(5), D(599), D(550), D(49), D(49))]

    ledger.apply(cancel(sell, 2))
    await write_batch(db, build_batch(ledger.records(), CHANGELOGS))
    assert await _realized_lots(db) == []
    await write_batch(db, build_batch(first, CHANGELOGS))  # the older record replayed after a crash
    assert await _realized_lots(db) == []


async def test_a_days_tombstone_without_a_readable_key_is_set_aside_and_the_rest_is_written(db):
    ledger = Ledger()
    ledger.apply(make_tx("BUY", quantity=10, price=100, trade_date="2024-01-01"))
    bad = [Record(TOPIC["days"], 0, next(_offsets), key, None) for key in (None, b"\xff\xfe", b"P1-no-separator")]
    rejected: list = []
    await write_batch(db, build_batch([*ledger.records(), *bad], CHANGELOGS, rejected))
    assert [type(exc) for _, exc in rejected] == [ValueError, UnicodeDecodeError, ValueError]
    assert await _history(db) == [("2024-01-01", 10, 1000, 0)]


async def test_a_day_rewritten_with_an_equal_figure_of_another_scale_keeps_the_changelogs_text(db):
    # The history mirrors the worker's state to the digit: 10 and 10.0 are one value but two texts.
    def day(quantity: str) -> Record:
        state = DayState("P1", "SEC", "2024-01-02", None, D(quantity), D("1000"), D("1000"), D("0"), D("0"),
                         listed=True, currency="USD", seq=1, applied=1)
        return changelog("days", state)

    await write_batch(db, build_batch([day("10")], CHANGELOGS))
    await write_batch(db, build_batch([day("10.0")], CHANGELOGS))

    assert await db.fetchval("SELECT quantity::text FROM position_history") == "10.0"
