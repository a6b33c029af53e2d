"""Faust workers started by the dev harness (folio.devenv.worker) recover tables on tansu."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from folio.produce import publish

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENTS, KEYS = 3000, 300
FULL_TABLE = f"table holds {EVENTS} counts over {KEYS} keys"


@pytest.fixture
def counter_worker(start_broker, tmp_path):
    """Start the counter app's worker through folio.devenv.worker; stop them all afterwards."""
    bootstrap = start_broker()
    started: list[subprocess.Popen] = []

    def start(data_dir: Path, log_name: str) -> Path:
        log = tmp_path / log_name
        env = {**os.environ, "KAFKA_BOOTSTRAP": bootstrap, "COUNTER_APP_ID": "counter"}
        started.append(subprocess.Popen(
            [sys.executable, "-m", "folio.devenv.worker", "-A", "tests.folio.faust_counter_app",
             "--datadir", str(data_dir), "worker", "-l", "info", "--without-web"],
            cwd=REPO_ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        ))
        return log

    def stop_latest() -> None:
        process = started[-1]
        process.terminate()
        process.wait(60)

    start.bootstrap = bootstrap
    start.stop_latest = stop_latest
    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for_line(log: Path, text: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text(errors="replace")
        if text in content:
            return
        if "Crashed reason=" in content:
            pytest.fail(f"worker crashed:\n{content[-3000:]}")
        time.sleep(0.5)
    pytest.fail(f"{text!r} not seen within {timeout:.0f}s:\n{log.read_text(errors='replace')[-3000:]}")


async def create_events_topic(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        await admin.create_topics([NewTopic("counter-events", 2, 1)])
    finally:
        await admin.close()


async def test_a_restarted_or_fresh_worker_recovers_the_whole_table_from_its_changelog(counter_worker, tmp_path):
    await create_events_topic(counter_worker.bootstrap)
    first = counter_worker(tmp_path / "data", "first.log")
    wait_for_line(first, "Worker ready")
    await publish(counter_worker.bootstrap, "counter-events", [(f"k{i % KEYS}", b'"x"') for i in range(EVENTS)])
    wait_for_line(first, FULL_TABLE)
    counter_worker.stop_latest()

    # Same data dir: RocksDB's persisted offsets must not exceed the changelog
    # highwater (plain Faust on tansu crashes here with ConsistencyError).
    restarted = counter_worker(tmp_path / "data", "restarted.log")
    wait_for_line(restarted, FULL_TABLE)
    counter_worker.stop_latest()

    # Empty data dir: the table is rebuilt from the changelog, to its true end.
    fresh = counter_worker(tmp_path / "fresh", "fresh.log")
    wait_for_line(fresh, FULL_TABLE)
