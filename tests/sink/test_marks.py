"""Series marks: which portfolios' daily series a sink batch staled, and from which date to which.

Batches are built from records as the sink receives them (changelog states and
reference events) and written with `write_batch` into a real PostgreSQL; the
marks are read back from `series_marks`, written in the same transaction.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import orjson
import pytest

from core.records import PortfolioState, TxRecord
from core.stored import encode
from sink.marks import coalesce
from sink.rows import Batch
from sink.runner import build_batch, changelog_topics
from sink.writer import write_batch
from tests.core.factories import cancel, make_tx
from tests.sink.test_writer import TOPIC as WRITER_TOPIC, Ledger

CHANGELOGS = changelog_topics("folio")
LEDGER_TOPIC = next(topic for topic, table in CHANGELOGS.items() if table == "ledger")
_offsets = itertools.count(1000)
FAR = date(2024, 12, 31)  # a market horizon beyond every date used: no horizon marks unless a test moves it


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def tx_record(portfolio_id: str, transaction_id: str, trade_date: str, seq: int, *, version: int = 1) -> Record:
    """The ledger changelog record of a booked DEPOSIT of 100 USD."""
    fields = make_tx("DEPOSIT", security=None, amount=100, trade_date=trade_date, transaction_id=transaction_id,
                     portfolio=portfolio_id, version=version)
    state = TxRecord(fields, arrival=seq, fx=Decimal(1), cash={"USD": Decimal(100)}, seq=seq)
    return Record(LEDGER_TOPIC, 0, next(_offsets), portfolio_id.encode(), encode(state))


def cancel_record(portfolio_id: str, transaction_id: str, seq: int, version: int) -> Record:
    booked = make_tx("DEPOSIT", security=None, amount=100, transaction_id=transaction_id, portfolio=portfolio_id)
    state = TxRecord(cancel(booked, version), arrival=seq, fx=None, seq=seq)
    return Record(LEDGER_TOPIC, 0, next(_offsets), portfolio_id.encode(), encode(state))


def price_record(security_id: str, day: str, price: str = "10", offset: int | None = None) -> Record:
    value = {"security_id": security_id, "price_date": day, "price": price}
    return Record("prices", 0, next(_offsets) if offset is None else offset, security_id.encode(),
                  orjson.dumps(value))


def fx_record(from_ccy: str, to_ccy: str, day: str, rate: str = "1.1") -> Record:
    value = {"from_currency": from_ccy, "to_currency": to_ccy, "rate_date": day, "rate": rate}
    return Record("fx_rates", 0, next(_offsets), f"{from_ccy}/{to_ccy}".encode(), orjson.dumps(value))


async def write(db, *records: Record) -> int:
    return await write_batch(db, build_batch(records, CHANGELOGS))


async def marks(db) -> list[tuple]:
    return [tuple(r) for r in await db.fetch(
        "SELECT portfolio_id, from_date, to_date FROM series_marks ORDER BY portfolio_id, from_date NULLS FIRST")]


async def clear_marks(db) -> None:
    await db.execute("DELETE FROM series_marks")


async def given_portfolio(db, portfolio_id: str, base_currency: str = "USD") -> None:
    await db.execute("INSERT INTO portfolios (portfolio_id, name, base_currency, cost_method, open_date, seq)"
                     " VALUES ($1, $1, $2, 'FIFO', '2024-01-01', 1)", portfolio_id, base_currency)


async def given_position(db, portfolio_id: str, security_id: str, currency: str = "USD") -> None:
    await db.execute("INSERT INTO positions VALUES ($1, $2, $3, 1, 10, 10, 0, 0, true, 1)",
                     portfolio_id, security_id, currency)


async def given_cash(db, portfolio_id: str, currency: str) -> None:
    await db.execute("INSERT INTO cash_balances VALUES ($1, $2, 100, 1, 1)", portfolio_id, currency)


async def given_price(db, security_id: str, day: date) -> None:
    await db.execute("INSERT INTO prices VALUES ($1, $2, 10, NULL, 0, $3)", security_id, day, next(_offsets))


async def given_fx(db, from_ccy: str, to_ccy: str, day: date) -> None:
    await db.execute("INSERT INTO fx_rates VALUES ($1, $2, $3, 1.1, 0, $4)", from_ccy, to_ccy, day, next(_offsets))


async def given_horizon(db, day: date) -> None:
    await db.execute("INSERT INTO market_horizon (singleton, horizon) VALUES (true, $1)"
                     " ON CONFLICT (singleton) DO UPDATE SET horizon = EXCLUDED.horizon", day)


async def horizon(db) -> date | None:
    return await db.fetchval("SELECT horizon FROM market_horizon")


# --- position history --------------------------------------------------------------------------------

def _without_days(records: list) -> list:
    return [r for r in records if r.topic != WRITER_TOPIC["days"]]


def _days(records: list) -> list:
    return [r for r in records if r.topic == WRITER_TOPIC["days"]]


async def given_booked_position(db) -> Ledger:
    """P1 holding 10 SEC bought on 2024-01-05, stored, its marks cleared."""
    ledger = Ledger()
    ledger.apply(make_tx("BUY", quantity=10, price=100, trade_date="2024-01-05", portfolio="P1"))
    await given_horizon(db, FAR)
    await write(db, *ledger.records())
    await clear_marks(db)
    return ledger


async def test_days_reaching_the_sink_after_their_position_mark_their_portfolio_from_the_earliest_changed_day(db):
    # A worker cut short after the position's record but before its days (its successor
    # sends the days later), or two polls of the sink: the position's mark is spent by then.
    ledger = await given_booked_position(db)
    ledger.apply(make_tx("BUY", quantity=2, price=95, trade_date="2024-01-02", portfolio="P1"))
    await write(db, *_without_days(ledger.records()))
    await clear_marks(db)

    await write(db, *_days(ledger.records()))

    # 2024-01-02 is a new day and 2024-01-05 became 12 shares: the series is stale from the 2nd.
    assert await marks(db) == [("P1", date(2024, 1, 2), None)]


async def test_days_replayed_unchanged_mark_nothing(db):
    ledger = await given_booked_position(db)

    assert await write(db, *ledger.records()) == 0
    assert await marks(db) == []


async def test_a_days_tombstone_marks_its_portfolio_from_the_deleted_day(db):
    ledger = await given_booked_position(db)

    tombstone = Record(WRITER_TOPIC["days"], 0, next(_offsets), "P1\x1fSEC\x1f2024-01-05".encode(), None)
    await write(db, tombstone)

    assert await marks(db) == [("P1", date(2024, 1, 5), None)]


# --- portfolios ----------------------------------------------------------------------------------------

def books_record(portfolio_id: str, seq: int, *, base_currency: str = "USD", name: str | None = None) -> Record:
    definition = {"portfolio_id": portfolio_id, "name": name or portfolio_id, "base_currency": base_currency,
                  "cost_method": "FIFO", "open_date": "2024-01-01"}
    return Record(WRITER_TOPIC["books"], 0, next(_offsets), portfolio_id.encode(),
                  encode(PortfolioState(portfolio_id, definition, seq=seq, applied=seq)))


async def test_a_portfolio_row_reaching_the_sink_after_its_transactions_marks_its_whole_series(db):
    # Its transactions' marks were spent while the portfolio had no row (a series of nothing).
    await given_horizon(db, FAR)
    await write(db, tx_record("P9", "T1", "2024-01-05", seq=1))
    await clear_marks(db)

    await write(db, books_record("P9", seq=1))

    assert await marks(db) == [("P9", None, None)]


async def test_a_replayed_or_renamed_portfolio_marks_nothing_and_a_new_base_currency_marks_everything(db):
    await given_horizon(db, FAR)
    await write(db, books_record("P9", seq=1))
    await clear_marks(db)

    await write(db, books_record("P9", seq=1))
    await write(db, books_record("P9", seq=2, name="renamed"))
    assert await marks(db) == []

    await write(db, books_record("P9", seq=3, base_currency="EUR"))
    assert await marks(db) == [("P9", None, None)]


# --- transactions ------------------------------------------------------------------------------------

async def test_a_new_transaction_marks_its_portfolio_from_its_trade_date_on(db):
    await given_portfolio(db, "P1")
    await given_portfolio(db, "P2")
    await given_horizon(db, FAR)

    stored = await write(db, tx_record("P1", "T1", "2024-01-05", seq=1))

    assert stored == 1
    assert await marks(db) == [("P1", date(2024, 1, 5), None)]


async def test_an_amendment_to_an_earlier_date_marks_from_the_new_date(db):
    await given_portfolio(db, "P1")
    await given_horizon(db, FAR)
    await write(db, tx_record("P1", "T1", "2024-01-10", seq=1))
    await clear_marks(db)

    await write(db, tx_record("P1", "T1", "2024-01-05", seq=2, version=2))

    # min(old 01-10, new 01-05) = 01-05.
    assert await marks(db) == [("P1", date(2024, 1, 5), None)]


async def test_an_amendment_to_a_later_date_marks_from_the_old_date(db):
    await given_portfolio(db, "P1")
    await given_horizon(db, FAR)
    await write(db, tx_record("P1", "T1", "2024-01-05", seq=1))
    await clear_marks(db)

    await write(db, tx_record("P1", "T1", "2024-01-20", seq=2, version=2))

    # The value of 01-05 .. 01-19 changes too (the flow left those dates): min(01-05, 01-20) = 01-05.
    assert await marks(db) == [("P1", date(2024, 1, 5), None)]


async def test_a_cancellation_marks_from_the_cancelled_transactions_date(db):
    await given_portfolio(db, "P1")
    await given_horizon(db, FAR)
    await write(db, tx_record("P1", "T1", "2024-01-10", seq=1))
    await clear_marks(db)

    await write(db, cancel_record("P1", "T1", seq=2, version=2))

    assert await marks(db) == [("P1", date(2024, 1, 10), None)]


async def test_a_replayed_transaction_record_marks_nothing(db):
    await given_portfolio(db, "P1")
    await given_horizon(db, FAR)
    record = tx_record("P1", "T1", "2024-01-05", seq=1)
    await write(db, record)
    await clear_marks(db)

    stored = await write(db, record)

    assert stored == 0
    assert await marks(db) == []


async def test_an_older_transaction_record_replayed_after_a_newer_one_marks_nothing(db):
    await given_portfolio(db, "P1")
    await given_horizon(db, FAR)
    older = tx_record("P1", "T1", "2024-01-05", seq=1)
    await write(db, older)
    await write(db, tx_record("P1", "T1", "2024-01-08", seq=2, version=2))
    await clear_marks(db)

    assert await write(db, older) == 0
    assert await marks(db) == []
    assert await db.fetchval("SELECT trade_date FROM transactions") == date(2024, 1, 8)


# --- prices --------------------------------------------------------------------------------------------

@pytest.fixture
async def holders(db):
    """P1 and P2 hold S, P3 holds T only; S is priced on 01-02 and 01-10."""
    for portfolio_id in ("P1", "P2", "P3"):
        await given_portfolio(db, portfolio_id)
    await given_position(db, "P1", "S")
    await given_position(db, "P2", "S")
    await given_position(db, "P3", "T")
    await given_price(db, "S", date(2024, 1, 2))
    await given_price(db, "S", date(2024, 1, 10))
    await given_horizon(db, FAR)
    return db


async def test_a_price_marks_every_holder_up_to_the_day_before_the_next_price(holders):
    db = holders
    await write(db, price_record("S", "2024-01-05"))

    # S's next price is on 01-10: dates 01-05 .. 01-09 use the new price. P3 does not hold S.
    assert await marks(db) == [("P1", date(2024, 1, 5), date(2024, 1, 9)),
                               ("P2", date(2024, 1, 5), date(2024, 1, 9))]


async def test_a_price_correction_marks_up_to_the_day_before_the_next_price(holders):
    db = holders
    await write(db, price_record("S", "2024-01-02", "11"))

    assert await marks(db) == [("P1", date(2024, 1, 2), date(2024, 1, 9)),
                               ("P2", date(2024, 1, 2), date(2024, 1, 9))]


async def test_a_price_on_the_latest_date_has_an_open_end(holders):
    db = holders
    await write(db, price_record("S", "2024-01-15"))

    assert await marks(db) == [("P1", date(2024, 1, 15), None), ("P2", date(2024, 1, 15), None)]


async def test_a_price_of_a_security_nobody_holds_marks_nothing(holders):
    db = holders
    assert await write(db, price_record("U", "2024-01-05")) == 0
    assert await marks(db) == []


async def test_a_replayed_price_record_marks_nothing(holders):
    db = holders
    record = price_record("S", "2024-01-05", offset=77)
    await write(db, record)
    await clear_marks(db)

    await write(db, record)

    assert await marks(db) == []


# --- FX rates ---------------------------------------------------------------------------------------------

@pytest.fixture
async def exposed(db):
    """PA: base USD. PB: base GBP, a EUR position. PC: base GBP, USD cash. PD: GBP only.

    EUR/USD is quoted on 01-02 and 01-12; the inverse USD/EUR on 01-08.
    """
    await given_portfolio(db, "PA", "USD")
    await given_portfolio(db, "PB", "GBP")
    await given_position(db, "PB", "SAP", "EUR")
    await given_portfolio(db, "PC", "GBP")
    await given_cash(db, "PC", "USD")
    await given_portfolio(db, "PD", "GBP")
    await given_position(db, "PD", "VOD", "GBP")
    await given_cash(db, "PD", "GBP")
    await given_fx(db, "EUR", "USD", date(2024, 1, 2))
    await given_fx(db, "USD", "EUR", date(2024, 1, 8))
    await given_fx(db, "EUR", "USD", date(2024, 1, 12))
    await given_horizon(db, FAR)
    return db


async def test_an_fx_rate_marks_the_portfolios_exposed_to_either_currency_up_to_the_next_quote_in_either_direction(
        exposed):
    db = exposed
    await write(db, fx_record("EUR", "USD", "2024-01-05"))

    # The next quote of the pair is the inverse USD/EUR on 01-08: the new rate rules 01-05 .. 01-07.
    # PA by its base, PB by its EUR position, PC by its USD cash; PD is exposed to neither.
    span = (date(2024, 1, 5), date(2024, 1, 7))
    assert await marks(db) == [("PA", *span), ("PB", *span), ("PC", *span)]


async def test_an_inverse_quote_is_bounded_by_the_next_direct_quote(exposed):
    db = exposed
    await write(db, fx_record("USD", "EUR", "2024-01-09"))

    span = (date(2024, 1, 9), date(2024, 1, 11))
    assert await marks(db) == [("PA", *span), ("PB", *span), ("PC", *span)]


async def test_an_fx_rate_on_the_latest_date_has_an_open_end(exposed):
    db = exposed
    await write(db, fx_record("EUR", "USD", "2024-01-20"))

    assert await marks(db) == [("PA", date(2024, 1, 20), None), ("PB", date(2024, 1, 20), None),
                               ("PC", date(2024, 1, 20), None)]


async def test_an_fx_rate_of_currencies_nobody_uses_marks_nothing(exposed):
    db = exposed
    assert await write(db, fx_record("JPY", "CHF", "2024-01-05")) == 0
    assert await marks(db) == []


# --- the market horizon ---------------------------------------------------------------------------------------

async def test_the_horizon_moving_on_marks_every_portfolio_for_the_new_dates(db):
    await given_portfolio(db, "P1")
    await given_portfolio(db, "P2")
    await given_horizon(db, date(2024, 1, 10))

    await write(db, price_record("UNHELD", "2024-01-15"))

    # H = 01-10 → H' = 01-15: every portfolio gains 01-11 .. 01-15.
    assert await marks(db) == [("P1", date(2024, 1, 11), date(2024, 1, 15)),
                               ("P2", date(2024, 1, 11), date(2024, 1, 15))]
    assert await horizon(db) == date(2024, 1, 15)


async def test_the_horizon_not_moving_marks_nothing(db):
    await given_portfolio(db, "P1")
    await given_horizon(db, date(2024, 1, 10))

    assert await write(db, price_record("UNHELD", "2024-01-10"), price_record("UNHELD", "2024-01-09")) == 0
    assert await marks(db) == []
    assert await horizon(db) == date(2024, 1, 10)


async def test_the_first_horizon_marks_every_portfolio_up_to_it(db):
    await given_portfolio(db, "P1")

    await write(db, fx_record("JPY", "CHF", "2024-01-05"))

    assert await marks(db) == [("P1", None, date(2024, 1, 5))]
    assert await horizon(db) == date(2024, 1, 5)


async def test_a_transaction_after_the_market_horizon_marks_only_its_own_portfolio(db):
    await given_portfolio(db, "P1")
    await given_portfolio(db, "P2")
    await given_horizon(db, date(2024, 1, 10))

    await write(db, tx_record("P1", "T1", "2024-01-12", seq=1))

    # P1 from its trade date on (the series fills 01-11 itself); P2 is not touched and the
    # market horizon stays at the latest price or FX date.
    assert await marks(db) == [("P1", date(2024, 1, 12), None)]
    assert await horizon(db) == date(2024, 1, 10)


async def test_a_portfolio_horizon_is_the_market_horizon_or_its_latest_booked_trade_date(db):
    await given_portfolio(db, "P1")
    await given_portfolio(db, "P2")
    await given_horizon(db, date(2024, 1, 10))
    await write(db, tx_record("P1", "T1", "2024-01-12", seq=1), tx_record("P2", "T2", "2024-01-03", seq=2))

    portfolio_horizon = "SELECT portfolio_horizon($1)"
    assert await db.fetchval(portfolio_horizon, "P1") == date(2024, 1, 12)
    assert await db.fetchval(portfolio_horizon, "P2") == date(2024, 1, 10)

    await write(db, cancel_record("P1", "T1", seq=3, version=2))
    assert await db.fetchval(portfolio_horizon, "P1") == date(2024, 1, 10)


# --- coalescing ------------------------------------------------------------------------------------------------------

async def test_several_marks_of_one_portfolio_are_stored_as_one_covering_range(holders):
    db = holders
    await given_position(db, "P1", "T")
    await given_price(db, "T", date(2024, 1, 20))

    stored = await write(db, price_record("S", "2024-01-05"), price_record("T", "2024-01-15"))

    # P1: S 01-05 .. 01-09 and T 01-15 .. 01-19 → 01-05 .. 01-19. P2 (S): 01-05 .. 01-09.
    # P3 (T): 01-15 .. 01-19.
    assert stored == 3
    assert await marks(db) == [("P1", date(2024, 1, 5), date(2024, 1, 19)),
                               ("P2", date(2024, 1, 5), date(2024, 1, 9)),
                               ("P3", date(2024, 1, 15), date(2024, 1, 19))]


async def test_a_transaction_and_a_price_of_one_portfolio_coalesce_into_an_open_range(holders):
    db = holders
    stored = await write(db, tx_record("P1", "T1", "2024-01-08", seq=1), price_record("S", "2024-01-03"))

    # P1: price 01-03 .. 01-09 and transaction 01-08 → open: 01-03 → open. P2: the price only.
    assert stored == 2
    assert await marks(db) == [("P1", date(2024, 1, 3), None), ("P2", date(2024, 1, 3), date(2024, 1, 9))]


D = date


@pytest.mark.parametrize(("given", "expected"), [
    ([], []),
    ([("P1", D(2024, 1, 5), D(2024, 1, 9))], [("P1", D(2024, 1, 5), D(2024, 1, 9))]),
    # disjoint ranges: the range covering both
    ([("P1", D(2024, 1, 15), D(2024, 1, 19)), ("P1", D(2024, 1, 5), D(2024, 1, 9))],
     [("P1", D(2024, 1, 5), D(2024, 1, 19))]),
    # an open start wins
    ([("P1", D(2024, 1, 5), D(2024, 1, 9)), ("P1", None, D(2024, 1, 3))], [("P1", None, D(2024, 1, 9))]),
    # an open end wins
    ([("P1", D(2024, 1, 5), None), ("P1", D(2024, 1, 2), D(2024, 1, 3))], [("P1", D(2024, 1, 2), None)]),
    ([("P1", None, None), ("P1", D(2024, 1, 2), D(2024, 1, 3))], [("P1", None, None)]),
    # portfolios apart, in order of first appearance
    ([("P2", D(2024, 1, 2), D(2024, 1, 2)), ("P1", D(2024, 1, 7), None), ("P2", D(2024, 1, 4), D(2024, 1, 6))],
     [("P2", D(2024, 1, 2), D(2024, 1, 6)), ("P1", D(2024, 1, 7), None)]),
])
def test_coalesce_gives_one_covering_range_per_portfolio(given, expected):
    assert coalesce(given) == expected


# --- atomicity ------------------------------------------------------------------------------------------------------

async def test_when_storing_the_marks_fails_the_batchs_data_is_not_kept_either(db):
    await given_portfolio(db, "BOOM")
    await given_horizon(db, date(2024, 1, 10))
    # A constraint only the marks violate: the data is written first, then the marks are derived
    # (the horizon moved, a transaction added) and refused.
    await db.execute("ALTER TABLE series_marks ADD CONSTRAINT test_refuse_boom CHECK (portfolio_id <> 'BOOM')")
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await write(db, tx_record("BOOM", "T1", "2024-01-12", seq=1))
    finally:
        await db.execute("ALTER TABLE series_marks DROP CONSTRAINT test_refuse_boom")

    assert await db.fetchval("SELECT count(*) FROM transactions") == 0
    assert await marks(db) == []
    assert await horizon(db) == date(2024, 1, 10)


async def test_when_a_write_fails_midway_neither_the_data_nor_the_marks_are_kept(db):
    await given_portfolio(db, "P1")
    await given_horizon(db, date(2024, 1, 10))
    batch: Batch = build_batch([tx_record("P1", "T1", "2024-01-12", seq=1)], CHANGELOGS)
    # A dead letter without a reason (NOT NULL) fails after the transaction was upserted.
    batch.dead_letters[("transactions", 0, 1)] = ("transactions", 0, 1, "P1", "{", None, None, None, "x",
                                                   datetime(2024, 1, 12, tzinfo=UTC), "utf-8", 1, None, False,
                                                   "utf-8")

    with pytest.raises(asyncpg.NotNullViolationError):
        await write_batch(db, batch)

    assert await db.fetchval("SELECT count(*) FROM transactions") == 0
    assert await marks(db) == []
    assert await horizon(db) == date(2024, 1, 10)

    # The same batch without the bad row goes through, with its marks.
    batch.dead_letters.clear()
    await write_batch(db, batch)
    assert await db.fetchval("SELECT count(*) FROM transactions") == 1
    assert await marks(db) == [("P1", date(2024, 1, 12), None)]  # its own dates only: no market date moved
