"""POST /ingest/{portfolios,instruments,transactions,prices,fx-rates}."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api.deps import PublisherDep
from api.ingest import TOPICS, identity, read_items, to_messages, validate_items
from api.models import Accepted, IngestRejection

router = APIRouter(prefix="/ingest", tags=["ingest"])
ItemsDep = Annotated[list[Any], Depends(read_items)]

_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "oneOf": [{"type": "array", "items": {"type": "object"}},
              {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}}},
               "required": ["items"]}]}}}}}


def _ingest(topic: str) -> Callable[..., Awaitable[Accepted]]:
    async def ingest(items: ItemsDep, publisher: PublisherDep) -> Accepted:
        events = validate_items(topic, items)
        if events:
            await publisher.publish(topic, to_messages(topic, events))
        return Accepted(accepted=len(events), ids=[identity(topic, e) for e in events])

    ingest.__name__ = f"ingest_{topic}"
    return ingest


for _segment, _topic in TOPICS.items():
    router.add_api_route(
        f"/{_segment}", _ingest(_topic), methods=["POST"], status_code=202, response_model=Accepted,
        summary=f"Validate and publish events to `{_topic}` (all or nothing)",
        responses={413: {"description": "body longer than FOLIO_MAX_BODY_BYTES: nothing published"},
                   422: {"model": IngestRejection, "description": "invalid items: nothing published"},
                   503: {"description": "broker unavailable"}},
        openapi_extra=_BODY,
    )
