"""GET /dead-letters (PostgreSQL)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth.deps import CurrentPrincipal
from api.csv_lists import CsvListRoute
from api.deps import PageDep, QueryId, SessionDep
from api.models import DeadLetterOut, DeadLettersOut
from api.queries.dead_letters import LetterState, dead_letters

router = APIRouter(tags=["dead letters"], route_class=CsvListRoute)


@router.get("/dead-letters")
async def read_dead_letters(
    session: SessionDep, page: PageDep, caller: CurrentPrincipal, reason: QueryId = None, source_topic: QueryId = None,
    state: Annotated[LetterState | None, Query(description="open, redriven, resolved or failed_again")] = None,
) -> DeadLettersOut:
    by_reason, by_state, items = await dead_letters(session, page, reason=reason, source_topic=source_topic,
                                                    state=state, only=caller.portfolios)
    return DeadLettersOut(total=sum(by_reason.values()), by_reason=by_reason, by_state=by_state,
                          limit=page.limit, offset=page.offset, items=[DeadLetterOut(**row) for row in items])
