"""The demo book is clean: every event valid, every transaction bookable, and no cash ever negative."""
from collections import defaultdict
from decimal import Decimal
from itertools import groupby

from core.fx import FxBook
from core.ledger import Applied, apply_transaction, define_portfolio
from core.store import MemoryStore
from core.transaction import TxFields
from folio.demo import demo_events
from schemas.decode import Rejection, validate_item


def test_every_demo_event_validates_and_every_transaction_books():
    store, fx = MemoryStore(), FxBook()
    outcomes = []
    for arrival, event in enumerate(demo_events()):
        decoded = validate_item(event["topic"], event["value"])
        assert not isinstance(decoded, Rejection), (event, decoded)
        if event["topic"] == "portfolios":
            define_portfolio(store, decoded.model_dump(mode="json"), arrival)
        elif event["topic"] == "fx_rates":
            fx.put(decoded.from_currency, decoded.to_currency, decoded.rate_date.isoformat(), decoded.rate)
        elif event["topic"] == "transactions":
            outcomes.append(apply_transaction(store, TxFields.from_event(decoded), arrival, fx.rate))
    assert outcomes and all(isinstance(o, Applied) for o in outcomes), [o for o in outcomes if not isinstance(o, Applied)]


def _demo_transactions() -> list[dict]:
    return [e["value"] for e in demo_events() if e["topic"] == "transactions"]


def _cash_move(tx: dict) -> Decimal:
    """SPEC §2 Cash, written out here on purpose (not core.cash): the test's own arithmetic."""
    kind = tx["type"]
    if kind == "BUY":
        return -(Decimal(tx["quantity"]) * Decimal(tx["price"]) + Decimal(tx["fees"]))
    if kind == "SELL":
        return Decimal(tx["quantity"]) * Decimal(tx["price"]) - Decimal(tx["fees"])
    if kind in ("DEPOSIT", "DIVIDEND"):
        return Decimal(tx["amount"])
    assert kind in ("WITHDRAWAL", "FEE"), kind
    return -Decimal(tx["amount"])


def test_no_demo_cash_balance_is_ever_negative_after_any_transaction_or_at_any_days_end():
    balances: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    overdrawn = []
    transactions = sorted(_demo_transactions(), key=lambda tx: tx["trade_date"])  # stable: file order in a day
    for day, of_day in groupby(transactions, key=lambda tx: tx["trade_date"]):
        for tx in of_day:
            key = (tx["portfolio_id"], tx["currency"])
            balances[key] += _cash_move(tx)
            if balances[key] < 0:
                overdrawn.append((tx["transaction_id"], day, key, balances[key]))
    assert overdrawn == []
    # Both portfolios hold cash in every currency they trade (USD, EUR, GBP).
    assert sorted(balances) == [(p, c) for p in ("DEMO-GROWTH", "DEMO-INCOME") for c in ("EUR", "GBP", "USD")]


def test_the_growth_books_first_euro_buy_is_funded_by_a_euro_deposit_that_day():
    growth = [tx for tx in _demo_transactions() if tx["portfolio_id"] == "DEMO-GROWTH"]
    first_eur = next(i for i, tx in enumerate(growth) if tx["currency"] == "EUR")
    deposit, buy = growth[first_eur], growth[first_eur + 1]

    # 11 ASML at 880.86 + 4.95 fees = 9,694.41 EUR; the deposit rounds that up to 10,000 EUR.
    assert (buy["type"], buy["security_id"], buy["quantity"], buy["price"], buy["fees"]) == (
        "BUY", "ASML", "11", "880.86", "4.95")
    assert (deposit["type"], deposit["trade_date"], deposit["amount"], deposit["currency"]) == (
        "DEPOSIT", buy["trade_date"], "10000", "EUR")
