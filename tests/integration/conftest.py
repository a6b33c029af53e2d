"""Integration fixtures: a whole Folio stack (real tansu broker, real PostgreSQL)."""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from folio.devenv.broker import free_port
from folio.devenv.stack import Stack
from folio.produce import produce_file
from tests.support.scenario import scenario_path

REFERENCE = {"portfolios", "instruments", "prices", "fx_rates"}
TEST_SESSION_TIMEOUT = 6.0
QUICK_ROUNDS = {"FOLIO_COMMIT_INTERVAL": "0.3", "FOLIO_SERIES_BATCH_WITHIN": "0.3"}


@pytest.fixture
async def start_stack(tmp_path_factory) -> AsyncIterator[Callable[..., Awaitable[Stack]]]:
    """Factory: a started stack with its own empty broker, database and data dir."""
    stacks: list[Stack] = []

    async def start(**overrides) -> Stack:
        # 6 s instead of folio up's 10: each of a stack's first group joins waits half of it.
        overrides.setdefault("session_timeout", TEST_SESSION_TIMEOUT)
        # Tests wait for every stage to be idle after each step: commits and series rounds every
        # 0.3 s instead of every second shorten each wait (a test's own extra_env still wins).
        overrides["extra_env"] = {**QUICK_ROUNDS, **overrides.get("extra_env", {})}
        stack = Stack(Path(tmp_path_factory.mktemp("folio")), api_port=free_port(), **overrides)
        stacks.append(stack)
        return await stack.start()

    yield start
    for stack in stacks:
        await stack.stop()


async def publish_scenario(stack: Stack, name: str) -> None:
    """The scenarios README's recommended way: reference data, lag 0, then transactions."""
    events = scenario_path(name) / "events.jsonl"
    await produce_file(stack.bootstrap, events, REFERENCE)
    await stack.wait_idle(include_sink=False)
    await produce_file(stack.bootstrap, events, {"transactions"})
    await stack.wait_idle()
