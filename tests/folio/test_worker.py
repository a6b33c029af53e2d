"""Faust workers started by the dev harness (folio.devenv.worker) recover tables on tansu.

The counter app (faust_counter_app.py) counts events per key in a RocksDB
table and reports "table holds <sum> counts over <keys> keys" every second.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from folio.produce import publish
from tests.folio.conftest import create_counter_topic

pytestmark = pytest.mark.integration

EVENTS, KEYS = 3000, 300
FULL_TABLE = (EVENTS, KEYS)
REPORT = re.compile(r"table holds (\d+) counts over (\d+) keys")


def table_reports(log: Path) -> list[tuple[int, int]]:
    """Every (counts, keys) the worker has reported so far, in order."""
    return [(int(c), int(k)) for c, k in REPORT.findall(log.read_text(errors="replace"))]


def wait_for_reports(log: Path, enough, timeout: float = 120.0) -> list[tuple[int, int]]:
    """The reports once `enough(reports)` holds; fails on a crash or after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reports = table_reports(log)
        if enough(reports):
            return reports
        if "Crashed reason=" in log.read_text(errors="replace"):
            pytest.fail(f"worker crashed:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)
    pytest.fail(f"reports {table_reports(log)[-5:]} after {timeout:.0f}s:\n{log.read_text(errors='replace')[-3000:]}")


async def test_a_restarted_or_fresh_worker_recovers_the_whole_table_from_its_changelog(
    start_broker, faust_counter, tmp_path
):
    bootstrap = start_broker()
    await create_counter_topic(bootstrap)
    first = faust_counter(bootstrap, tmp_path / "data", "first.log")
    wait_for_reports(first, lambda reports: len(reports) > 0)
    await publish(bootstrap, "counter-events", [(f"k{i % KEYS}", b'"x"') for i in range(EVENTS)])
    counted = wait_for_reports(first, lambda reports: reports[-1][0] >= EVENTS)
    # Each event counted once: the count climbs to exactly EVENTS over KEYS keys, never past it.
    assert counted[-1] == FULL_TABLE
    assert max(c for c, _ in counted) == EVENTS
    faust_counter.stop()

    # Same data dir: RocksDB's persisted offsets must not exceed the changelog
    # highwater (plain Faust on tansu crashes here with ConsistencyError), and
    # the committed source offsets must not be consumed again.
    # Empty data dir: the table is rebuilt from the changelog, to its true end.
    for data_dir, log_name in ((tmp_path / "data", "restarted.log"), (tmp_path / "fresh", "fresh.log")):
        worker = faust_counter(bootstrap, data_dir, log_name)
        # Faust starts timers only once table recovery has completed (App.on_started),
        # so every report, the first included, shows the recovered table.
        reports = wait_for_reports(worker, lambda reports: len(reports) >= 3)
        assert reports == [FULL_TABLE] * len(reports), (log_name, reports)
        faust_counter.stop()
