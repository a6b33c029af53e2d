"""The ledger: duplicates, amendments, cancellations, FX of a transaction, redefinition, history.

Every expected figure is worked out by hand in the comment beside it.
"""
from __future__ import annotations

from dataclasses import replace

from core.fx import FxBook
from core.ledger import Applied, Duplicate, Rejected, apply_transaction, define_portfolio
from core.store import MemoryStore
from tests.core.factories import D, Book, cancel, lot_rows, make_tx, memory_state, redefine


def amend(tx, version, **changes):
    """A higher version of `tx` with some fields changed (amounts as strings/ints → Decimal)."""
    for name in ("quantity", "price", "amount", "fees", "fx_rate"):
        if name in changes and changes[name] is not None:
            changes[name] = D(changes[name])
    return replace(tx, version=version, **changes)


def history_rows(position):
    """History rows with the figures as Decimals (date, qty, cost_l, cost_b, real_l, real_b)."""
    return [(row[0], *(D(v) for v in row[1:])) for row in position.history]


def three_trades(book):
    """FIFO: T1 BUY 10 @ 10 (01-02), T2 BUY 10 @ 12 (01-02), T3 SELL 5 @ 15 (01-03)."""
    t1 = make_tx("BUY", quantity=10, price=10, trade_date="2024-01-02", transaction_id="T1")
    t2 = make_tx("BUY", quantity=10, price=12, trade_date="2024-01-02", transaction_id="T2")
    t3 = make_tx("SELL", quantity=5, price=15, trade_date="2024-01-03", transaction_id="T3")
    for tx in (t1, t2, t3):
        book.apply(tx)
    return t1, t2, t3


# --- Duplicates -------------------------------------------------------------------
# A duplicate must leave every record exactly as it was (memory_state compares the
# records and their stored form: lots, history, cash, realized, seq and applied), or
# the changelogs and the sink would see a change that never happened.

def test_the_same_version_again_is_a_duplicate_and_changes_nothing():
    book = Book()
    t1, t2, t3 = three_trades(book)
    before = memory_state(book.store)
    for tx in (t1, t2, t3):
        assert book.apply(tx) == Duplicate(1)
    assert memory_state(book.store) == before


def test_the_same_version_with_different_figures_is_a_duplicate_and_changes_nothing():
    # T1 v1 again but for 99 @ 50 on another date: the version decides, not the content.
    book = Book()
    t1, _, _ = three_trades(book)
    before = memory_state(book.store)
    assert book.apply(amend(t1, 1, quantity=99, price=50, trade_date="2024-01-01")) == Duplicate(1)
    assert memory_state(book.store) == before
    assert book.position().quantity == D(15)  # 10 + 10 − 5, as booked


def test_a_lower_version_after_an_amendment_is_a_duplicate_and_the_amendment_stays():
    # T1 v2 quantity 20 → position 20 + 10 − 5 = 25; v1 replayed → Duplicate(2), nothing moves.
    book = Book()
    t1, _, _ = three_trades(book)
    book.apply(amend(t1, 2, quantity=20))
    before = memory_state(book.store)
    assert book.apply(t1) == Duplicate(2)
    assert memory_state(book.store) == before
    assert book.position().quantity == D(25)


def test_every_earlier_or_equal_version_of_an_amend_cancel_rebook_chain_is_a_duplicate():
    # T1: v2 quantity 20, v3 cancelled, v4 re-booked at quantity 30 @ 11 (cost 330).
    # FIFO: T3 SELL 5 relieves T2 first now (T1 v4 arrived last on 01-02): 120 × 5/10 = 60 → 75 − 60 = 15.
    # Position 30 + 10 − 5 = 35; cash −330 − 120 + 75 = −375.  Replaying v1…v4 (and the cancel) moves nothing.
    book = Book()
    t1, _, t3 = three_trades(book)
    v2 = amend(t1, 2, quantity=20)
    v3 = cancel(t1, 3)
    v4 = amend(t1, 4, quantity=30, price=11)
    for tx in (v2, v3, v4):
        assert isinstance(book.apply(tx), Applied)
    assert (book.position().quantity, book.cash(), book.tx(t3).realized_local) == (D(35), D(-375), D(15))
    before = memory_state(book.store)
    for tx in (t1, v2, v3, v4, cancel(t1, 2), amend(t1, 4, quantity=1)):
        assert book.apply(tx) == Duplicate(4)
    assert memory_state(book.store) == before


def test_a_duplicate_of_a_cancelled_transaction_leaves_it_cancelled():
    book = Book()
    t1, _, _ = three_trades(book)
    book.apply(cancel(t1, 2))
    before = memory_state(book.store)
    assert book.apply(t1) == Duplicate(2)
    assert memory_state(book.store) == before
    assert book.tx(t1).fields.status == "CANCELLED"

# --- Amendments -------------------------------------------------------------------

def separate_days(book):
    """FIFO: B1 BUY 10 @ 10 (01-01), B2 BUY 10 @ 12 (01-02), S SELL 5 @ 15 (01-03)."""
    b1 = make_tx("BUY", quantity=10, price=10, trade_date="2024-01-01", transaction_id="B1")
    b2 = make_tx("BUY", quantity=10, price=12, trade_date="2024-01-02", transaction_id="B2")
    s = make_tx("SELL", quantity=5, price=15, trade_date="2024-01-03", transaction_id="S")
    for tx in (b1, b2, s):
        book.apply(tx)
    return b1, b2, s


def test_amending_the_price_of_a_relieved_buy_rebuilds_realized_cost_and_cash():
    # B1 price 10 → 11 (cost 110).  S FIFO relieves 5 of B1: 110 × 5/10 = 55 → realized 75 − 55 = 20.
    # Lots: B1 5 / 55, B2 10 / 120 → cost 175.  Cash −110 − 120 + 75 = −155.
    book = Book()
    b1, _, s = separate_days(book)
    assert book.tx(s).realized_local == D(25)  # before: 75 − 50
    book.apply(amend(b1, 2, price=11))
    assert book.tx(s).realized_local == D(20)
    assert book.position().cost_local == D(175)
    assert book.position().realized_local == D(20)
    assert book.cash() == D(-155)


def test_amending_the_quantity_of_a_buy_rebuilds_lots_and_cash():
    # B1 quantity 10 → 4 (cost 40).  S SELL 5 FIFO: all of B1 (40) + 1 of B2 (120 × 1/10 = 12) = 52
    # → realized 75 − 52 = 23.  Left B2 9 / 108.  Cash −40 − 120 + 75 = −85.
    book = Book()
    b1, _, s = separate_days(book)
    book.apply(amend(b1, 2, quantity=4))
    assert book.tx(s).realized_local == D(23)
    assert lot_rows(book.position()) == [("B2", "2024-01-02", D(9), D(108), D(108))]
    assert book.cash() == D(-85)


def test_amending_the_trade_date_moves_the_transaction_in_the_effective_order():
    # T1 moved from 01-02 to 01-05 (after the sell on 01-03): T3 relieves 5 of T2: 60 → 75 − 60 = 15.
    # Lots: T2 5 / 60 (01-02), T1 10 / 100 (01-05).
    book = Book()
    t1, _, t3 = three_trades(book)
    book.apply(amend(t1, 2, trade_date="2024-01-05"))
    assert book.tx(t3).realized_local == D(15)
    assert lot_rows(book.position()) == [("T2", "2024-01-02", D(5), D(60), D(60)),
                                         ("T1", "2024-01-05", D(10), D(100), D(100))]


def test_amending_the_security_rebuilds_the_old_position_and_opens_the_new_one():
    # A: T1 BUY 10 @ 10, T2 SELL 4 @ 15 (realized 60 − 40 = 20).  T1 moved to B:
    # A keeps only the SELL → short −4 at −60, realized 0;  B: 10 / 100.  Cash unchanged −100 + 60 = −40.
    book = Book()
    t1 = make_tx("BUY", security="A", quantity=10, price=10, trade_date="2024-01-02", transaction_id="T1")
    t2 = make_tx("SELL", security="A", quantity=4, price=15, trade_date="2024-01-03", transaction_id="T2")
    book.apply(t1)
    book.apply(t2)
    assert book.tx(t2).realized_local == D(20)
    book.apply(amend(t1, 2, security_id="B"))
    assert lot_rows(book.position("A")) == [("T2", "2024-01-03", D(-4), D(-60), D(-60))]
    assert book.position("A").realized_local == 0
    assert book.tx(t2).realized_local == 0
    assert lot_rows(book.position("B")) == [("T1", "2024-01-02", D(10), D(100), D(100))]
    assert book.position("B").listed
    assert book.cash() == D(-40)
    assert set(book.store.get_portfolio("P1").securities) == {"A", "B"}


def test_amendment_takes_the_arrival_position_of_its_own_version():
    # T1 and T2 both on 01-02.  T1 v2 (same fields, new arrival) now sits after T2 on that date,
    # so T3's FIFO relief takes T2 first: 60 → realized 75 − 60 = 15.
    book = Book()
    t1, _, t3 = three_trades(book)
    book.apply(amend(t1, 2))
    assert book.tx(t3).realized_local == D(15)
    assert [lot.transaction_id for lot in book.position().lots] == ["T2", "T1"]


def test_an_amendment_to_a_cash_only_type_changes_only_cash():
    # DEPOSIT 100 → amended to 250 → balance 250, one mover.
    book = Book()
    dep = make_tx("DEPOSIT", amount=100)
    book.apply(dep)
    book.apply(amend(dep, 2, amount=250))
    assert book.cash() == D(250)
    assert book.store.cash[("P1", "USD")].movers == 1


def test_an_amendment_changing_currency_moves_the_cash_to_the_new_currency():
    # DEPOSIT 100 USD → amended to 100 EUR: USD 0 (no mover), EUR 100.
    book = Book(fx={("EUR", "USD"): D("1.1")})
    dep = make_tx("DEPOSIT", amount=100)
    book.apply(dep)
    book.apply(amend(dep, 2, currency="EUR"))
    assert (book.cash("USD"), book.store.cash[("P1", "USD")].movers) == (0, 0)
    assert (book.cash("EUR"), book.store.cash[("P1", "EUR")].movers) == (D(100), 1)


# --- Cancellations ------------------------------------------------------------------

def test_cancellation_removes_the_transactions_lots_realized_and_cash():
    # Cancel T1: T3 relieves 5 of T2 → 75 − 60 = 15; lots T2 5 / 60; cash −120 + 75 = −45.
    book = Book()
    t1, _, t3 = three_trades(book)
    assert isinstance(book.apply(cancel(t1, 2)), Applied)
    assert book.tx(t3).realized_local == D(15)
    assert lot_rows(book.position()) == [("T2", "2024-01-02", D(5), D(60), D(60))]
    assert book.position().realized_local == D(15)
    assert book.cash() == D(-45)
    record = book.tx(t1)
    assert (record.fields.status, record.cash, record.realized_local) == ("CANCELLED", {}, 0)


def test_cancelling_the_only_trade_leaves_an_unlisted_empty_position():
    book = Book()
    buy = make_tx("BUY", quantity=10, price=10)
    book.apply(buy)
    book.apply(cancel(buy, 2))
    pos = book.position()
    assert pos.lots == [] and not pos.listed and pos.history == []
    assert book.cash() == 0 and book.store.cash[("P1", "USD")].movers == 0


def test_a_higher_booked_version_after_a_cancellation_books_it_again_at_its_own_arrival():
    # T1 cancelled (v2), then T1 v3 re-booked with the same fields: on 01-02 it now comes after T2,
    # so T3 relieves T2: 75 − 60 = 15.  Lots T2 5 / 60, T1 10 / 100; cash −100 − 120 + 75 = −145.
    book = Book()
    t1, _, t3 = three_trades(book)
    book.apply(cancel(t1, 2))
    assert isinstance(book.apply(amend(t1, 3)), Applied)
    assert book.tx(t3).realized_local == D(15)
    assert lot_rows(book.position()) == [("T2", "2024-01-02", D(5), D(60), D(60)),
                                         ("T1", "2024-01-02", D(10), D(100), D(100))]
    assert book.cash() == D(-145)
    assert book.tx(t1).fields.version == 3


def test_a_cancellation_arriving_before_the_booking_makes_the_later_first_version_a_duplicate():
    book = Book()
    buy = make_tx("BUY", quantity=10, price=10, transaction_id="EARLY")
    assert isinstance(book.apply(cancel(buy, 2)), Applied)
    before = memory_state(book.store)
    assert book.apply(buy) == Duplicate(2)
    assert memory_state(book.store) == before
    assert book.position() is None
    assert book.store.cash == {}


def test_cancelling_twice_changes_nothing_the_second_time():
    book = Book()
    t1, _, _ = three_trades(book)
    book.apply(cancel(t1, 2))
    before = memory_state(book.store)
    assert book.apply(cancel(t1, 2)) == Duplicate(2)
    assert memory_state(book.store) == before


def test_a_record_keeps_the_versions_it_superseded_oldest_first_and_a_duplicate_adds_none():
    # Arrivals: T1 0, T2 1, T3 2, then T1 v2 at 3 and its cancellation v3 at 4.
    book = Book()
    t1, _, _ = three_trades(book)
    book.apply(amend(t1, 2, quantity=12))
    book.apply(cancel(t1, 3))
    book.apply(amend(t1, 2, quantity=12))  # a duplicate
    superseded = book.tx(t1).superseded
    assert [(v.fields.version, v.fields.status, v.fields.quantity, v.arrival)
            for v in superseded] == [(1, "BOOKED", D("10"), 0), (2, "BOOKED", D("12"), 3)]


# --- FX of a transaction ---------------------------------------------------------------

def test_missing_fx_rate_is_rejected_and_changes_nothing():
    book = Book()
    three_trades(book)
    before = memory_state(book.store)
    outcome = book.apply(make_tx("BUY", quantity=1, price=1, currency="EUR"))
    assert isinstance(outcome, Rejected) and outcome.reason == "missing_fx_rate"
    assert memory_state(book.store) == before


def test_cash_only_transactions_also_need_an_fx_rate():
    book = Book()
    outcome = book.apply(make_tx("DEPOSIT", amount=100, currency="EUR"))
    assert isinstance(outcome, Rejected) and outcome.reason == "missing_fx_rate"
    assert book.store.cash == {}


def test_an_amendment_without_an_fx_rate_is_rejected_and_the_previous_version_stays():
    # T1 amended into EUR with no EUR rate → rejected; T1 v1 (USD) remains: position 15, cash −145.
    book = Book()
    t1, _, _ = three_trades(book)
    before = memory_state(book.store)
    outcome = book.apply(amend(t1, 2, currency="EUR"))
    assert isinstance(outcome, Rejected) and outcome.reason == "missing_fx_rate"
    assert memory_state(book.store) == before
    assert book.tx(t1).fields.version == 1


def test_an_explicit_fx_rate_wins_over_the_looked_up_rate():
    # Lookup says 1.1, the transaction says 1.5: 10 @ 10 = 100 EUR → 150 USD.
    book = Book(fx={("EUR", "USD"): D("1.1")})
    buy = make_tx("BUY", quantity=10, price=10, currency="EUR", fx_rate="1.5")
    book.apply(buy)
    assert book.tx(buy).fx == D("1.5")
    assert book.position().cost_base == D(150)


def test_the_rate_looked_up_is_the_latest_on_or_before_the_trade_date():
    # EUR/USD 1.10 on 01-02 and 1.30 on 01-05; a BUY on 01-04 uses 1.10: 100 EUR → 110 USD.
    store, fx = MemoryStore(), FxBook()
    define_portfolio(store, {"portfolio_id": "P1", "name": "P", "base_currency": "USD",
                             "open_date": "2024-01-01"}, 0)
    fx.put("EUR", "USD", "2024-01-02", D("1.10"))
    fx.put("EUR", "USD", "2024-01-05", D("1.30"))
    buy = make_tx("BUY", quantity=10, price=10, currency="EUR", trade_date="2024-01-04")
    apply_transaction(store, buy, 1, fx.rate)
    assert store.get_tx("P1", buy.transaction_id).fx == D("1.10")
    assert store.get_position("P1", "SEC").cost_base == D(110)


def test_the_looked_up_rate_is_kept_and_a_rebuild_after_an_fx_correction_does_not_reprice_it():
    # T1 BUY 10 @ 10 EUR on 01-05 looked up at 1.1 → 110 USD.  The rate is then corrected to 1.5,
    # and a back-dated BUY (01-03, 10 @ 10, explicit fx 1.2 → 120) rebuilds the key:
    # T1 keeps 1.1 → cost_base 120 + 110 = 230 (not 120 + 150).
    book = Book(fx={("EUR", "USD"): D("1.1")})
    t1 = make_tx("BUY", quantity=10, price=10, currency="EUR", trade_date="2024-01-05", transaction_id="T1")
    book.apply(t1)
    book.fx[("EUR", "USD")] = D("1.5")
    book.apply(make_tx("BUY", quantity=10, price=10, currency="EUR", fx_rate="1.2",
                       trade_date="2024-01-03", transaction_id="T0"))
    assert lot_rows(book.position()) == [("T0", "2024-01-03", D(10), D(100), D(120)),
                                         ("T1", "2024-01-05", D(10), D(100), D(110))]
    assert book.tx(t1).fx == D("1.1")


def test_an_amendment_looks_its_rate_up_again_when_applied():
    # T1 v1 at the looked-up 1.1 (110 USD); the rate moves to 1.5; T1 v2 (price 20 → 200 EUR)
    # is a new version, looked up now: 200 × 1.5 = 300 USD.
    book = Book(fx={("EUR", "USD"): D("1.1")})
    t1 = make_tx("BUY", quantity=10, price=10, currency="EUR", transaction_id="T1")
    book.apply(t1)
    book.fx[("EUR", "USD")] = D("1.5")
    book.apply(amend(t1, 2, price=20))
    assert book.position().cost_base == D(300)


def test_a_base_currency_transaction_uses_a_rate_of_one_without_lookup():
    book = Book()  # no rates at all
    buy = make_tx("BUY", quantity=10, price=10)
    assert isinstance(book.apply(buy), Applied)
    assert book.tx(buy).fx == D(1)
    assert book.position().cost_base == D(100)


# --- Portfolio -------------------------------------------------------------------------

def test_a_transaction_for_an_unknown_portfolio_is_rejected_and_stores_nothing():
    book = Book()
    before = memory_state(book.store)
    outcome = book.apply(make_tx("BUY", quantity=1, price=1, portfolio="P9"))
    assert isinstance(outcome, Rejected) and outcome.reason == "unknown_portfolio"
    assert memory_state(book.store) == before


def test_redefining_the_cost_method_rebooks_the_whole_history():
    # FIFO: T3 relieves 5 of T1 → 75 − 50 = 25.  Redefined LIFO: newest on 01-02 is T2 (arrival 2):
    # 120 × 5/10 = 60 → 75 − 60 = 15; lots T1 10 / 100, T2 5 / 60 → cost 160.  Cash unchanged −145.
    book = Book(method="FIFO")
    _, _, t3 = three_trades(book)
    assert book.tx(t3).realized_local == D(25)
    assert isinstance(redefine(book, cost_method="LIFO"), Applied)
    assert book.tx(t3).realized_local == D(15)
    assert book.position().realized_local == D(15)
    assert lot_rows(book.position()) == [("T1", "2024-01-02", D(10), D(100), D(100)),
                                         ("T2", "2024-01-02", D(5), D(60), D(60))]
    assert book.cash() == D(-145)


def test_redefining_the_cost_method_keeps_each_transactions_fx():
    # EUR buys at looked-up 1.1 (T1) then, after the rate moved to 2, T2 at 2; switch to AVCO:
    # pool 20 EUR-units cost 100 + 100 = 200 EUR, base 110 + 200 = 310 USD (no re-pricing).
    book = Book(fx={("EUR", "USD"): D("1.1")})
    book.apply(make_tx("BUY", quantity=10, price=10, currency="EUR", trade_date="2024-01-02", transaction_id="T1"))
    book.fx[("EUR", "USD")] = D(2)
    book.apply(make_tx("BUY", quantity=10, price=10, currency="EUR", trade_date="2024-01-03", transaction_id="T2"))
    redefine(book, cost_method="AVCO")
    assert lot_rows(book.position()) == [("T1", "2024-01-02", D(20), D(200), D(310))]


def test_changing_base_currency_after_bookings_is_rejected_naming_base_currency():
    book = Book()
    book.apply(make_tx("DEPOSIT", amount=100))
    before = memory_state(book.store)
    outcome = redefine(book, base_currency="EUR")
    assert isinstance(outcome, Rejected) and outcome.field == "base_currency"
    assert memory_state(book.store) == before


def test_changing_base_currency_before_any_booking_is_allowed():
    book = Book()
    assert isinstance(redefine(book, base_currency="EUR"), Applied)
    assert book.store.get_portfolio("P1").base_currency == "EUR"


def test_the_same_definition_again_is_a_duplicate_and_changes_nothing():
    book = Book()
    three_trades(book)
    before = memory_state(book.store)
    assert isinstance(redefine(book), Duplicate)
    assert memory_state(book.store) == before


def test_a_definition_replayed_from_before_the_one_in_effect_changes_nothing():
    # FIFO → LIFO at arrival 10; the FIFO definition replayed at its old arrival 0 is a duplicate.
    book = Book(method="FIFO")
    three_trades(book)
    fifo = dict(book.store.get_portfolio("P1").definition)
    assert isinstance(define_portfolio(book.store, {**fifo, "cost_method": "LIFO"}, 10), Applied)
    before = memory_state(book.store)
    assert isinstance(define_portfolio(book.store, fifo, 0), Duplicate)
    assert memory_state(book.store) == before
    assert book.store.get_portfolio("P1").cost_method == "LIFO"


# --- Closing and history ----------------------------------------------------------------

def test_a_position_sold_back_to_zero_has_exactly_zero_cost_and_keeps_realized_and_listing():
    # BUY 3 @ 10 fees 1 EUR fx 1.1 → 31 / 34.1.  Three SELLs 1 @ 12 fx 1.2 (12 / 14.4 each).
    # realized_local 36 − 31 = 5;  realized_base 3 × 14.4 − 34.1 = 43.2 − 34.1 = 9.1.
    book = Book()
    book.apply(make_tx("BUY", quantity=3, price=10, fees=1, currency="EUR", fx_rate="1.1", trade_date="2024-01-02"))
    for _ in range(3):
        book.apply(make_tx("SELL", quantity=1, price=12, currency="EUR", fx_rate="1.2", trade_date="2024-01-03"))
    pos = book.position()
    assert pos.quantity == 0 and pos.lots == []
    assert pos.cost_local == 0 and pos.cost_base == 0
    assert (pos.realized_local, pos.realized_base) == (D(5), D("9.1"))
    assert pos.listed


def test_history_has_one_end_of_day_row_per_trade_date_rebuilt_after_a_back_dated_trade():
    # T1 BUY 10 @ 10 (01-02), T2 SELL 4 @ 15 (01-05); then back-dated T3 BUY 10 @ 12 (01-03);
    # then T4 BUY 5 @ 10 (01-05, same day as the sell).  FIFO:
    #   01-02: 10, cost 100, realized 0
    #   01-03: 20, cost 100 + 120 = 220, realized 0
    #   01-05: the sell relieves 4 of T1 (100 × 4/10 = 40) → realized 4 × 15 − 40 = 20; 16, cost 220 − 40 = 180
    #   T4 then lands on 01-05 too: one end-of-day row → 21, cost 180 + 50 = 230, realized 20
    book = Book()
    book.apply(make_tx("BUY", quantity=10, price=10, trade_date="2024-01-02", transaction_id="T1"))
    book.apply(make_tx("SELL", quantity=4, price=15, trade_date="2024-01-05", transaction_id="T2"))
    book.apply(make_tx("BUY", quantity=10, price=12, trade_date="2024-01-03", transaction_id="T3"))
    assert history_rows(book.position()) == [
        ("2024-01-02", D(10), D(100), D(100), D(0), D(0)),
        ("2024-01-03", D(20), D(220), D(220), D(0), D(0)),
        ("2024-01-05", D(16), D(180), D(180), D(20), D(20)),
    ]
    assert book.position().history_from == "2024-01-03"
    book.apply(make_tx("BUY", quantity=5, price=10, trade_date="2024-01-05", transaction_id="T4"))
    assert history_rows(book.position())[-1] == ("2024-01-05", D(21), D(230), D(230), D(20), D(20))
    assert len(book.position().history) == 3


def test_history_after_a_cancellation_drops_the_day_it_alone_made():
    # T1 BUY 10 @ 10 (01-02), T2 BUY 5 @ 12 (01-04); cancel T2 → only the 01-02 row is left.
    book = Book()
    book.apply(make_tx("BUY", quantity=10, price=10, trade_date="2024-01-02"))
    t2 = make_tx("BUY", quantity=5, price=12, trade_date="2024-01-04")
    book.apply(t2)
    book.apply(cancel(t2, 2))
    assert history_rows(book.position()) == [("2024-01-02", D(10), D(100), D(100), D(0), D(0))]


def test_results_do_not_depend_on_arrival_order_for_a_back_dated_sell():
    # Same three trades arriving B1, B2, S (in order) or S, B2, B1 (all dated differently):
    # FIFO: S (01-04) relieves 5 of B1 (01-02, 100) = 50 → 75 − 50 = 25, both ways.
    def run(order):
        book = Book()
        txs = {"B1": make_tx("BUY", quantity=10, price=10, trade_date="2024-01-02", transaction_id="B1"),
               "B2": make_tx("BUY", quantity=10, price=12, trade_date="2024-01-03", transaction_id="B2"),
               "S": make_tx("SELL", quantity=5, price=15, trade_date="2024-01-04", transaction_id="S")}
        for name in order:
            book.apply(txs[name])
        pos = book.position()
        return lot_rows(pos), pos.realized_local, history_rows(pos), book.cash()

    in_order = run(["B1", "B2", "S"])
    assert in_order == run(["S", "B2", "B1"])
    assert in_order[1] == D(25)
