"""A position-stream client dropped for falling behind (api.routes.stream.EventStreamResponse), served by a
real uvicorn: the response ends on purpose, so uvicorn must not log "returned without completing response"."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import uvicorn

from api.routes.stream import EventStreamResponse
from api.stream import Event, EventId, Subscriber, Subscription
from folio.devenv.broker import free_port


@dataclass
class FakeHub:
    """What a Subscription needs of its hub when there is nothing to replay."""
    unsubscribed: list[Subscriber] = field(default_factory=list)
    database: object = None

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.unsubscribed.append(subscriber)


@dataclass
class Served:
    port: int
    subscribers: asyncio.Queue


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    """uvicorn serving one EventStreamResponse per request; each request's Subscriber arrives on a queue."""
    subscribers: asyncio.Queue = asyncio.Queue()

    async def app(scope, receive, send):
        subscriber = Subscriber("P1", asyncio.Queue(10))
        # cursor == replay_to's valuation: nothing to replay, straight to the live queue.
        subscription = Subscription(FakeHub(), "P1", subscriber, EventId(5, True), 5, heartbeat=60)
        await subscribers.put(subscriber)
        await EventStreamResponse(subscription)(scope, receive, send)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off",
                                           timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.02)
    yield Served(port, subscribers)
    server.should_exit = True
    await task


def _request(port: int, receive_buffer: int | None = None) -> socket.socket:
    sock = socket.socket()
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /stream HTTP/1.1\r\nHost: folio\r\n\r\n")
    return sock


def _read_until(sock: socket.socket, ending: bytes, timeout: float = 10) -> bytes:
    sock.settimeout(timeout)
    seen = b""
    with contextlib.suppress(TimeoutError, ConnectionError):
        while not seen.endswith(ending):
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            seen += chunk
    return seen


def _uvicorn_incomplete(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "uvicorn.error" and "ASGI callable returned without completing response" in r.getMessage()]


async def test_a_dropped_client_that_reads_gets_the_streams_last_chunk_and_uvicorn_logs_no_error(served, caplog):
    caplog.set_level(logging.INFO)
    sock = _request(served.port)
    subscriber = await asyncio.wait_for(served.subscribers.get(), 5)
    opening = await asyncio.to_thread(_read_until, sock, b"P1\n\n\r\n")
    assert b"200 OK" in opening and b"transfer-encoding: chunked" in opening.lower()

    subscriber.dropped.set()  # what Subscriber.offer does when the queue is full
    rest = await asyncio.to_thread(_read_until, sock, b"0\r\n\r\n")
    sock.close()
    await asyncio.sleep(0.2)

    assert rest == b"0\r\n\r\n"  # the chunked body's terminating chunk: the stream ended, not broke off
    assert _uvicorn_incomplete(caplog) == []


async def test_a_dropped_client_that_reads_nothing_is_disconnected_and_uvicorn_logs_no_error(served, caplog):
    caplog.set_level(logging.INFO)
    sock = _request(served.port, receive_buffer=4096)
    subscriber = await asyncio.wait_for(served.subscribers.get(), 5)
    # 64 KiB frames, never read: the kernel buffers fill and uvicorn pauses writing to this client.
    payload = b"data: " + b"x" * (64 * 1024) + b"\n\n"
    for n in range(1000):  # up to 64 MB, far beyond what loopback buffers hold
        if subscriber.queue.full():
            break
        subscriber.queue.put_nowait(Event(EventId(6 + n), payload))  # ids after the cursor (5v)
        await asyncio.sleep(0.002)
    await asyncio.sleep(0.3)
    assert subscriber.queue.qsize() > 0  # the writer is stuck: the client really reads nothing

    subscriber.dropped.set()
    await asyncio.sleep(1.5)  # past FINISH_SECONDS: the last chunk could not be sent
    sock.setblocking(False)
    sock.settimeout(10)
    closed = False
    with contextlib.suppress(TimeoutError, ConnectionError):
        while await asyncio.to_thread(sock.recv, 1 << 16):
            pass
        closed = True
    sock.close()

    assert closed  # the server closed the connection
    assert _uvicorn_incomplete(caplog) == []
