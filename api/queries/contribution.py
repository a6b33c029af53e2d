"""The contribution report's flows, from PostgreSQL: what moved between each position
and cash (`transactions`), and the portfolio's external flows (`daily_series`)."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.queries.tables import daily_series as s
from api.queries.tables import transactions as t
from core.contribution import Flow
from core.numbers import mul

_TRANSFERS = {"TRANSFER_IN": 1, "TRANSFER_OUT": -1}


async def position_flows(session: AsyncSession, portfolio_id: str, from_: date, to: date) -> dict[str, list[Flow]]:
    """Per security, base-currency flows into it within [from_, to]: minus the cash a booked
    transaction naming it moved (a BUY's cost in, a SELL's proceeds or a dividend out), and a
    transfer's quantity × price (its fees stay with cash). Each at the FX rate it was booked with."""
    query = (select(t.c.security_id, t.c.trade_date, t.c.type, t.c.quantity, t.c.price, t.c.currency,
                    t.c.fx_applied, t.c.cash_effect)
             .where(t.c.portfolio_id == portfolio_id, t.c.status == "BOOKED", t.c.security_id.is_not(None),
                    t.c.trade_date >= from_, t.c.trade_date <= to, t.c.type != "SPLIT")
             .order_by(t.c.trade_date))
    flows: dict[str, list[Flow]] = defaultdict(list)
    for r in await session.execute(query):
        if r.type in _TRANSFERS:
            local = _TRANSFERS[r.type] * mul(r.quantity, r.price or Decimal(0))
        else:
            local = -sum((Decimal(v) for v in r.cash_effect.values()), Decimal(0))
        if local:
            flows[r.security_id].append(Flow(r.trade_date, mul(local, r.fx_applied)))
    return flows


async def external_flows(session: AsyncSession, portfolio_id: str, from_: date, to: date) -> list[Flow] | None:
    """The daily series' inflows (+) and outflows (−) within [from_, to]; None if one is unknown."""
    query = (select(s.c.date, s.c.inflow, s.c.outflow)
             .where(s.c.portfolio_id == portfolio_id, s.c.date >= from_, s.c.date <= to).order_by(s.c.date))
    flows = []
    for r in await session.execute(query):
        if r.inflow is None or r.outflow is None:
            return None
        flows += [Flow(r.date, r.inflow)] if r.inflow else []
        flows += [Flow(r.date, -r.outflow)] if r.outflow else []
    return flows
