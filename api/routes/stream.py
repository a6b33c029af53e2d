"""GET /portfolios/{id}/stream: the portfolio's position stream (server-sent events, api.stream)."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Annotated

from fastapi import APIRouter, Header
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from api.deps import DatabaseDep, PortfolioId, ResourcesDep, ensure_portfolio
from api.stream import ID_PATTERN, EventId, Subscription, open_subscription

log = logging.getLogger("folio.api.stream")
router = APIRouter(prefix="/portfolios/{portfolio_id}", tags=["stream"])

FINISH_SECONDS = 1.0  # how long a dropped client's writer may wait to send the body's last chunk
INCOMPLETE = "ASGI callable returned without completing response"


class _DesignedDrops(logging.Filter):
    """Drops uvicorn's "returned without completing response" error for the requests whose
    stream was ended on purpose (a client dropped for falling behind): uvicorn logs it in
    the request's own task, right after the app returns, so the task names the request."""

    def __init__(self) -> None:
        super().__init__()
        self.tasks: weakref.WeakSet[asyncio.Task] = weakref.WeakSet()

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(INCOMPLETE):
            return True
        try:
            return asyncio.current_task() not in self.tasks
        except RuntimeError:  # no running loop
            return True


DESIGNED_DROPS = _DesignedDrops()
logging.getLogger("uvicorn.error").addFilter(DESIGNED_DROPS)

LastEventId = Annotated[str | None, Header(
    alias="Last-Event-ID", pattern=ID_PATTERN,
    description="resume after this event (the `id:` of the last event received)")]


class EventStreamResponse(Response):
    """`text/event-stream` of a subscription, until the client leaves or falls behind.

    A client that stops reading blocks only its own writer; when its queue
    overflows the hub drops it (one WARNING, api.stream) and the writer is
    cancelled. The body is then finished (the last chunk) so the client sees the
    stream end and reconnects with Last-Event-ID. A client that reads nothing
    at all cannot be sent even that within FINISH_SECONDS: its connection is
    closed instead, and uvicorn's "ASGI callable returned without completing
    response" error for that designed drop is not logged (`_DesignedDrops`).
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
        started = False

        async def write() -> None:
            nonlocal started
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            started = True
            async for frame in frames:
                await send({"type": "http.response.body", "body": frame, "more_body": True})

        async def client_left() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        tasks = [asyncio.create_task(write()), asyncio.create_task(client_left()),
                 asyncio.create_task(self.subscription.subscriber.dropped.wait())]
        dropped = False
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if tasks[0] in done and tasks[0].exception() is not None:
                log.error("position stream of %s failed", self.subscription.portfolio_id,
                          exc_info=tasks[0].exception())
            dropped = tasks[2] in done and tasks[0] not in done and tasks[1] not in done
        finally:
            self.subscription.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await frames.aclose()
        if dropped:
            await self._finish(send, started)

    async def _finish(self, send: Send, started: bool) -> None:
        """End a dropped client's response: the body's last chunk if it can be sent in time."""
        current = asyncio.current_task()
        if current is not None:
            DESIGNED_DROPS.tasks.add(current)  # else uvicorn's error stands for this request
        if not started:
            return
        with contextlib.suppress(TimeoutError, OSError):
            await asyncio.wait_for(send({"type": "http.response.body", "body": b"", "more_body": False}),
                                   FINISH_SECONDS)


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
