"""The position stream's reads: the sink's event log (`stream_events`, raw asyncpg:
the stream's listener is a plain asyncpg connection) and each portfolio's current
ledger rows (`positions`, `cash_balances`), which the stream values."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.queries.rows import CashRow, PositionRow
from api.queries.tables import cash_balances, portfolios, positions

PAGE = 2000  # log rows per read (a sink transaction larger than that is read whole)


@dataclass(frozen=True, slots=True)
class LogRow:
    id: int
    txid: int
    portfolio_id: str | None  # None: market data (kind price or fx)
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Book:
    """A portfolio's current ledger rows, as the sink last wrote them."""

    base_currency: str
    positions: list[PositionRow]
    cash: list[CashRow]


async def log_head(conn: asyncpg.Connection) -> tuple[int, int]:
    """(the newest id, the highest id pruned): a resume from at or below the latter may have lost events."""
    row = await conn.fetchrow("SELECT coalesce((SELECT max(id) FROM stream_events), 0) AS head,"
                              " (SELECT pruned_through FROM stream_log) AS pruned")
    return row["head"], row["pruned"] or 0


async def read_log(conn: asyncpg.Connection, after: int, portfolio_id: str | None = None,
                   page: int = PAGE) -> list[LogRow]:
    """Rows from `after` on (`after` itself included when it matches), whole sink transactions only.

    Every portfolio's rows, or one portfolio's and the market rows. At most
    about `page` rows: a page that ends inside a transaction leaves that
    transaction for the next read (or reads more, if it is the only one).
    """
    while True:
        if portfolio_id is None:
            found = await conn.fetch("SELECT id, txid, portfolio_id, kind, payload FROM stream_events"
                                     " WHERE id >= $1 ORDER BY id LIMIT $2", after, page)
        else:
            found = await conn.fetch("SELECT id, txid, portfolio_id, kind, payload FROM stream_events"
                                     " WHERE id >= $1 AND (portfolio_id = $2 OR portfolio_id IS NULL)"
                                     " ORDER BY id LIMIT $3", after, portfolio_id, page)
        rows = [LogRow(r["id"], r["txid"], r["portfolio_id"], r["kind"], _payload(r["payload"])) for r in found]
        if len(rows) < page:
            return rows
        whole = [r for r in rows if r.txid != rows[-1].txid]
        if whole:
            return whole
        page *= 2


def _payload(value: str | dict) -> dict[str, Any]:
    # A connection of the API's engine decodes jsonb itself; a plain asyncpg one gives text.
    return value if isinstance(value, dict) else orjson.loads(value)


async def current_books(session: AsyncSession, portfolio_ids: list[str]) -> dict[str, Book]:
    """Each known portfolio's listed positions and the balances of currencies an effective transaction moved."""
    p, c = positions, cash_balances
    books = {pid: Book(base, [], []) for pid, base in await session.execute(
        select(portfolios.c.portfolio_id, portfolios.c.base_currency)
        .where(portfolios.c.portfolio_id.in_(portfolio_ids)))}
    for r in await session.execute(
            select(p.c.portfolio_id, p.c.security_id, p.c.currency, p.c.quantity, p.c.cost_local, p.c.cost_base,
                   p.c.realized_local, p.c.realized_base)
            .where(p.c.portfolio_id.in_(portfolio_ids), p.c.listed).order_by(p.c.portfolio_id, p.c.security_id)):
        if r.portfolio_id in books:
            books[r.portfolio_id].positions.append(PositionRow(
                r.security_id, r.currency, r.quantity, r.cost_local, r.cost_base, r.realized_local, r.realized_base))
    for r in await session.execute(
            select(c.c.portfolio_id, c.c.currency, c.c.balance)
            .where(c.c.portfolio_id.in_(portfolio_ids), c.c.movers > 0).order_by(c.c.portfolio_id, c.c.currency)):
        if r.portfolio_id in books:
            books[r.portfolio_id].cash.append(CashRow(r.currency, r.balance))
    return books
