"""A small, deterministic demo book: two portfolios, about 15 months of trading.

Long enough for every analytics endpoint to say something: daily prices and FX
rates for every instrument and benchmark, deposits and withdrawals (so MWR and
TWR differ), dividends, a fee, and more than a year of history (1Y, YTD, MTD…).
No cash balance is ever negative: before a transaction that would overdraw a
currency, that currency is deposited first (the shortfall, rounded up to
TOP_UP), so buying in EUR or GBP from a USD book is funded like a real one.
"""
from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from types import SimpleNamespace

from core.cash import CASH_RULES

START = date(2025, 9, 1)
DAYS = 446  # through Friday 2026-11-20
TOP_UP = Decimal(10000)  # a currency's deposit covers its shortfall, rounded up to this

INSTRUMENTS = [
    {"security_id": "AAPL", "name": "Apple Inc.", "currency": "USD", "asset_class": "EQUITY",
     "sector": "Information Technology", "country": "US", "isin": "US0378331005"},
    {"security_id": "MSFT", "name": "Microsoft Corp.", "currency": "USD", "asset_class": "EQUITY",
     "sector": "Information Technology", "country": "US", "isin": "US5949181045"},
    {"security_id": "ASML", "name": "ASML Holding", "currency": "EUR", "asset_class": "EQUITY",
     "sector": "Information Technology", "country": "NL", "isin": "NL0010273215"},
    {"security_id": "SAP", "name": "SAP SE", "currency": "EUR", "asset_class": "EQUITY",
     "sector": "Information Technology", "country": "DE", "isin": "DE0007164600"},
    {"security_id": "ULVR", "name": "Unilever", "currency": "GBP", "asset_class": "EQUITY",
     "sector": "Consumer Staples", "country": "GB", "isin": "GB00B10RZP78"},
    {"security_id": "UST10", "name": "US Treasury 10Y ETF", "currency": "USD", "asset_class": "BOND",
     "sector": "Government", "country": "US"},
    {"security_id": "SPX", "name": "S&P 500 index", "currency": "USD", "asset_class": "INDEX"},
    {"security_id": "SX5E", "name": "EURO STOXX 50 index", "currency": "EUR", "asset_class": "INDEX"},
]
PORTFOLIOS = [
    {"portfolio_id": "DEMO-GROWTH", "name": "Demo growth (USD, FIFO)", "base_currency": "USD",
     "cost_method": "FIFO", "open_date": START.isoformat(), "benchmark_id": "SPX"},
    {"portfolio_id": "DEMO-INCOME", "name": "Demo income (EUR, AVCO)", "base_currency": "EUR",
     "cost_method": "AVCO", "open_date": START.isoformat(), "benchmark_id": "SX5E"},
]
START_PRICES = {"AAPL": 190, "MSFT": 420, "ASML": 900, "SAP": 180, "ULVR": 45, "UST10": 95, "SPX": 5200,
                "SX5E": 4900}
# Every pair a demo portfolio needs into its base (USD and EUR): Folio
# derives inverses but never crosses through a third currency.
START_FX = {("EUR", "USD"): Decimal("1.08"), ("GBP", "USD"): Decimal("1.27"), ("GBP", "EUR"): Decimal("1.17")}


def _q(value: float, places: str = "0.01") -> str:
    return str(Decimal(str(value)).quantize(Decimal(places)))


def demo_events(seed: int = 7) -> list[dict]:
    """Events as `{"topic", "key", "value"}` in a sensible publishing order."""
    rng = random.Random(seed)
    events = [{"topic": "portfolios", "key": p["portfolio_id"], "value": p} for p in PORTFOLIOS]
    events += [{"topic": "instruments", "key": i["security_id"], "value": i} for i in INSTRUMENTS]
    prices = {s: float(p) for s, p in START_PRICES.items()}
    fx = {pair: float(rate) for pair, rate in START_FX.items()}
    days = [START + timedelta(d) for d in range(DAYS) if (START + timedelta(d)).weekday() < 5]
    closes: dict[tuple[str, date], str] = {}
    for day in days:
        for (base, quote), rate in fx.items():
            fx[(base, quote)] = rate * (1 + rng.gauss(0, 0.003))
            events.append({"topic": "fx_rates", "key": f"{base}/{quote}", "value": {
                "from_currency": base, "to_currency": quote, "rate_date": day.isoformat(),
                "rate": _q(fx[(base, quote)], "0.000001")}})
        for sid in prices:
            prices[sid] *= 1 + rng.gauss(0.0004, 0.012)
            closes[(sid, day)] = _q(prices[sid])
            events.append({"topic": "prices", "key": sid, "value": {
                "security_id": sid, "price_date": day.isoformat(), "price": closes[(sid, day)]}})
    events += _transactions(rng, days, closes)
    return events


def _transactions(rng: random.Random, days: list[date], closes: dict[tuple[str, date], str]) -> list[dict]:
    out = []
    plans = {"DEMO-GROWTH": ("USD", ["AAPL", "MSFT", "ASML", "ULVR"]),
             "DEMO-INCOME": ("EUR", ["SAP", "ASML", "UST10", "ULVR"])}
    ccy = {i["security_id"]: i["currency"] for i in INSTRUMENTS}
    for pid, (base, universe) in plans.items():
        n = 0
        cash: dict[str, Decimal] = defaultdict(Decimal)

        def emit(**fields):
            nonlocal n
            n += 1
            out.append({"topic": "transactions", "key": pid,
                        "value": {"transaction_id": f"{pid}-{n:04d}", "portfolio_id": pid, **fields}})
            cash[fields["currency"]] += _cash_effect(fields)

        def tx(**fields):
            after = cash[fields["currency"]] + _cash_effect(fields)
            if after < 0:  # fund the currency first: the demo never shows negative cash
                top_up = (-after / TOP_UP).to_integral_value(ROUND_CEILING) * TOP_UP
                emit(type="DEPOSIT", trade_date=fields["trade_date"], amount=str(top_up), currency=fields["currency"])
            emit(**fields)

        tx(type="DEPOSIT", trade_date=days[0].isoformat(), amount="1000000", currency=base)
        held: dict[str, int] = {}
        for day in days[1:]:
            if rng.random() < 0.35:
                sid = rng.choice(universe)
                # Filled within half a percent of the day's close.
                price = float(closes[(sid, day)]) * (1 + rng.uniform(-0.005, 0.005))
                if held.get(sid, 0) > 20 and rng.random() < 0.35:
                    qty = rng.randint(5, held[sid])
                    held[sid] -= qty
                    tx(type="SELL", trade_date=day.isoformat(), security_id=sid, quantity=str(qty),
                       price=_q(price), fees="4.95", currency=ccy[sid])
                else:
                    qty = rng.randint(10, 200)
                    held[sid] = held.get(sid, 0) + qty
                    tx(type="BUY", trade_date=day.isoformat(), security_id=sid, quantity=str(qty),
                       price=_q(price), fees="4.95", currency=ccy[sid])
            if day.month in (3, 9) and day.day <= 7 and day.weekday() == 0:
                tx(type="DEPOSIT", trade_date=day.isoformat(), amount="100000", currency=base)
            if day.month in (6, 12) and day.day <= 7 and day.weekday() == 0:
                tx(type="WITHDRAWAL", trade_date=day.isoformat(), amount="50000", currency=base)
            if day.day == 15 and held:
                sid = rng.choice(sorted(held))
                tx(type="DIVIDEND", trade_date=day.isoformat(), security_id=sid,
                   amount=_q(held[sid] * 0.8), currency=ccy[sid])
        tx(type="FEE", trade_date=days[-1].isoformat(), amount="250", currency=base)
    return out


def _cash_effect(fields: dict) -> Decimal:
    """The cash a demo transaction moves in its currency (core.cash's rules)."""
    tx = SimpleNamespace(**{f: Decimal(fields.get(f, "0")) for f in ("quantity", "price", "amount", "fees")})
    return CASH_RULES[fields["type"]](tx)


def demo_jsonl() -> str:
    return "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in demo_events())
