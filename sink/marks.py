"""Which portfolios' daily series went stale, and from which date to which.

Derived inside the sink's write transaction from what the batch actually
changed, and stored in the `series_marks` outbox in that same transaction, so
a crash can never keep the data but lose the mark (or the reverse). The series
topology recomputes exactly these ranges (streams.series).

- a position whose history was rewritten from D, or a day of its history (a `days`
  record) that really changed on D: its portfolio from D on;
- a portfolio's row created or re-based (a new base currency): its whole series (its
  transactions' marks may have been spent before the row arrived);
- a transaction added, amended or cancelled: from the earlier of its old and
  new trade date on (cash and flows change every later date);
- a price for (security, D): every holder of the security, from D up to the
  day before that security's next price date (later dates use the later price);
- an FX rate for a pair on D: portfolios whose base or holdings or cash are in
  one of its currencies, from D up to the day before the pair's next quote in
  either direction (the inverse is derived per date);
- an instrument redefined: every holder, whole series;
- the market horizon (latest price or FX date) moving on: every portfolio, the
  new dates. A transaction dated beyond it extends only its own portfolio (its
  transaction mark; streams.series_store reads `portfolio_horizon`), so one
  portfolio's data never changes another's dates or periods.
"""
from __future__ import annotations

from datetime import date, timedelta

import asyncpg

from sink.rows import Batch

# (portfolio_id, from_date, to_date); None = open-ended on that side.
Mark = tuple[str, date | None, date | None]

_PREVIOUS_TX = """
SELECT t.portfolio_id, t.transaction_id, t.trade_date, t.seq FROM transactions t
JOIN unnest($1::text[], $2::text[]) AS k(p, i) ON t.portfolio_id = k.p AND t.transaction_id = k.i
"""

_HOLDERS = "SELECT DISTINCT portfolio_id, security_id FROM positions WHERE security_id = ANY($1::text[])"

_NEXT_PRICE = """
SELECT k.s, (SELECT min(p.price_date) FROM prices p WHERE p.security_id = k.s AND p.price_date > k.d) AS next
FROM unnest($1::text[], $2::date[]) AS k(s, d)
"""

_NEXT_FX = """
SELECT k.a, k.b, (SELECT min(f.rate_date) FROM fx_rates f
                  WHERE ((f.from_currency = k.a AND f.to_currency = k.b)
                      OR (f.from_currency = k.b AND f.to_currency = k.a)) AND f.rate_date > k.d) AS next
FROM unnest($1::text[], $2::text[], $3::date[]) AS k(a, b, d)
"""

_EXPOSED = """
SELECT portfolio_id FROM portfolios WHERE base_currency = ANY($1::text[])
UNION SELECT portfolio_id FROM positions WHERE currency = ANY($1::text[])
UNION SELECT portfolio_id FROM cash_balances WHERE currency = ANY($1::text[])
"""


async def previous_transactions(conn: asyncpg.Connection, batch: Batch) -> dict[tuple[str, str], tuple]:
    """(trade_date, seq) stored for the batch's transactions before it is written."""
    if not batch.transactions:
        return {}
    keys = list(batch.transactions)
    rows = await conn.fetch(_PREVIOUS_TX, [k[0] for k in keys], [k[1] for k in keys])
    return {(r["portfolio_id"], r["transaction_id"]): (r["trade_date"], r["seq"]) for r in rows}


def _day_before(d: date | None) -> date | None:
    return None if d is None else d - timedelta(days=1)


def transaction_marks(batch: Batch, previous: dict[tuple[str, str], tuple]) -> list[Mark]:
    marks = []
    for key, row in batch.transactions.items():
        old_date, old_seq = previous.get(key, (None, 0))
        if old_seq >= row[-1]:
            continue  # replayed: nothing changed
        new_date = row[5]
        dates = [d for d in (old_date, new_date) if d is not None]
        marks.append((key[0], min(dates) if dates else None, None))
    return marks


async def price_marks(conn: asyncpg.Connection, changed: list[tuple[str, date]]) -> list[Mark]:
    """`changed`: the (security, date) prices the batch really wrote."""
    first: dict[str, date] = {}
    last: dict[str, date] = {}
    for security_id, day in changed:
        first[security_id] = min(first.get(security_id, day), day)
        last[security_id] = max(last.get(security_id, day), day)
    securities = list(first)
    nexts = {r["s"]: r["next"] for r in await conn.fetch(_NEXT_PRICE, securities, [last[s] for s in securities])}
    return [(r["portfolio_id"], first[r["security_id"]], _day_before(nexts.get(r["security_id"])))
            for r in await conn.fetch(_HOLDERS, securities)]


async def fx_marks(conn: asyncpg.Connection, changed: list[tuple[str, str, date]]) -> list[Mark]:
    """`changed`: the (from, to, date) rates the batch really wrote."""
    first: dict[tuple[str, str], date] = {}
    last: dict[tuple[str, str], date] = {}
    for from_ccy, to_ccy, day in changed:
        pair = tuple(sorted((from_ccy, to_ccy)))
        first[pair] = min(first.get(pair, day), day)
        last[pair] = max(last.get(pair, day), day)
    pairs = list(first)
    rows = await conn.fetch(_NEXT_FX, [p[0] for p in pairs], [p[1] for p in pairs], [last[p] for p in pairs])
    marks = []
    for r in rows:
        pair = (r["a"], r["b"])
        for holder in await conn.fetch(_EXPOSED, list(pair)):
            marks.append((holder["portfolio_id"], first[pair], _day_before(r["next"])))
    return marks


async def instrument_marks(conn: asyncpg.Connection, changed: list[tuple[str]]) -> list[Mark]:
    """`changed`: the instruments the batch really wrote."""
    return [(r["portfolio_id"], None, None) for r in await conn.fetch(_HOLDERS, [c[0] for c in changed])]


def _latest_market_date(batch: Batch) -> date | None:
    # Trade dates do not count: they are one portfolio's, not the market's.
    return max([day for _, day in batch.prices] + [day for *_, day in batch.fx_rates], default=None)


async def horizon_marks(conn: asyncpg.Connection, latest: date | None) -> list[Mark]:
    """Move the market horizon on; every portfolio gains the new dates."""
    if latest is None:
        return []
    old = await conn.fetchval("SELECT horizon FROM market_horizon FOR UPDATE")
    if old is not None and old >= latest:
        return []
    await conn.execute("INSERT INTO market_horizon (singleton, horizon) VALUES (true, $1)"
                       " ON CONFLICT (singleton) DO UPDATE SET horizon = EXCLUDED.horizon", latest)
    start = None if old is None else old + timedelta(days=1)
    return [(r["portfolio_id"], start, latest) for r in await conn.fetch("SELECT portfolio_id FROM portfolios")]


def coalesce(marks: list[Mark]) -> list[Mark]:
    """One covering range per portfolio (None wins on either side)."""
    lo: dict[str, date | None] = {}
    hi: dict[str, date | None] = {}
    for portfolio_id, from_date, to_date in marks:
        if portfolio_id not in lo:
            lo[portfolio_id], hi[portfolio_id] = from_date, to_date
            continue
        a, b = lo[portfolio_id], hi[portfolio_id]
        lo[portfolio_id] = None if a is None or from_date is None else min(a, from_date)
        hi[portfolio_id] = None if b is None or to_date is None else max(b, to_date)
    return [(p, lo[p], hi[p]) for p in lo]


async def record_marks(conn: asyncpg.Connection, batch: Batch, previous: dict[tuple[str, str], tuple],
                       position_marks: list[Mark], changed_prices: list[tuple] = (),
                       changed_fx: list[tuple] = (), changed_instruments: list[tuple] = ()) -> int:
    """Derive and store the batch's series marks; returns how many were stored."""
    marks = list(position_marks)
    marks += transaction_marks(batch, previous)
    if changed_prices:
        marks += await price_marks(conn, list(changed_prices))
    if changed_fx:
        marks += await fx_marks(conn, list(changed_fx))
    if changed_instruments:
        marks += await instrument_marks(conn, list(changed_instruments))
    marks += await horizon_marks(conn, _latest_market_date(batch))
    rows = coalesce(marks)
    if rows:
        await conn.copy_records_to_table("series_marks", records=rows,
                                         columns=["portfolio_id", "from_date", "to_date"])
    return len(rows)

