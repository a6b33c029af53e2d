"""GET /audit: the audit log (admins only; api.audit writes it)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import DateOrTime, PageDep, QueryId, SessionDep
from api.errors import InvalidParameter
from api.models import AuditEntryOut, AuditOut
from api.queries.audit import audit_entries

router = APIRouter(tags=["audit"])


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone.utc)


@router.get("/audit", responses={422: {"description": "a bad filter (named), or `from` after `to`"}})
async def read_audit(
    session: SessionDep, page: PageDep, actor: QueryId = None, action: QueryId = None,
    from_: Annotated[DateOrTime | None, Query(alias="from", description="a date (UTC, inclusive) or a date-time")
                     ] = None,
    to: Annotated[DateOrTime | None, Query(description="a date (UTC, the whole day included) or a date-time "
                                                       "(inclusive)")] = None,
) -> AuditOut:
    """Every accepted write, newest first."""
    since = from_ if isinstance(from_, datetime) or from_ is None else _day_start(from_)
    whole_day = isinstance(to, date) and not isinstance(to, datetime) and to < date.max
    before = _day_start(to + timedelta(days=1)) if whole_day else None
    through = to if isinstance(to, datetime) else None
    if since is not None and ((before is not None and since >= before) or (through is not None and since > through)):
        raise InvalidParameter("query", "from", "`from` is after `to`")
    found = await audit_entries(session, page, actor=actor, action=action, since=since, before=before,
                                through=through)
    return AuditOut(total=found.total, limit=page.limit, offset=page.offset,
                    items=[AuditEntryOut(**row) for row in found.items])
