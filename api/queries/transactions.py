"""Transactions as booked (the version in effect), from PostgreSQL `transactions`; one id's
trail (its versions and pending ingest receipts); and the receipts ingest records."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.queries.rows import Page, Paged
from api.queries.tables import ingest_receipts as r
from api.queries.tables import transaction_versions as tv
from api.queries.tables import transactions as t

Sort = Literal["trade_date", "-trade_date", "transaction_id", "-transaction_id"]
StatusFilter = Literal["BOOKED", "CANCELLED", "ALL"]

_BY_ID = t.c.transaction_id.collate("C")  # byte order: the same on every server
_ORDER = {
    "trade_date": (t.c.trade_date.asc().nulls_last(), t.c.arrival.asc(), _BY_ID.asc()),
    "-trade_date": (t.c.trade_date.desc().nulls_last(), t.c.arrival.desc(), _BY_ID.desc()),
    "transaction_id": (_BY_ID.asc(),),
    "-transaction_id": (_BY_ID.desc(),),
}


@dataclass(frozen=True, slots=True)
class TransactionFilter:
    date_from: date | None = None
    date_to: date | None = None
    type: str | None = None
    security_id: str | None = None
    status: StatusFilter = "BOOKED"

    def clauses(self, portfolio_id: str) -> list:
        clauses = [t.c.portfolio_id == portfolio_id]
        if self.status != "ALL":
            clauses.append(t.c.status == self.status)
        if self.date_from is not None:
            clauses.append(t.c.trade_date >= self.date_from)
        if self.date_to is not None:
            clauses.append(t.c.trade_date <= self.date_to)
        if self.type is not None:
            clauses.append(t.c.type == self.type)
        if self.security_id is not None:
            clauses.append(t.c.security_id == self.security_id)
        return clauses


async def list_transactions(session: AsyncSession, portfolio_id: str, where: TransactionFilter,
                            sort: Sort | None, page: Page) -> Paged[dict[str, Any]]:
    clauses = where.clauses(portfolio_id)
    total = await session.scalar(select(func.count()).select_from(t).where(*clauses))
    query = (
        select(t.c.transaction_id, t.c.portfolio_id, t.c.version, t.c.status, t.c.type, t.c.trade_date,
               t.c.settlement_date, t.c.security_id, t.c.quantity, t.c.price, t.c.amount, t.c.fees,
               t.c.currency, t.c.fx_rate, t.c.fx_applied.label("fx_rate_applied"), t.c.arrival,
               t.c.realized_local, t.c.realized_base, t.c.cash_effect)
        .where(*clauses)
        .order_by(*_ORDER[sort or "trade_date"])
        .limit(page.limit).offset(page.offset)
    )
    return Paged(total or 0, [dict(r) for r in (await session.execute(query)).mappings()])


# --- one id's status ----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TransactionTrail:
    """Everything stored about one transaction id of one portfolio."""

    in_effect: dict[str, Any] | None  # version and status of the `transactions` row
    versions: list[dict[str, Any]]
    receipts: list[int]  # versions accepted by ingest and not yet settled by the sink

    @property
    def pending_versions(self) -> list[int]:
        """Receipts above every version seen: a lower or equal one is a duplicate the ledger ignored."""
        seen = max((v["version"] for v in self.versions), default=0)
        return [v for v in self.receipts if v > seen]


async def transaction_trail(session: AsyncSession, portfolio_id: str, transaction_id: str) -> TransactionTrail:
    in_effect = (await session.execute(
        select(t.c.version, t.c.status).where(t.c.portfolio_id == portfolio_id,
                                              t.c.transaction_id == transaction_id))).mappings().first()
    versions = await session.execute(
        select(tv.c.version, tv.c.status, tv.c.seen_at, tv.c.type, tv.c.trade_date, tv.c.security_id,
               tv.c.quantity, tv.c.price, tv.c.amount, tv.c.fees, tv.c.currency, tv.c.arrival)
        .where(tv.c.portfolio_id == portfolio_id, tv.c.transaction_id == transaction_id)
        .order_by(tv.c.version))
    receipts = await session.scalars(
        select(r.c.version).where(r.c.portfolio_id == portfolio_id, r.c.transaction_id == transaction_id)
        .order_by(r.c.version))
    return TransactionTrail(dict(in_effect) if in_effect else None, [dict(v) for v in versions.mappings()],
                            list(receipts))


# --- ingest receipts (what makes an accepted id `pending`) ---------------------

# A version already in effect (or below one) is a re-send the ledger will ignore: no receipt,
# since no outcome would ever settle it.
_RECORD_RECEIPTS = text(
    "INSERT INTO ingest_receipts (portfolio_id, transaction_id, version)"
    " SELECT * FROM unnest(CAST(:p AS text[]), CAST(:t AS text[]), CAST(:v AS integer[])) AS k(p, t, v)"
    " WHERE NOT EXISTS (SELECT 1 FROM transaction_versions tv WHERE tv.portfolio_id = k.p"
    " AND tv.transaction_id = k.t AND tv.version >= k.v)"
    " ON CONFLICT DO NOTHING")
_FORGET_RECEIPTS = text(
    "DELETE FROM ingest_receipts r"
    " USING unnest(CAST(:p AS text[]), CAST(:t AS text[]), CAST(:v AS integer[])) AS k(p, t, v)"
    " WHERE r.portfolio_id = k.p AND r.transaction_id = k.t AND r.version = k.v"
    " AND r.received_at >= :since")

Receipt = tuple[str, str, int]  # (portfolio_id, transaction_id, version)


def _columns(receipts: list[Receipt]) -> dict[str, list]:
    return {"p": [x[0] for x in receipts], "t": [x[1] for x in receipts], "v": [x[2] for x in receipts]}


async def record_receipts(session: AsyncSession, receipts: list[Receipt]) -> datetime:
    """Store the receipts; returns the database's time, for `forget_receipts`."""
    since = await session.scalar(select(func.now()))
    await session.execute(_RECORD_RECEIPTS, _columns(receipts))
    await session.commit()
    return since


async def forget_receipts(session: AsyncSession, receipts: list[Receipt], since: datetime) -> None:
    """Remove receipts recorded from `since` on (a publish that failed); older ones stay."""
    await session.execute(_FORGET_RECEIPTS, {**_columns(receipts), "since": since})
    await session.commit()
