"""Exact decimal arithmetic and text for the API, in core.numbers' context.

Money and quantities leave the API as JSON strings without exponent; `-0`
and `0.00` are written "0", like the worker's state, so live and PostgreSQL
answers read the same.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from core.numbers import CTX, ZERO


def total(values: Iterable[Decimal]) -> Decimal:
    result = ZERO
    for value in values:
        result = CTX.add(result, value)
    return result


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """numerator / denominator, or None when the denominator is 0."""
    if not denominator:
        return None
    return CTX.divide(numerator, denominator)


def decimal_text(value: Decimal) -> str:
    """Canonical JSON text of a decimal: no exponent, never a float."""
    if not value.is_finite():
        raise ValueError(f"not a finite decimal: {value}")
    if value == 0:
        return "0"
    return format(value, "f")


def to_decimal(value: object) -> Decimal:
    """A decimal from the worker's state or a jsonb value (strings, ints, Decimals)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"not a decimal: {value!r}")
    return Decimal(value)
