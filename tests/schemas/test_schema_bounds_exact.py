"""The decimal bounds keep every figure exact: a position built from values at the bounds,
booked and valued by the real code, equals a Fraction computation of the SPEC formulas."""

from dataclasses import replace
from decimal import Decimal
from fractions import Fraction as F

from core.fx import FxBook
from core.market import MarketData, PriceBook
from core.transaction import TxFields
from core.valuation import value_cash, value_position
from schemas.decode import validate_item
from tests.core.factories import Book

Q, P, FEE, RATE = "99999999.9999", "999999.9999", "99999999999999.99999999", "99999.999999"
TINY_Q, TINY_P, TINY_FEE, TINY_RATE = "0.0001", "0.0001", "0.00000001", "0.000001"


def event(transaction_id, type_, quantity, price, fees, fx_rate, trade_date):
    """Through the schema first: each value must be accepted as it stands."""
    decoded = validate_item("transactions", {
        "transaction_id": transaction_id, "portfolio_id": "P1", "type": type_, "trade_date": trade_date,
        "security_id": "SEC", "quantity": quantity, "price": price, "fees": fees, "currency": "EUR",
        "fx_rate": fx_rate})
    assert decoded.quantity == Decimal(quantity)  # not a Rejection
    return TxFields.from_event(decoded)


def test_a_position_built_from_values_at_the_bounds_is_computed_exactly():
    book = Book(base="USD", method="FIFO")
    trades = [
        event("T1", "BUY", Q, P, FEE, RATE, "2024-01-02"),
        event("T2", "BUY", TINY_Q, TINY_P, TINY_FEE, TINY_RATE, "2024-01-03"),
        event("T3", "SELL", Q, P, TINY_FEE, RATE, "2024-01-04"),  # FIFO: exactly T1, no pro rata
        event("T4", "BUY", Q, P, FEE, RATE, "2024-01-05"),
    ]
    for tx in trades:
        book.apply(tx)

    q, p, fee, rate = F(Q), F(P), F(FEE), F(RATE)
    tq, tp, tfee, trate = F(TINY_Q), F(TINY_P), F(TINY_FEE), F(TINY_RATE)
    cost_t1 = q * p + fee
    cost_t2 = tq * tp + tfee
    cost_t4 = q * p + fee
    proceeds_t3 = q * p - tfee
    position = book.position()
    assert F(position.quantity) == tq + q
    assert F(position.cost_local) == cost_t2 + cost_t4
    assert F(position.cost_base) == cost_t2 * trate + cost_t4 * rate
    assert F(position.realized_local) == proceeds_t3 - cost_t1
    assert F(position.realized_base) == proceeds_t3 * rate - cost_t1 * rate
    cash = -cost_t1 - cost_t2 + proceeds_t3 - cost_t4
    assert F(book.cash("EUR")) == cash

    # Valued at the largest price and rate a feed may publish.
    prices, fx = PriceBook(), FxBook()
    prices.put("SEC", "2024-01-05", Decimal("1000000"), None)
    fx.put("EUR", "USD", "2024-01-05", Decimal("100000"))
    market = MarketData(prices, fx)
    value = value_position("SEC", "EUR", position.quantity, position.cost_local, position.cost_base,
                           position.realized_local, position.realized_base, "USD", market, "2024-01-05")
    mv_base = (tq + q) * 1000000 * 100000
    assert F(value.mv_base) == mv_base
    assert F(value.unrealized_base) == mv_base - (cost_t2 * trate + cost_t4 * rate)
    assert F(value_cash("EUR", book.cash("EUR"), "USD", market, "2024-01-05").mv_base) == cash * 100000


def test_one_more_decimal_on_the_quantity_would_already_round_the_base_cost():
    # Why the bounds are where they are: 99999999.99999 (5 decimals) x price x rate, plus fees,
    # needs 35 digits, which the 34-digit context rounds.
    book = Book(base="USD", method="FIFO")
    tx = TxFields.from_event(validate_item("transactions", {
        "transaction_id": "T1", "portfolio_id": "P1", "type": "BUY", "trade_date": "2024-01-02",
        "security_id": "SEC", "quantity": "1", "price": P, "fees": FEE, "currency": "EUR", "fx_rate": RATE}))
    book.apply(replace(tx, quantity=Decimal("99999999.99999")))  # past the schema, straight to the ledger
    exact = (F("99999999.99999") * F(P) + F(FEE)) * F(RATE)
    assert F(book.position().cost_base) != exact
