"""POST /ingest/{portfolios,instruments,transactions,prices,fx-rates}.

Accepted transaction versions are recorded in PostgreSQL (`ingest_receipts`)
before they are published, so their status reads `pending` until the sink
sees them applied or dead-lettered. When PostgreSQL cannot be reached the
ingest still publishes (the broker is what makes an event durable) and
answers `"tracked": false`: such an id answers 404 until it is applied. When
publishing fails the receipts just recorded are removed again. Each accepted
request is then audited (api.audit; `"audited": false` when PostgreSQL could
not take the row, which is logged on `folio.audit` instead).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from api import audit
from api.auth.deps import CurrentPrincipal
from api.db import DATABASE_ERRORS, Database
from api.deps import DatabaseDep, PublisherDep
from api.ingest import TOPICS, check_scope, identity, read_items, to_messages, validate_items
from api.models import Accepted, IngestRejection
from api.openapi import ingest_body
from api.queries.transactions import Receipt, forget_receipts, record_receipts
from schemas.decode import Event

log = logging.getLogger(__name__)

router = APIRouter(prefix="/ingest", tags=["ingest"])
ItemsDep = Annotated[list[Any], Depends(read_items)]

def _ingest(topic: str) -> Callable[..., Awaitable[Accepted]]:
    async def ingest(request: Request, items: ItemsDep, publisher: PublisherDep, database: DatabaseDep,
                     caller: CurrentPrincipal) -> Accepted:
        events = validate_items(topic, items)
        check_scope(topic, events, caller)
        tracked = None
        if topic == "transactions":
            receipts = _receipts(events)
            since = await _record(database, receipts)
            tracked = since is not None
        if events:
            try:
                await publisher.publish(topic, to_messages(topic, events))
            except BaseException:
                if tracked:
                    await _forget(database, receipts, since)
                raise
        ids = [identity(topic, e) for e in events]
        audited = await audit.record(database, audit.request_entry(request, caller, audit.INGEST, ids))
        return Accepted(accepted=len(events), ids=ids, tracked=tracked, audited=audited)

    ingest.__name__ = f"ingest_{topic}"
    return ingest


for _segment, _topic in TOPICS.items():
    router.add_api_route(
        f"/{_segment}", _ingest(_topic), methods=["POST"], status_code=202, response_model=Accepted,
        summary=f"Validate and publish events to `{_topic}` (all or nothing)",
        responses={403: {"description": "an item outside the caller's portfolios (named): nothing published"},
                   413: {"description": "body longer than FOLIO_MAX_BODY_BYTES: nothing published"},
                   415: {"description": "Content-Type is not application/json: nothing read or published"},
                   422: {"model": IngestRejection, "description": "invalid items: nothing published"},
                   503: {"description": "broker unavailable"}},
        openapi_extra=ingest_body(_topic),
    )


def _receipts(events: list[Event]) -> list[Receipt]:
    return [(e.portfolio_id, e.transaction_id, e.version) for e in events]


async def _record(database: Database, receipts: list[Receipt]) -> datetime | None:
    """Record the receipts; None (and a warning) when PostgreSQL is not there."""
    if not receipts or not database.url:
        return None
    try:
        async with asyncio.timeout(database.timeout), database.session() as session:
            return await record_receipts(session, receipts)
    except DATABASE_ERRORS as exc:
        log.warning("ingest receipts not recorded (%s): accepted ids read 404 until applied", exc)
        return None


async def _forget(database: Database, receipts: list[Receipt], since: datetime) -> None:
    with contextlib.suppress(*DATABASE_ERRORS):
        async with asyncio.timeout(database.timeout), database.session() as session:
            await forget_receipts(session, receipts, since)
