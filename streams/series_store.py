"""PostgreSQL side of the daily series: load one portfolio's inputs, write its points.

The series is a pure function (core.series) of what the sink stored: effective
transactions, position history, prices, FX rates and instruments. Recomputing
[lo, hi] loads only what those dates need: each position's and price's latest
row before `lo`, rows inside the range, and cash balances carried into it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import asyncpg
import orjson

from core.fx import FxBook
from core.market import InstrumentInfo, MarketData, PriceBook, instrument_currency
from core.series import (
    CashMove,
    Holding,
    SeriesPoint,
    cash_moves_of,
    compute_series,
    flow_of,
    valuation_dates,
)

_BOUNDS = """
SELECT p.base_currency,
       (SELECT min(t.trade_date) FROM transactions t
        WHERE t.portfolio_id = p.portfolio_id AND t.status = 'BOOKED') AS first_day,
       (SELECT min(s.date) FROM daily_series s WHERE s.portfolio_id = p.portfolio_id) AS stored_first,
       (SELECT max(s.date) FROM daily_series s WHERE s.portfolio_id = p.portfolio_id) AS stored_last,
       portfolio_horizon(p.portfolio_id) AS horizon
FROM portfolios p WHERE p.portfolio_id = $1
"""

_TRANSACTIONS = """
SELECT type, trade_date, security_id, quantity, amount, currency, fx_applied, cash_effect
FROM transactions
WHERE portfolio_id = $1 AND status = 'BOOKED' AND trade_date BETWEEN $2 AND $3
"""

# Cash carried into the range: every effective transaction before it, summed in SQL.
_OPENING_CASH = """
SELECT c.key AS currency, sum(c.value::numeric) AS amount
FROM transactions t, jsonb_each_text(t.cash_effect) AS c
WHERE t.portfolio_id = $1 AND t.status = 'BOOKED' AND t.trade_date < $2
GROUP BY c.key
"""

_HISTORY = """
SELECT security_id, date, quantity FROM position_history
WHERE portfolio_id = $1 AND date BETWEEN $2 AND $3
UNION ALL
(SELECT DISTINCT ON (security_id) security_id, date, quantity FROM position_history
 WHERE portfolio_id = $1 AND date < $2 ORDER BY security_id, date DESC)
ORDER BY 1, 2
"""

_POSITIONS = "SELECT security_id, currency FROM positions WHERE portfolio_id = $1"

_INSTRUMENTS = """
SELECT security_id, name, currency, asset_class, sector, country FROM instruments
WHERE security_id = ANY($1::text[])
"""

_PRICES = """
SELECT security_id, price_date, price, currency FROM prices
WHERE security_id = ANY($1::text[]) AND price_date BETWEEN $2 AND $3
UNION ALL
(SELECT DISTINCT ON (security_id) security_id, price_date, price, currency FROM prices
 WHERE security_id = ANY($1::text[]) AND price_date < $2 ORDER BY security_id, price_date DESC)
ORDER BY 1, 2
"""

# Both directions of every pair, latest before the range and inside it.
_FX = """
SELECT from_currency, to_currency, rate_date, rate FROM fx_rates WHERE rate_date BETWEEN $1 AND $2
UNION ALL
(SELECT DISTINCT ON (from_currency, to_currency) from_currency, to_currency, rate_date, rate FROM fx_rates
 WHERE rate_date < $1 ORDER BY from_currency, to_currency, rate_date DESC)
ORDER BY 1, 2, 3
"""


@dataclass(frozen=True)
class Plan:
    """What a recompute will do: drop stored dates outside [first, horizon], rewrite [lo, hi]."""

    base_currency: str
    first_day: date | None
    horizon: date | None
    lo: date | None
    hi: date | None


def plan(bounds: asyncpg.Record, from_date: date | None, to_date: date | None) -> Plan:
    first, horizon = bounds["first_day"], bounds["horizon"]
    if first is None or horizon is None or first > horizon:
        return Plan(bounds["base_currency"], first, horizon, None, None)
    lo = first if from_date is None else max(from_date, first)
    hi = horizon if to_date is None else min(to_date, horizon)
    stored_first, stored_last = bounds["stored_first"], bounds["stored_last"]
    # A moved first date re-bases nothing (returns are per date) but the
    # stored range must start there; a gap after the stored end is filled.
    if stored_first != first:
        lo = first
    if stored_last is None or stored_last < lo:
        lo = first if stored_last is None else min(lo, stored_last + timedelta(days=1))
    if stored_last is not None and stored_last < hi:
        hi = horizon
    return Plan(bounds["base_currency"], first, horizon, lo, hi)


def _iso(d: date) -> str:
    return d.isoformat()


async def compute(conn: asyncpg.Connection, portfolio_id: str, p: Plan) -> list[SeriesPoint]:
    assert p.lo is not None and p.hi is not None and p.first_day is not None
    lo, hi = p.lo, p.hi
    in_range = await conn.fetch(_TRANSACTIONS, portfolio_id, lo, hi)
    # lo ≥ the first transaction (plan), so the range's own weekdays and
    # transaction dates are exactly its valuation dates.
    days = valuation_dates(_iso(lo), _iso(hi), {_iso(r["trade_date"]) for r in in_range})
    if not days:
        return []
    traded_in = {r["security_id"]: r["currency"] for r in await conn.fetch(_POSITIONS, portfolio_id)}
    histories: dict[str, list[tuple[str, Decimal]]] = {}
    for r in await conn.fetch(_HISTORY, portfolio_id, lo, hi):
        histories.setdefault(r["security_id"], []).append((_iso(r["date"]), r["quantity"]))
    market = await _market(conn, list(histories), lo, hi)
    # Valued in the instrument's currency (the traded one when the instrument is unknown).
    currency = {s: instrument_currency(market, s, traded_in.get(s)) for s in histories}
    holdings = [Holding(s, currency[s], rows) for s, rows in histories.items()]
    day_before = _iso(lo - timedelta(days=1))
    cash = [CashMove(day_before, r["currency"], r["amount"]) for r in await conn.fetch(_OPENING_CASH, portfolio_id, lo)]
    flows = []
    for r in in_range:
        day = _iso(r["trade_date"])
        cash += cash_moves_of(day, {c: Decimal(a) for c, a in orjson.loads(r["cash_effect"]).items()})
        sid = r["security_id"]
        flow = flow_of(r["type"], day, r["amount"], r["fx_applied"], sid,
                       currency.get(sid, r["currency"]) if sid else r["currency"], r["quantity"])
        if flow is not None:
            flows.append(flow)
    return compute_series(p.base_currency, days, holdings, cash, flows, market)


async def _market(conn: asyncpg.Connection, securities: list[str], lo: date, hi: date) -> MarketData:
    prices = PriceBook()
    for r in await conn.fetch(_PRICES, securities, lo, hi):
        prices.put(r["security_id"], _iso(r["price_date"]), r["price"], r["currency"])
    fx = FxBook()
    for r in await conn.fetch(_FX, lo, hi):
        fx.put(r["from_currency"], r["to_currency"], _iso(r["rate_date"]), r["rate"])
    instruments = {r["security_id"]: InstrumentInfo(r["security_id"], r["name"], r["currency"], r["asset_class"],
                                                    r["sector"], r["country"])
                   for r in await conn.fetch(_INSTRUMENTS, securities)}
    return MarketData(prices, fx, instruments)


async def recompute(conn: asyncpg.Connection, portfolio_id: str, from_date: date | None,
                    to_date: date | None) -> int:
    """Rewrite the portfolio's stale dates in one transaction; returns how many points were written."""
    async with conn.transaction():
        # Two workers may briefly both own a portfolio during a rebalance.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('series:' || $1))", portfolio_id)
        bounds = await conn.fetchrow(_BOUNDS, portfolio_id)
        if bounds is None:
            return 0
        p = plan(bounds, from_date, to_date)
        if p.lo is None:
            await conn.execute("DELETE FROM daily_series WHERE portfolio_id = $1", portfolio_id)
            return 0
        await conn.execute("DELETE FROM daily_series WHERE portfolio_id = $1 AND (date < $2 OR date > $3)",
                           portfolio_id, p.first_day, p.horizon)
        points = await compute(conn, portfolio_id, p)
        await conn.execute("DELETE FROM daily_series WHERE portfolio_id = $1 AND date BETWEEN $2 AND $3",
                           portfolio_id, p.lo, p.hi)
        if points:
            await conn.copy_records_to_table(
                "daily_series", columns=["portfolio_id", "date", "mv", "inflow", "outflow"],
                records=[(portfolio_id, date.fromisoformat(pt.day), pt.mv, pt.inflow, pt.outflow)
                         for pt in points])
        return len(points)
