"""GET /portfolios/{id}/stream: the portfolio's position stream (server-sent events, api.stream)."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated

from fastapi import APIRouter, Header
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from api.deps import DatabaseDep, PortfolioId, ResourcesDep, ensure_portfolio
from api.stream import ID_PATTERN, EventId, Subscription, open_subscription

log = logging.getLogger("folio.api.stream")
router = APIRouter(prefix="/portfolios/{portfolio_id}", tags=["stream"])

LastEventId = Annotated[str | None, Header(
    alias="Last-Event-ID", pattern=ID_PATTERN,
    description="resume after this event (the `id:` of the last event received)")]


class EventStreamResponse(Response):
    """`text/event-stream` of a subscription, until the client leaves or falls behind.

    A client that stops reading blocks only its own writer; when its queue
    overflows the hub drops it and the writer is cancelled: the connection is
    closed mid-response (uvicorn logs "ASGI callable returned without
    completing response"), which is what tells the client to reconnect.
    """

    media_type = "text/event-stream"

    def __init__(self, subscription: Subscription) -> None:
        self.status_code = 200
        self.background = None
        # No content-length: the body never ends by itself.
        self.raw_headers = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"x-accel-buffering", b"no")]
        self.subscription = subscription

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        frames = self.subscription.frames()

        async def write() -> None:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async for frame in frames:
                await send({"type": "http.response.body", "body": frame, "more_body": True})

        async def client_left() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        tasks = [asyncio.create_task(write()), asyncio.create_task(client_left()),
                 asyncio.create_task(self.subscription.subscriber.dropped.wait())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if tasks[0] in done and tasks[0].exception() is not None:
                log.error("position stream of %s failed", self.subscription.portfolio_id,
                          exc_info=tasks[0].exception())
        finally:
            self.subscription.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await frames.aclose()


@router.get("/stream", response_class=EventStreamResponse, response_model=None, status_code=200, responses={
    200: {"content": {"text/event-stream": {}},
          "description": "events `position`, `cash`, `transaction`, `valuation` (and `reset`): see the README"},
    404: {"description": "unknown portfolio"}, 503: {"description": "database unavailable"}})
async def stream_portfolio(portfolio_id: PortfolioId, database: DatabaseDep, resources: ResourcesDep,
                           last_event_id: LastEventId = None) -> EventStreamResponse:
    async with database.session() as session:  # not a request-long dependency: a stream holds no pooled connection
        await ensure_portfolio(session, portfolio_id)
    subscription = await open_subscription(
        resources.stream, portfolio_id, None if last_event_id is None else EventId.parse(last_event_id),
        resources.settings.stream_heartbeat)
    return EventStreamResponse(subscription)
