"""Market data as valuation sees it: closing prices, FX rates and instrument facts.

Everything is "latest on or before" a date (SPEC §2 Valuation). `on=None`
means "the latest there is", which is how live (now) figures are valued.

A price quoted in another currency than the instrument's is converted at
fx(price currency → instrument currency) on the *valuation* date, not on the
price's date (SPEC "Details that change numbers"). When that rate is missing
the price in the instrument's currency is unknown; `Quotes.price` then
returns a `PriceQuote` whose `price` is None, so valuation can say the rate
is what is missing (`missing_fx`), not the price.
"""
from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from core.fx import FxBook
from core.numbers import mul

# FxBook looks up "on or before a date"; a date after any real one asks for
# the latest quote without changing FxBook.
LATEST = "9999-12-31"


@dataclass(frozen=True, slots=True)
class PricePoint:
    """A closing price as published: `currency` None means the instrument's."""

    day: str
    price: Decimal
    currency: str | None


class PriceBook:
    """Closing prices by security and date; a later put for a date corrects it."""

    def __init__(self) -> None:
        self._dates: dict[str, list[str]] = {}
        self._points: dict[str, dict[str, PricePoint]] = {}

    def put(self, security_id: str, day: str, price: Decimal, currency: str | None = None) -> None:
        points = self._points.setdefault(security_id, {})
        if day not in points:
            insort(self._dates.setdefault(security_id, []), day)
        points[day] = PricePoint(day, price, currency)

    def latest(self, security_id: str, on: str | None = None) -> PricePoint | None:
        """The latest price on or before `on` (None: the latest of all)."""
        dates = self._dates.get(security_id)
        if not dates:
            return None
        if on is None:
            return self._points[security_id][dates[-1]]
        i = bisect_right(dates, on)
        return self._points[security_id][dates[i - 1]] if i else None

    def dates(self, security_id: str) -> list[str]:
        return list(self._dates.get(security_id, ()))

    def next_date_after(self, security_id: str, day: str) -> str | None:
        """The first price date after `day`: until then `latest(…, day)` stands."""
        dates = self._dates.get(security_id)
        if not dates:
            return None
        i = bisect_right(dates, day)
        return dates[i] if i < len(dates) else None

    def __len__(self) -> int:
        return sum(len(p) for p in self._points.values())


@dataclass(frozen=True, slots=True)
class InstrumentInfo:
    security_id: str
    name: str
    currency: str
    asset_class: str | None = None
    sector: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """The price valuation uses, in the instrument's currency.

    `price` is None when the price was quoted in another currency and no
    rate converts it on the valuation date: the price exists, the rate is
    missing. `quoted` is the price as published.
    """

    price: Decimal | None
    day: str  # the price's date
    quoted: PricePoint | None = None


PriceCursor = Callable[[str], "PriceQuote | None"]


class Quotes(Protocol):
    """What valuation needs of market data, as of a date (None: latest).

    An implementation may also offer `price_cursor(security_id,
    instrument_currency) -> PriceCursor`: the same as `price` for dates asked
    in ascending order, but cheaper (the daily series asks for every held
    security on every date). `price_cursor(quotes, …)` below falls back to
    `price` when it does not.
    """

    def price(self, security_id: str, instrument_currency: str | None, on: str | None) -> PriceQuote | None: ...

    def fx(self, from_ccy: str, to_ccy: str, on: str | None) -> Decimal | None: ...

    def instrument(self, security_id: str) -> InstrumentInfo | None: ...


class MarketData:
    """Quotes over the full history of prices, FX rates and instruments."""

    def __init__(self, prices: PriceBook | None = None, fx: FxBook | None = None,
                 instruments: Mapping[str, InstrumentInfo] | None = None) -> None:
        self.prices = prices if prices is not None else PriceBook()
        self.fx_book = fx if fx is not None else FxBook()
        self.instruments: dict[str, InstrumentInfo] = dict(instruments or {})

    def price(self, security_id: str, instrument_currency: str | None, on: str | None) -> PriceQuote | None:
        point = self.prices.latest(security_id, on)
        if point is None:
            return None
        if point.currency is None or instrument_currency is None or point.currency == instrument_currency:
            return PriceQuote(point.price, point.day, point)
        rate = self.fx(point.currency, instrument_currency, on)
        return PriceQuote(None if rate is None else mul(point.price, rate), point.day, point)

    def price_cursor(self, security_id: str, instrument_currency: str | None) -> PriceCursor:
        """`price(security_id, instrument_currency, day)` for ascending days."""
        return _BookCursor(self, security_id, instrument_currency)

    def fx(self, from_ccy: str, to_ccy: str, on: str | None) -> Decimal | None:
        return self.fx_book.rate(from_ccy, to_ccy, LATEST if on is None else on)

    def instrument(self, security_id: str) -> InstrumentInfo | None:
        return self.instruments.get(security_id)

    def instrument_currency(self, security_id: str, fallback: str | None = None) -> str | None:
        return instrument_currency(self, security_id, fallback)


class _BookCursor:
    """Walks one security's price dates forward: the quote is rebuilt only
    when a newer price date is reached, never searched for on every date.
    Short-lived: prices put after it was made may not be seen."""

    __slots__ = ("currency", "dates", "i", "market", "points", "quote", "security_id")

    def __init__(self, market: MarketData, security_id: str, currency: str | None) -> None:
        self.market, self.security_id, self.currency = market, security_id, currency
        self.dates = market.prices._dates.get(security_id) or []
        self.points = market.prices._points.get(security_id) or {}
        self.i = -1
        self.quote: PriceQuote | None = None

    def __call__(self, day: str) -> PriceQuote | None:
        dates, i = self.dates, self.i
        if i + 1 < len(dates) and dates[i + 1] <= day:
            self.i = i = bisect_right(dates, day, i + 1) - 1
            point = self.points[dates[i]]
            same = point.currency is None or self.currency is None or point.currency == self.currency
            # A price in another currency is converted at each date's rate.
            self.quote = PriceQuote(point.price, point.day, point) if same else None
        if i < 0:
            return None
        return self.quote or self.market.price(self.security_id, self.currency, day)


def price_cursor(quotes: Quotes, security_id: str, instrument_currency: str | None) -> PriceCursor:
    """The quotes' own cursor when they have one, else point lookups."""
    own = getattr(quotes, "price_cursor", None)
    if own is not None:
        return own(security_id, instrument_currency)
    return lambda day: quotes.price(security_id, instrument_currency, day)


def instrument_currency(quotes: Quotes, security_id: str, fallback: str | None = None) -> str | None:
    """The currency a security is valued in: its instrument's, else `fallback`.

    Transactions and prices for unknown instruments are accepted (SPEC
    Validation); such a position is valued in the currency it was traded in.
    """
    info = quotes.instrument(security_id)
    return info.currency if info is not None else fallback
