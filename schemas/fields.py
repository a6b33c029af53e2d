"""Field types shared by the event models.

Plain Python validators are used for decimals, dates and `version` because
pydantic's lax built-ins accept inputs the contract forbids (floats, bools,
"1_000", unix timestamps for dates, datetime strings, ...) and its strict
built-ins reject JSON strings. Each is a single Python call per field, which keeps
decoding fast on the hot path.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Context, Decimal, DecimalException, Inexact
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, PlainValidator, Strict, StringConstraints
from pydantic_core import PydanticCustomError

# Inputs must be exact within 34 significant digits (decimal128) so that no
# later arithmetic silently rounds what the producer wrote; the exponent bound
# keeps a poison value like 1E+999999 from overflowing a worker's arithmetic.
MAX_DIGITS = 34
MAX_ADJUSTED_EXPONENT = 99
MAX_VERSION = 2**63 - 1  # fits a PostgreSQL BIGINT

_EXACT = Context(prec=MAX_DIGITS, traps=[Inexact])
# JSON-number-like text only, ASCII digits only: Decimal() alone would also
# take " 1", "1_000", "NaN", "Infinity" and non-ASCII digits.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,6})?")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _fail(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def to_decimal(value: object) -> Decimal:
    """A JSON number (int, or Decimal from parse_float) or a decimal string, exactly."""
    kind = type(value)
    try:
        if kind is str:
            if len(value) > 80 or _DECIMAL_TEXT.fullmatch(value) is None:
                raise _fail("decimal_syntax", "not a decimal number or decimal string")
            result = _EXACT.create_decimal(value)
        elif kind is Decimal:
            if not value.is_finite():
                raise _fail("decimal_not_finite", "NaN and Infinity are not allowed")
            result = _EXACT.plus(value)
        elif kind is int:  # `type is int` on purpose: bool is an int subclass
            result = _EXACT.create_decimal(value)
        elif kind is float:
            # Never accept a binary float: its digits are not what was written.
            raise _fail("decimal_float", "binary float not accepted; parse JSON with parse_float=Decimal")
        else:
            raise _fail("decimal_type", f"expected a decimal number or decimal string, got {kind.__name__}")
    except DecimalException:
        raise _fail("decimal_precision", f"more than {MAX_DIGITS} significant digits") from None
    if not -MAX_ADJUSTED_EXPONENT <= result.adjusted() <= MAX_ADJUSTED_EXPONENT:
        raise _fail("decimal_range", "decimal out of range")
    if not result and result.is_signed():
        result = result.copy_abs()  # "-0" is just 0; avoids "-0" leaking into outputs
    return result


def to_positive(value: object) -> Decimal:
    result = to_decimal(value)
    if result <= 0:
        raise _fail("not_positive", "must be > 0")
    return result


def to_non_negative(value: object) -> Decimal:
    result = to_decimal(value)
    if result < 0:
        raise _fail("negative", "must be >= 0")
    return result


def to_date(value: object) -> date:
    """Exactly YYYY-MM-DD and a real calendar date (date objects pass through)."""
    kind = type(value)
    if kind is date:  # not datetime, which is a date subclass
        return value
    if kind is not str or _DATE_TEXT.fullmatch(value) is None:
        raise _fail("date_format", "must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail("date_invalid", "not a real calendar date") from None


class _Missing:
    """Marks a key that the model requires only conditionally (see Transaction)."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


def to_version(value: object) -> int:
    if value is MISSING:
        raise _fail("missing", "Field required on a cancellation")
    if type(value) is not int:  # rejects "1", 1.0 (a Decimal here) and true
        raise _fail("version_type", "must be a JSON integer")
    if not 1 <= value <= MAX_VERSION:
        raise _fail("version_range", "must be an integer >= 1")
    return value


# Identifiers: non-empty, no surrounding whitespace, no line breaks, so that
# "P001 " can never silently become a second portfolio.
Identifier = Annotated[str, Strict(), StringConstraints(pattern=r"^\S(?:.*\S)?$", max_length=200)]
# Free text (names, classifications): any string with some visible content.
Text = Annotated[str, Strict(), StringConstraints(pattern=r"\S", max_length=1000)]
Currency = Annotated[str, Strict(), StringConstraints(pattern=r"^[A-Z]{3}$")]
# Explicit JSON serializers: with a PlainValidator pydantic otherwise wraps the
# type's own serializer and warns/fails in JSON mode. Decimals are written as
# strings (exact, and accepted back by the validators), dates as YYYY-MM-DD.
_AS_TEXT = PlainSerializer(str, return_type=str, when_used="json")
Day = Annotated[date, PlainValidator(to_date, json_schema_input_type=str), _AS_TEXT]
Dec = Annotated[Decimal, PlainValidator(to_decimal, json_schema_input_type=str | int), _AS_TEXT]
PositiveDec = Annotated[Decimal, PlainValidator(to_positive, json_schema_input_type=str | int), _AS_TEXT]
NonNegativeDec = Annotated[Decimal, PlainValidator(to_non_negative, json_schema_input_type=str | int), _AS_TEXT]
Version = Annotated[int, PlainValidator(to_version, json_schema_input_type=int), PlainSerializer(int, return_type=int)]


def _blank_to_none(value: object) -> object:
    # An optional attribute sent as "" means "not given" (allocation then says
    # Unclassified); rejecting the whole reference record would be worse.
    if type(value) is str and not value.strip():
        return None
    return value


OptionalText = Annotated[Text | None, BeforeValidator(_blank_to_none)]
OptionalIdentifier = Annotated[Identifier | None, BeforeValidator(_blank_to_none)]
