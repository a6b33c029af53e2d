"""The cash a transaction moves, per currency (no cash legs needed)."""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from core.numbers import mul
from core.transaction import TxFields


def _gross(tx: TxFields) -> Decimal:
    return mul(tx.quantity, tx.price)


# Fees count only on BUY, SELL, DIVIDEND, INTEREST and transfers.
CASH_RULES: dict[str, Callable[[TxFields], Decimal]] = {
    "BUY": lambda tx: -(_gross(tx) + tx.fees),
    "SELL": lambda tx: _gross(tx) - tx.fees,
    "DIVIDEND": lambda tx: tx.amount - tx.fees,
    "INTEREST": lambda tx: tx.amount - tx.fees,
    "FEE": lambda tx: -tx.amount,
    "TAX": lambda tx: -tx.amount,
    "DEPOSIT": lambda tx: tx.amount,
    "WITHDRAWAL": lambda tx: -tx.amount,
    "TRANSFER_IN": lambda tx: -tx.fees,
    "TRANSFER_OUT": lambda tx: -tx.fees,
}


def cash_effect(tx: TxFields) -> dict[str, Decimal]:
    """Non-zero cash movements of a booked transaction, by currency."""
    rule = CASH_RULES.get(tx.type or "")
    if rule is None or not tx.booked:
        return {}
    amount = rule(tx)
    return {tx.currency: amount} if amount != 0 else {}
