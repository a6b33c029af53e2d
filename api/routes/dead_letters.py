"""GET /dead-letters (PostgreSQL)."""
from __future__ import annotations

from fastapi import APIRouter

from api.deps import PageDep, QueryId, SessionDep
from api.models import DeadLetterOut, DeadLettersOut
from api.queries.dead_letters import dead_letters

router = APIRouter(tags=["dead letters"])


@router.get("/dead-letters")
async def read_dead_letters(session: SessionDep, page: PageDep, reason: QueryId = None,
                            source_topic: QueryId = None) -> DeadLettersOut:
    by_reason, items = await dead_letters(session, page, reason=reason, source_topic=source_topic)
    return DeadLettersOut(total=sum(by_reason.values()), by_reason=by_reason, limit=page.limit,
                          offset=page.offset, items=[DeadLetterOut(**row) for row in items])
