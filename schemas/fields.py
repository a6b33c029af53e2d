"""Field types shared by the event models, and the accepted ranges (README "Accepted ranges").

Plain Python validators are used for decimals, dates and `version` because
pydantic's lax built-ins accept inputs the contract forbids (floats, bools,
"1_000", unix timestamps for dates, datetime strings, ...) and its strict
built-ins reject JSON strings. Each is a single Python call per field, which keeps
decoding fast on the hot path.

Ranges, and why (out of range is an invalid_event naming the field):

- Strings hold no C0 control (U+0000-U+001F), DEL (U+007F), C1 control (U+0080-U+009F)
  or lone surrogate: PostgreSQL text cannot store NUL, a lone surrogate cannot
  be encoded as UTF-8 for Kafka or PostgreSQL, and the rest only ever hides
  one id behind another ("P1\t" vs "P1").
- Event dates lie in [1900-01-01, one year after today (UTC)]: earlier or
  later is a typo (0001-01-01, 9999-12-31), and every date up to the latest
  one gets a daily valuation, so a far date would make a portfolio's series
  unbounded. `today` can be pinned (tests); it is the real UTC date otherwise.
- Decimals are exact in 34 significant digits (decimal128, core.numbers) and
  bounded per field so that no figure computed from them is ever rounded.
  Exactness of a sum or product is a fixed-point question: a value needs
  (integer digits + decimal places) digits, a product adds the decimal places
  of its factors, and a sum stays exact while its total fits 34 digits at the
  largest scale among its terms. The longest chain without a division is a
  base-currency total: sum over lots/positions/cash of quantity x price (+ fees)
  x rate. Its scale is at most 4 + 4 + 6 = 14 decimals (quantity, price, rate),
  so every base figure is exact up to 10^20 base units, one trade being at
  most 10^8 x 10^6 x 10^5 = 10^19; local figures (scale 8, amounts and fees
  at most 8 decimals) are exact up to 10^26, quantities (scale 4) up to 10^30.
  Figures that are quotients are rounded once, to 34 digits, by definition:
  AVCO unit costs, pro-rata relief of a partly sold lot, inverse FX rates
  (1/rate), weights and averages. A SPLIT ratio is a quantity: each split
  adds its ratio's decimals to the lots' quantities.

  | field                        | largest |value| | decimals |
  |------------------------------|----------------|----------|
  | quantity (and SPLIT ratio)   | 10^8           | 4        |
  | price (transactions, prices) | 10^6           | 4        |
  | amount, fees                 | 10^14          | 8        |
  | rate, fx_rate                | 10^5           | 6        |
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import date, datetime, timezone
from functools import partial
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


# A field's bounds (see `_bounded`): (adjusted() of the limit, the limit,
# decimal places, must be > 0, must be >= 0, message if too large, if too
# fine, the shape of a plain decimal string surely within them).
_Bounds = tuple[int, Decimal, int, bool, bool, str, str, re.Pattern]


def _exact(bounds: _Bounds | None, value: object) -> Decimal:
    """A JSON number (int, or Decimal from parse_float) or a decimal string,
    exactly; within `bounds` when given. One function, not a bounds check
    wrapped around it, called through a positional partial: every Python call
    and keyword argument costs per field of every event."""
    kind = type(value)
    if kind is str and bounds is not None and bounds[7].fullmatch(value) is not None:
        # Plain text within the field's digits and places (most inputs): exact
        # and in range by its shape, so only the sign is left to check.
        result = _EXACT.create_decimal(value)
        if result > 0:
            return result
        if bounds[3]:
            raise _fail("not_positive", "must be > 0")
        if not result:
            return result.copy_abs()  # "-0" is just 0
        if bounds[4]:
            raise _fail("negative", "must be >= 0")
        return result
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
    adjusted = result.adjusted()
    if not -MAX_ADJUSTED_EXPONENT <= adjusted <= MAX_ADJUSTED_EXPONENT:
        raise _fail("decimal_range", "decimal out of range")
    if not result and result.is_signed():
        result = result.copy_abs()  # "-0" is just 0; avoids "-0" leaking into outputs
    if bounds is None:
        return result
    top, limit, places, positive, non_negative, too_large, too_fine, _ = bounds
    if positive and result <= 0:
        raise _fail("not_positive", "must be > 0")
    if non_negative and result < 0:
        raise _fail("negative", "must be >= 0")
    # Cheap tests first: adjusted() below the limit's means |value| < limit,
    # and a decimal string without an exponent shows its decimal places.
    if adjusted >= top and abs(result) > limit:
        raise _fail("decimal_range", too_large)
    if kind is str and "e" not in value and "E" not in value:
        dot = value.find(".")
        fine = dot < 0 or len(value) - dot - 1 <= places
    else:
        fine = result.as_tuple().exponent >= -places
    if not fine and result.normalize(_EXACT).as_tuple().exponent < -places:
        raise _fail("decimal_places", too_fine)
    return result


def _bounded(largest: str, places: int, sign: str | None = None) -> Callable[[object], Decimal]:
    """A validator: an exact decimal with |value| <= largest, at most `places`
    decimals (trailing zeros do not count), and `sign` "positive" (> 0) or
    "non_negative" (>= 0) when given."""
    limit = Decimal(largest)
    # At most adjusted() integer digits (so below the limit, which is a power
    # of ten) and `places` decimals: at most 30 digits, exact in 34.
    assert limit == 10 ** limit.adjusted() and limit.adjusted() + places <= MAX_DIGITS
    plain = re.compile(rf"[+-]?[0-9]{{1,{limit.adjusted()}}}(?:\.[0-9]{{0,{places}}})?")
    bounds = (limit.adjusted(), limit, places, sign == "positive", sign == "non_negative",
              f"must be at most {largest} in absolute value", f"at most {places} decimal places", plain)
    return partial(_exact, bounds)


to_decimal: Callable[[object], Decimal] = partial(_exact, None)
to_decimal.__doc__ = "A JSON number (int, or Decimal from parse_float) or a decimal string, exactly."


# The bounds of the table in the module docstring.
to_quantity = _bounded("1E+8", 4)
to_price = _bounded("1E+6", 4, "non_negative")
to_quoted_price = _bounded("1E+6", 4, "positive")
to_amount = _bounded("1E+14", 8)
to_fees = _bounded("1E+14", 8, "non_negative")
to_rate = _bounded("1E+5", 6, "positive")


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


EARLIEST_DATE = date(1900, 1, 1)


def utc_today() -> date:
    return datetime.now(timezone.utc).date()


# The clock of the date window; tests (and anyone replaying history under a
# fixed clock) may replace it.
today: Callable[[], date] = utc_today


def _year_later(now: date) -> date:
    try:
        return now.replace(year=now.year + 1)
    except ValueError:
        return now.replace(year=now.year + 1, day=28)


# The real clock's latest date, kept until the next UTC midnight: asking the
# clock per date field cost more than the rest of a date's validation.
_window: tuple[float, date] = (0.0, date.min)  # (valid until, epoch seconds; latest date)
_EPOCH = date(1970, 1, 1).toordinal()


def latest_date() -> date:
    """One year after today (29 February: the 28th next year)."""
    global _window
    if today is not utc_today:
        return _year_later(today())
    until, latest = _window
    if time.time() < until:
        return latest
    now = utc_today()
    latest = _year_later(now)
    _window = ((now.toordinal() - _EPOCH + 1) * 86400.0, latest)
    return latest


def to_event_date(value: object) -> date:
    """A date as `to_date`, within [EARLIEST_DATE, latest_date()]."""
    result = to_date(value)
    if result < EARLIEST_DATE:
        raise _fail("date_range", f"before {EARLIEST_DATE.isoformat()}")
    if result > latest_date():
        raise _fail("date_range", f"after {latest_date().isoformat()} (one year after today)")
    return result


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


_UNSTORABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def unstorable(value: str) -> str | None:
    """Why `value` cannot be stored ("control character U+0009 not allowed"), or None."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    kind = "lone surrogate" if found.group() >= "\ud800" else "control character"
    return f"{kind} U+{ord(found.group()):04X} not allowed"


def no_control_characters(value: object) -> object:
    """Refuse C0/C1 controls, DEL and lone surrogates."""
    if type(value) is str:
        message = unstorable(value)
        if message is not None:
            raise _fail("string_control", message)
    return value


# The string types refuse unstorable characters inside pydantic-core (Rust),
# not with a Python validator per field: that call cost more than the rest of
# a string's validation. A control character fails the pattern and a lone
# surrogate fails pydantic's own str check (it cannot be UTF-8); the decoder
# then words the fault with `unstorable` (schemas.decode._rejection).
_C = r"[^\x00-\x1f\x7f-\x9f]"  # a storable character
_V = r"[^\s\x00-\x1f\x7f-\x9f]"  # a storable, visible one
# Identifiers: non-empty, no surrounding whitespace, no line breaks, so that
# "P001 " can never silently become a second portfolio.
Identifier = Annotated[str, Strict(), StringConstraints(pattern=rf"^{_V}(?:{_C}*{_V})?$", max_length=200)]
# Free text (names, classifications): any string with some visible content.
Text = Annotated[str, Strict(), StringConstraints(pattern=rf"^{_C}*{_V}{_C}*$", max_length=1000)]
Currency = Annotated[str, Strict(), StringConstraints(pattern=r"^[A-Z]{3}$")]
# Explicit JSON serializers: with a PlainValidator pydantic otherwise wraps the
# type's own serializer and warns/fails in JSON mode. Decimals are written as
# strings (exact, and accepted back by the validators), dates as YYYY-MM-DD.
_AS_TEXT = PlainSerializer(str, return_type=str, when_used="json")
Day = Annotated[date, PlainValidator(to_event_date, json_schema_input_type=str), _AS_TEXT]


def _decimal(validator: Callable[[object], Decimal]) -> object:
    return Annotated[Decimal, PlainValidator(validator, json_schema_input_type=str | int), _AS_TEXT]


Quantity = _decimal(to_quantity)
TradePrice = _decimal(to_price)
QuotedPrice = _decimal(to_quoted_price)
Amount = _decimal(to_amount)
Fees = _decimal(to_fees)
Rate = _decimal(to_rate)
Version = Annotated[int, PlainValidator(to_version, json_schema_input_type=int), PlainSerializer(int, return_type=int)]


def _blank_to_none(value: object) -> object:
    # An optional attribute sent as "" means "not given" (allocation then says
    # Unclassified); rejecting the whole reference record would be worse.
    if type(value) is str and not value.strip():
        return None
    return value


OptionalText = Annotated[Text | None, BeforeValidator(_blank_to_none)]
OptionalIdentifier = Annotated[Identifier | None, BeforeValidator(_blank_to_none)]
