"""The cash each transaction type moves, per currency, and cash balances in the ledger.

Every expected figure is worked out by hand in the comment beside it.
"""
from __future__ import annotations

import pytest

from core.cash import cash_effect
from tests.core.factories import D, Book, cancel, make_tx


@pytest.mark.parametrize("type_, fields, expected", [
    ("BUY", dict(quantity=10, price=20, fees=3), "-203"),          # −(10 × 20 + 3)
    ("SELL", dict(quantity=10, price=20, fees=3), "197"),          # 10 × 20 − 3
    ("DIVIDEND", dict(amount=50, fees=5), "45"),                   # 50 − 5
    ("INTEREST", dict(amount=12, fees=2), "10"),                   # 12 − 2
    ("FEE", dict(amount=7, fees=1), "-7"),                         # −7, its fees ignored
    ("TAX", dict(amount=9, fees=1), "-9"),                         # −9, its fees ignored
    ("DEPOSIT", dict(amount=1000, fees=10), "1000"),               # +1000, its fees ignored
    ("WITHDRAWAL", dict(amount=300, fees=10), "-300"),             # −300, its fees ignored
    ("TRANSFER_IN", dict(quantity=10, price=15, fees=4), "-4"),    # only the fees
    ("TRANSFER_OUT", dict(quantity=10, price=15, fees=6), "-6"),   # only the fees
])
def test_each_type_moves_cash_in_its_own_currency_by_the_spec_rule(type_, fields, expected):
    assert cash_effect(make_tx(type_, currency="EUR", **fields)) == {"EUR": D(expected)}


def test_split_moves_no_cash_even_with_fees():
    assert cash_effect(make_tx("SPLIT", quantity=2, fees=5)) == {}


@pytest.mark.parametrize("type_, fields", [
    ("TRANSFER_IN", dict(quantity=10, price=15)),       # fees 0 → −0: omitted
    ("TRANSFER_OUT", dict(quantity=10)),                # fees 0 → −0: omitted
    ("BUY", dict(quantity=10, price=0)),                # −(0 + 0): omitted
    ("DIVIDEND", dict(amount=5, fees=5)),               # 5 − 5 = 0: omitted
])
def test_a_zero_cash_effect_is_omitted(type_, fields):
    assert cash_effect(make_tx(type_, **fields)) == {}


def test_a_cancellation_moves_no_cash():
    assert cash_effect(cancel(make_tx("DEPOSIT", amount=100), 2)) == {}


def test_buy_cash_uses_the_exact_decimal_product():
    # 3 × 0.1 = 0.3 exactly (no binary float), + fees 0.01 → −0.31.
    assert cash_effect(make_tx("BUY", quantity=3, price="0.1", fees="0.01")) == {"USD": D("-0.31")}


def test_ledger_keeps_one_balance_per_currency_from_every_type():
    # USD: DEPOSIT +1000 (fees ignored), BUY −(10 × 20 + 3) = −203, SELL +(5 × 30 − 2) = 148,
    #      DIVIDEND +(8 − 1) = 7, FEE −4, TAX −6, WITHDRAWAL −100 → 1000 − 203 + 148 + 7 − 4 − 6 − 100 = 842.
    # EUR: INTEREST +(3 − 0.5) = 2.5, TRANSFER_IN −1, TRANSFER_OUT −2 → −0.5.
    book = Book(fx={("EUR", "USD"): D("1.1")})
    for tx in [
        make_tx("DEPOSIT", amount=1000, fees=9),
        make_tx("BUY", quantity=10, price=20, fees=3),
        make_tx("SELL", quantity=5, price=30, fees=2),
        make_tx("DIVIDEND", amount=8, fees=1),
        make_tx("FEE", amount=4),
        make_tx("TAX", amount=6),
        make_tx("WITHDRAWAL", amount=100),
        make_tx("INTEREST", amount=3, fees="0.5", currency="EUR", security=None),
        make_tx("TRANSFER_IN", quantity=1, price=1, fees=1, currency="EUR", security="X"),
        make_tx("TRANSFER_OUT", quantity=1, price=1, fees=2, currency="EUR", security="X"),
        make_tx("SPLIT", quantity=2, currency=None),
    ]:
        book.apply(tx)
    assert book.cash("USD") == D(842)
    assert book.cash("EUR") == D("-0.5")
    assert book.store.cash[("P1", "USD")].movers == 7
    assert book.store.cash[("P1", "EUR")].movers == 3


def test_a_currency_whose_balance_nets_back_to_zero_stays_listed_until_its_movers_are_cancelled():
    # DEPOSIT 100 EUR, WITHDRAWAL 100 EUR → balance 0 but two transactions moved EUR.
    book = Book(fx={("EUR", "USD"): D("1.1")})
    dep = make_tx("DEPOSIT", amount=100, currency="EUR")
    wd = make_tx("WITHDRAWAL", amount=100, currency="EUR")
    book.apply(dep)
    book.apply(wd)
    state = book.store.cash[("P1", "EUR")]
    assert (state.balance, state.movers) == (0, 2)
    assert "EUR" in book.store.get_portfolio("P1").currencies
    book.apply(cancel(dep, 2))
    assert (book.cash("EUR"), book.store.cash[("P1", "EUR")].movers) == (D(-100), 1)
    book.apply(cancel(wd, 2))
    assert (book.cash("EUR"), book.store.cash[("P1", "EUR")].movers) == (0, 0)


def test_dividend_with_a_security_moves_cash_but_does_not_create_or_touch_a_position():
    # DIVIDEND 25 fees 5 on SEC → cash +20; income is not realized P&L and opens no position.
    book = Book()
    div = make_tx("DIVIDEND", amount=25, fees=5)
    book.apply(div)
    assert book.cash() == D(20)
    assert book.position() is None
    assert book.tx(div).realized_local == 0
