"""The audit log in PostgreSQL (`audit_log`, migration 007): the one insert
(used by the API and the `folio` CLI alike, through api.audit) and the read
behind GET /audit."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.queries.rows import Page, Paged
from api.queries.tables import audit_log as a


@dataclass(frozen=True)
class AuditEntry:
    """One accepted write: who, what and from where (PostgreSQL adds when)."""

    actor: str
    auth_method: str
    role: str
    action: str
    endpoint: str
    item_count: int
    ids: list[Any]
    client: str | None = None
    detail: dict[str, Any] | None = None

    def as_json(self) -> str:
        """The whole entry as one JSON line (what `folio.audit` logs when it cannot be stored)."""
        return json.dumps(asdict(self), sort_keys=True, default=str)


async def record_audit(session: AsyncSession, entry: AuditEntry) -> int:
    """Store the entry and commit; its row id."""
    row_id = await session.scalar(insert(a).values(**asdict(entry)).returning(a.c.id))
    await session.commit()
    return row_id


_COLUMNS = (a.c.id, a.c.at, a.c.actor, a.c.auth_method, a.c.role, a.c.action, a.c.endpoint, a.c.item_count,
            a.c.ids, a.c.client, a.c.detail)


async def audit_entries(session: AsyncSession, page: Page, *, actor: str | None = None, action: str | None = None,
                        since: datetime | None = None, before: datetime | None = None,
                        through: datetime | None = None) -> Paged[dict[str, Any]]:
    """One page of entries, newest first: `since` inclusive, `before` exclusive, `through` inclusive."""
    filters = []
    if actor is not None:
        filters.append(a.c.actor == actor)
    if action is not None:
        filters.append(a.c.action == action)
    if since is not None:
        filters.append(a.c.at >= since)
    if before is not None:
        filters.append(a.c.at < before)
    if through is not None:
        filters.append(a.c.at <= through)
    total = await session.scalar(select(func.count()).select_from(a).where(*filters))
    rows = await session.execute(
        select(*_COLUMNS).where(*filters).order_by(a.c.at.desc(), a.c.id.desc()).limit(page.limit)
        .offset(page.offset))
    return Paged(total or 0, [dict(r) for r in rows.mappings()])
