"""What an operator sees: /metrics against what was published, and /health/ready naming a failing stage."""
from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter

import asyncpg
import httpx

from folio.consumer_groups import consumer_groups
from folio.produce import produce_file
from tests.integration.conftest import publish_scenario
from tests.support.prometheus import samples, total_by
from tests.support.scenario import event_lines, load_expected, scenario_path

FAST_HEARTBEAT = {"FOLIO_HEARTBEAT_INTERVAL": "1"}


async def _wait_for(check, timeout: float, what: str):
    """Poll `check` (async, returns a value or None) until it returns something."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last is not None and last is not False:
            return last
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{what} not seen within {timeout}s")


async def test_metrics_show_lag_per_group_and_partition_and_counts_matching_what_was_published(start_stack):
    expected = load_expected("small")
    published = Counter(line["topic"] for line in event_lines("small"))
    stack = await start_stack(extra_env={**FAST_HEARTBEAT, "FOLIO_LOG_FORMAT": "json"})
    await publish_scenario(stack, "small")

    async with stack.client(timeout=60) as client:
        async def metrics_with_heartbeats():
            text = (await client.get("/metrics")).text
            beats = total_by(text, "folio_stage_starts_total", "stage")
            return text if beats.get("sink") and beats.get("series") else None

        text = await _wait_for(metrics_with_heartbeats, 60, "sink and series heartbeats")

    lags = {(labels["group"], labels["topic"], labels["partition"]): value
            for name, labels, value in samples(text) if name == "folio_consumer_lag"}
    wanted_topics = {(g.group_id, t) for g in consumer_groups(stack.app_id) for t in g.topics}
    assert {(g, t) for g, t, _ in lags} == wanted_topics
    assert len({p for g, t, p in lags if t == "transactions"}) == 4
    assert set(lags.values()) == {0}
    batcher_committed = total_by(text, "folio_consumer_committed_offset", "topic", group="folio-positions-batcher")
    assert batcher_committed == {"transactions": published["transactions"]}

    assert total_by(text, "folio_dead_letters", "reason") == expected["dead_letters"]["by_reason"]
    assert total_by(text, "folio_events_dead_lettered_total", "reason") == expected["dead_letters"]["by_reason"]
    # Every published record was either applied or dead-lettered, once: by the ledger or by the reference screen.
    handled = Counter()
    for topology in ("positions", "reference"):
        handled.update(total_by(text, "folio_events_applied_total", "topic", topology=topology))
        handled.update(total_by(text, "folio_events_dead_lettered_total", "topic", topology=topology))
    assert handled == Counter({"transactions": published["transactions"], "portfolios": published["portfolios"],
                               "instruments": published["instruments"], "prices": published["prices"],
                               "fx_rates": published["fx_rates"]})
    assert total_by(text, "folio_events_applied_total", "topic", topology="batcher") == {
        "transactions": published["transactions"]}
    # The sink counts each record it consumed once; the broker says how many its group committed.
    sink_committed = sum(total_by(text, "folio_consumer_committed_offset", "group", group="folio-sink").values())
    assert sum(total_by(text, "folio_events_applied_total", "stage", stage="sink").values()) == sink_committed
    assert total_by(text, "folio_stage_starts_total", "stage") == {"sink": 1, "series": 1, "positions": 1}
    logs = {child: _json_log_lines(stack.supervisor.log_dir / f"{child}.log") for child in ("positions", "series", "sink")}
    assert {child: {line["stage"] for line in lines} for child, lines in logs.items()} == {
        "positions": {"positions"}, "series": {"series"}, "sink": {"sink"}}
    # Each dead letter is one record-level line saying where its record is.
    dead_lettered = [line for line in logs["positions"] if line["message"].startswith("dead-lettered (")]
    assert Counter(line["topic"] for line in dead_lettered) == Counter(
        item["topic"] for item in expected["dead_letters"]["items"])
    assert all(isinstance(line["partition"], int) and isinstance(line["offset"], int) for line in dead_lettered)


def _json_log_lines(path) -> list[dict]:
    """A child's log lines, each of which must be JSON (Faust's startup banner is no log line)."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line and line[0] not in "+|"]
    assert lines, path
    return lines


async def test_ready_names_the_sink_while_it_is_stopped_or_crash_looping_and_recovers(start_stack):
    stack = await start_stack(extra_env={**FAST_HEARTBEAT, "FOLIO_READY_HEARTBEAT_AGE": "8",
                                         "FOLIO_READY_RESTART_WINDOW": "30", "FOLIO_READY_MAX_STARTS": "3"})
    conn = await asyncpg.connect(stack.dsn)
    prices_published = sum(1 for line in event_lines("small") if line["topic"] == "prices")

    async def sink_starts() -> int:
        return await conn.fetchval("SELECT count(*) FROM stage_starts WHERE stage = 'sink'")

    async with stack.client(timeout=60) as client:
        async def readiness(status: int):
            response = await client.get("/health/ready")
            return response.json()["checks"] if response.status_code == status else None

        try:
            await _wait_for(lambda: readiness(200), 120, "readiness 200 after start")

            stack.supervisor.kill("sink")
            checks = await _wait_for(lambda: readiness(503), 60, "readiness 503 with the sink stopped")
            assert "stuck: last heartbeat" in checks["sink"], checks
            assert {k for k, v in checks.items() if v != "ok"} == {"sink"}, checks

            # What is published meanwhile waits for the sink: its lag on `prices` is every price published.
            await produce_file(stack.bootstrap, scenario_path("small") / "events.jsonl", {"prices"})
            async def sink_lag_on_prices():
                text = (await client.get("/metrics")).text  # observations are reused for a second
                return total_by(text, "folio_consumer_lag", "topic", group="folio-sink", topic="prices")

            lag = await _wait_for(lambda: _changed(sink_lag_on_prices, {"prices": 0}), 30, "the sink's lag on prices")
            assert lag == {"prices": prices_published}

            # Three more starts, each seen recorded: at least 3 fall within the 30 s window.
            for starts in (2, 3, 4):
                stack.supervisor.restart("sink")
                await _wait_for(lambda: _at_least(sink_starts, starts), 120, f"sink start #{starts}")
            checks = await _wait_for(lambda: readiness(503), 30, "readiness 503 with the sink crash-looping")
            assert re.match(r"crash-looping: [34] starts in the last 30s", checks["sink"]), checks
            assert {k for k, v in checks.items() if v != "ok"} == {"sink"}, checks

            # Once the starts fall out of the window, the sink is ready again, and caught up.
            await _wait_for(lambda: readiness(200), 180, "readiness 200 after the sink settled")
            await _wait_for(lambda: _equals(sink_lag_on_prices, {"prices": 0}), 60, "the sink's lag on prices at 0")
        finally:
            await conn.close()


async def _at_least(count, n: int) -> bool:
    return await count() >= n


async def _changed(read, before):
    """What `read` answers once it no longer answers `before`."""
    value = await read()
    return value if value != before else None


async def _equals(read, value) -> bool:
    return await read() == value
