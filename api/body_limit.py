"""Request bodies are bounded for every route, before any of it reaches the app.

FastAPI reads a body model's body before a route's dependencies run, so a
route guarded by a role (POST /keys) would otherwise read any amount from a
caller without credentials. This pure ASGI middleware answers 413 as soon
as a body is known to exceed `FOLIO_MAX_BODY_BYTES`: by its Content-Length
without reading it, or while reading a streamed one (at most limit + one
chunk is held). A body within the limit is handed to the app as it came.
"""
from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PayloadTooLarge


def too_large(limit: int, why: str) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body exceeds {limit} bytes (FOLIO_MAX_BODY_BYTES): {why}")


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send, f"Content-Length is {declared.decode()}")
            return
        if declared == b"0" and b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)
            return
        chunks: list[Message] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                chunks.append(message)  # a disconnect: pass it on
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(scope, receive, send, "the body is longer")
                return
            chunks.append(message)
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return chunks.pop(0) if chunks else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, why: str) -> None:
        error = too_large(self.limit, why)
        await JSONResponse(error.body(), status_code=error.status_code)(scope, receive, send)
