"""Exact decimal arithmetic shared by every money and quantity calculation.

34 significant digits with banker's rounding (IEEE decimal128). Pro-rata
relief, averages and inverse FX rates do not terminate, so the precision is
part of the result: it is set process-wide (and on every new thread through
DefaultContext) so no caller can get different figures by accident.
"""
from __future__ import annotations

import decimal
from decimal import ROUND_HALF_EVEN, Context, Decimal

PRECISION = 34
decimal.DefaultContext.prec = PRECISION
decimal.DefaultContext.rounding = ROUND_HALF_EVEN
decimal.getcontext().prec = PRECISION
decimal.getcontext().rounding = ROUND_HALF_EVEN
CTX = Context(prec=PRECISION, rounding=ROUND_HALF_EVEN)
ZERO = Decimal(0)
ONE = Decimal(1)


def mul(a: Decimal, b: Decimal) -> Decimal:
    return CTX.multiply(a, b)


def div(a: Decimal, b: Decimal) -> Decimal:
    return CTX.divide(a, b)


def prorata(amount: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """`amount × part / whole`, multiplying first so exact shares stay exact."""
    if part == whole:
        return amount
    return CTX.divide(CTX.multiply(amount, part), whole)


def text(value: Decimal | None) -> str | None:
    """Canonical JSON text of a decimal: no exponent, no float."""
    if value is None:
        return None
    if not value:
        return "0"
    plain = str(value)  # several times faster than format(); exponent form is rare
    return plain if "E" not in plain else format(value, "f")
