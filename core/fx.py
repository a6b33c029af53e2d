"""FX rates by pair and date, with inverse pairs derived per date."""
from __future__ import annotations

from bisect import bisect_right, insort
from decimal import Decimal

from core.numbers import ONE, div


class FxBook:
    """Latest-on-or-before lookups over quoted rates.

    `rate(FROM, TO, d)` is the units of TO per unit of FROM. When only the
    opposite direction is quoted its inverse is used; when both are, the more
    recent quote date wins and the direct quote wins a tie. No cross rates.
    """

    def __init__(self) -> None:
        self._dates: dict[tuple[str, str], list[str]] = {}
        self._rates: dict[tuple[str, str], dict[str, Decimal]] = {}

    def put(self, from_ccy: str, to_ccy: str, rate_date: str, rate: Decimal) -> None:
        """Record a quote; a later one for the same pair and date corrects it."""
        pair = (from_ccy, to_ccy)
        rates = self._rates.setdefault(pair, {})
        if rate_date not in rates:
            insort(self._dates.setdefault(pair, []), rate_date)
        rates[rate_date] = rate

    def _latest(self, pair: tuple[str, str], on: str) -> str | None:
        dates = self._dates.get(pair)
        if not dates:
            return None
        i = bisect_right(dates, on)
        return dates[i - 1] if i else None

    def quote(self, from_ccy: str, to_ccy: str, on: str) -> tuple[Decimal, str] | None:
        """The rate and the date of the quote it comes from, or None."""
        if from_ccy == to_ccy:
            return ONE, on
        direct = self._latest((from_ccy, to_ccy), on)
        inverse = self._latest((to_ccy, from_ccy), on)
        if direct is not None and (inverse is None or direct >= inverse):
            return self._rates[(from_ccy, to_ccy)][direct], direct
        if inverse is not None:
            return div(ONE, self._rates[(to_ccy, from_ccy)][inverse]), inverse
        return None

    def rate(self, from_ccy: str, to_ccy: str, on: str) -> Decimal | None:
        found = self.quote(from_ccy, to_ccy, on)
        return None if found is None else found[0]

    def __len__(self) -> int:
        return sum(len(r) for r in self._rates.values())
