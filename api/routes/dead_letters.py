"""GET /dead-letters (PostgreSQL); POST /dead-letters/redrive (admins).

A redrive over HTTP is `folio dlq redrive` (folio.dlq.redrive_run): the same
consumer group keeps the progress, so each letter is re-published once,
whichever of the two ran. It takes every open letter on the topic: a filter
would have to skip letters past the committed offset for good.
"""
from __future__ import annotations

from typing import Annotated

import asyncpg
from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, Query, Request

from api import audit
from api.auth.deps import Admin, CurrentPrincipal
from api.csv_lists import CsvListRoute
from api.deps import DatabaseDep, PageDep, QueryId, ResourcesDep, SessionDep, json_body_only
from api.db import DATABASE_ERRORS
from api.errors import BrokerUnavailable, DatabaseUnavailable
from api.models import DeadLetterOut, DeadLettersOut, RedriveOut
from folio.dlq import redrive_run
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


@router.post("/dead-letters/redrive", status_code=202, dependencies=[Depends(json_body_only)],
             responses={403: {"description": "needs the admin role"}, 415: {"description": "a body that is not JSON"},
                        503: {"description": "broker unavailable, or PostgreSQL could not record the redrive"}})
async def redrive_dead_letters(request: Request, resources: ResourcesDep, database: DatabaseDep,
                               caller: Admin) -> RedriveOut:
    """Re-publish every dead letter not redriven before to its source topic (as `folio dlq redrive`)."""
    settings = resources.settings
    async with resources.redrive_lock:
        try:
            report = await redrive_run(settings.kafka_bootstrap, database_url=settings.database_url)
        except KafkaError as exc:
            raise BrokerUnavailable(f"redrive: broker at {settings.kafka_bootstrap}: {exc}") from exc
        except (*DATABASE_ERRORS, asyncpg.PostgresError) as exc:
            # The letters went out but their redrive was not recorded (nor its
            # progress committed): the attempt is audited (or logged) as such.
            await audit.record(database, audit.request_entry(
                request, caller, audit.REDRIVE, [], {"error": f"redrive not recorded: {type(exc).__name__}"}))
            raise DatabaseUnavailable(
                f"redrive: letters may have been re-published but PostgreSQL could not record them "
                f"({type(exc).__name__}); a redrive once it is back re-publishes them again (harmless: "
                "consumers are idempotent)") from exc
    audited = await audit.record(database, audit.request_entry(
        request, caller, audit.REDRIVE, report.letter_ids(), report.audit_detail()))
    return RedriveOut(redrive_id=report.redrive_id, published=report.published, refused=report.refused,
                      audited=audited)
