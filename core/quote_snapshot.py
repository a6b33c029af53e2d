"""The quotes one portfolio's live valuation needs, as a plain dict and back.

The worker that owns a portfolio holds the full market (every price, rate and
instrument) but the API values the portfolio: the worker answers with just
the latest quotes for that portfolio's securities and currencies, and the API
reads them back as a `Quotes` on which core.valuation runs unchanged.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from core.market import InstrumentInfo, PriceQuote, Quotes, instrument_currency
from core.numbers import ONE, text


def snapshot_quotes(quotes: Quotes, positions: Mapping[str, str | None], currencies: Iterable[str],
                    base_currency: str) -> dict[str, Any]:
    """`positions`: security_id → the currency it was traded in (the fallback)."""
    prices: dict[str, Any] = {}
    instruments: dict[str, Any] = {}
    wanted = set(currencies)
    for security_id, traded in positions.items():
        info = quotes.instrument(security_id)
        if info is not None:
            instruments[security_id] = [info.name, info.currency, info.asset_class, info.sector, info.country]
        currency = instrument_currency(quotes, security_id, traded)
        if currency is not None:
            wanted.add(currency)
        quote = quotes.price(security_id, currency, None)
        prices[security_id] = None if quote is None else [text(quote.price), quote.day]
    rates = {c: text(quotes.fx(c, base_currency, None)) for c in sorted(wanted)}
    return {"base": base_currency, "prices": prices, "fx": rates, "instruments": instruments}


class SnapshotQuotes:
    """`Quotes` over a snapshot: the latest only (`on` must be None)."""

    def __init__(self, snapshot: Mapping[str, Any]) -> None:
        self.base = snapshot["base"]
        self._prices = snapshot["prices"]
        self._fx = snapshot["fx"]
        self._instruments = {
            sid: InstrumentInfo(sid, *fields) for sid, fields in snapshot["instruments"].items()}

    def price(self, security_id: str, instrument_currency: str | None, on: str | None) -> PriceQuote | None:
        found = self._prices.get(security_id)
        if found is None:
            return None
        price, day = found
        return PriceQuote(None if price is None else Decimal(price), day)

    def fx(self, from_ccy: str, to_ccy: str, on: str | None) -> Decimal | None:
        if from_ccy == to_ccy:
            return ONE
        if to_ccy != self.base:
            return None
        rate = self._fx.get(from_ccy)
        return None if rate is None else Decimal(rate)

    def instrument(self, security_id: str) -> InstrumentInfo | None:
        return self._instruments.get(security_id)
