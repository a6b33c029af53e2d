"""take_until_idle: a batch leaves when the stream goes idle, never above max_, acknowledged after its body.

A Faust app on the memory store, driven by `agent.test_context()` (no broker).
"""
from __future__ import annotations

import asyncio
import time

import faust
import pytest

from streams.take import take_until_idle


@pytest.fixture
async def app(tmp_path):
    app = faust.App("take-test", store="memory://", datadir=str(tmp_path))
    app.loop = asyncio.get_running_loop()
    app.finalize()
    app.flow_control.resume()
    yield app


def _agent(app, batches: list, acked: list, max_: int = 100, within: float = 5.0, body=None,
           idle: float = 0.002, max_bytes: int | None = None):
    topic = app.topic("take-test-input", value_type=bytes, value_serializer="raw")

    @app.agent(topic)
    async def take(stream):
        original_ack = stream.ack

        async def ack(event):
            acked.append(event.value)
            return await original_ack(event)
        stream.ack = ack
        async for events in take_until_idle(stream, max_, within, idle, max_bytes):
            batches.append([e.value for e in events])
            if body is not None:
                await body(events)

    return take


async def _until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.001)


async def test_a_batch_is_yielded_when_no_further_event_arrives_not_after_the_whole_window(app):
    batches, acked = [], []
    agent = _agent(app, batches, acked, within=5.0)
    async with agent.test_context() as running:
        started = time.monotonic()
        for value in (b"a", b"b", b"c"):
            await running.put(value)
        await _until(lambda: sum(map(len, batches)) == 3)
        assert time.monotonic() - started < 1.0  # the window is 5 s
        assert [v for batch in batches for v in batch] == [b"a", b"b", b"c"]


async def test_a_batch_never_holds_more_than_max_events(app):
    batches, acked = [], []
    agent = _agent(app, batches, acked, max_=2)
    async with agent.test_context() as running:
        for value in (b"1", b"2", b"3", b"4", b"5"):
            await running.put(value)
        await _until(lambda: sum(map(len, batches)) == 5)
        assert all(len(batch) <= 2 for batch in batches)
        assert [v for batch in batches for v in batch] == [b"1", b"2", b"3", b"4", b"5"]


async def test_a_batch_holds_at_most_max_bytes_of_values_plus_the_event_that_reached_it(app):
    """Events of very different sizes (the worker's are record batches of 1 to 5,000 transactions)."""
    batches, acked = [], []
    agent = _agent(app, batches, acked, max_=100, max_bytes=10, idle=1.0)  # only the bound splits them here
    values = [b"x" * 4, b"x" * 4, b"x" * 4, b"x" * 30, b"x", b"x" * 9, b"x"]
    async with agent.test_context() as running:
        for value in values:
            await running.put(value)
        await _until(lambda: sum(map(len, batches)) == len(values))
    # 4+4 < 10, +4 = 12: full; 30 alone; 1+9 = 10: full; 1.
    assert [[len(v) for v in batch] for batch in batches] == [[4, 4, 4], [30], [1, 9], [1]]


async def test_events_are_acknowledged_only_once_the_batch_body_has_finished_with_them(app):
    batches, acked = [], []
    release = asyncio.Event()
    seen_at_body: list[list] = []

    async def body(events):
        await release.wait()
        seen_at_body.append(list(acked))

    agent = _agent(app, batches, acked, body=body)
    async with agent.test_context() as running:
        await running.put(b"x")
        await _until(lambda: batches)
        await running.put(b"y")  # arrives while the first batch is being processed
        await asyncio.sleep(0.05)
        assert acked == [] and batches == [[b"x"]]  # nothing acknowledged, nothing added meanwhile
        release.set()
        await _until(lambda: acked == [b"x", b"y"])
        assert batches == [[b"x"], [b"y"]]
        assert seen_at_body[0] == []  # x was not acknowledged while its body ran


async def test_with_idle_0_a_batch_waits_its_whole_window_and_gathers_events_that_trickle_in(app):
    batches, acked = [], []
    agent = _agent(app, batches, acked, within=0.3, idle=0)
    async with agent.test_context() as running:
        for value in (b"a", b"b", b"c"):
            await running.put(value)
            await asyncio.sleep(0.02)  # ten times the default idle gap
        await _until(lambda: sum(map(len, batches)) == 3)
        assert batches == [[b"a", b"b", b"c"]]
