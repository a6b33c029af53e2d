"""A server-sent-events client for tests and benchmarks: reads a stream in the
background and keeps every event (and comment) with the moment it arrived."""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class SseEvent:
    name: str
    id: str | None
    data: dict[str, Any]
    received: float  # time.perf_counter() when its blank line arrived


@dataclass
class EventReader:
    """`async with EventReader(client, path) as reader:` collects `reader.events` until closed."""

    client: httpx.AsyncClient
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    events: list[SseEvent] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    ended: bool = False  # the server closed the stream
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task | None = None

    async def __aenter__(self) -> EventReader:
        self._task = asyncio.create_task(self._read())
        await self.wait_until(lambda r: r.status is not None, 60)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _read(self) -> None:
        try:
            async with self.client.stream("GET", self.path, headers=self.headers,
                                          timeout=httpx.Timeout(30, read=None)) as response:
                self.status = response.status_code
                self._changed.set()
                fields: dict[str, str] = {}
                async for line in response.aiter_lines():
                    if line.startswith(":"):
                        self.comments.append(line[1:].strip())
                    elif line:
                        name, _, value = line.partition(":")
                        fields[name] = value[1:] if value.startswith(" ") else value
                    elif fields:
                        self.events.append(SseEvent(fields.get("event", "message"), fields.get("id"),
                                                    json.loads(fields.get("data", "null")), time.perf_counter()))
                        fields = {}
                    self._changed.set()
        except httpx.HTTPError:
            pass
        finally:
            self.ended = True
            self._changed.set()

    @property
    def last_id(self) -> str | None:
        return self.events[-1].id if self.events else None

    def named(self, name: str) -> list[SseEvent]:
        return [e for e in self.events if e.name == name]

    async def wait_until(self, condition: Callable[[EventReader], bool], timeout: float = 60) -> None:
        """Until `condition(self)` holds; TimeoutError naming what was received otherwise."""
        deadline = time.monotonic() + timeout
        while not condition(self):
            if self.ended and self.status is not None and not condition(self):
                raise AssertionError(f"stream ended (HTTP {self.status}) after {[e.name for e in self.events]}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met; received {[(e.name, e.id) for e in self.events]}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass


async def stream_opening(app, path: str, headers: dict[str, str], until: bytes = b"") -> httpx.Response:
    """How an endless stream of an ASGI app answers: status, headers, and its body up to `until`.

    httpx's ASGI transport waits for a whole body, which a stream never ends;
    this client leaves once the answer has started and `until` arrived.
    """
    arrived, parts = asyncio.Event(), {"status": 0, "headers": [], "body": b"", "asked": False}

    async def receive() -> dict:
        if not parts["asked"]:
            parts["asked"] = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await arrived.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            parts["status"], parts["headers"] = message["status"], message["headers"]
        else:
            parts["body"] += message.get("body", b"")
        if parts["status"] != 200 or until in parts["body"]:
            arrived.set()

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("127.0.0.1", 1234), "server": ("folio.test", 80)}
    await asyncio.wait_for(app(scope, receive, send), 30)
    return httpx.Response(parts["status"], headers=parts["headers"], content=parts["body"])
