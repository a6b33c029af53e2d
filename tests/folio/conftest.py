"""Factories for tests of Folio's tooling against the real broker."""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from folio.dlq import read_to_end

_topic_numbers = itertools.count(1)


@pytest.fixture
def new_topic(broker: str) -> Callable[..., Awaitable[str]]:
    """Create a topic with a name no other test uses, on the session broker."""

    async def create(partitions: int = 1, prefix: str = "test") -> str:
        name = f"{prefix}-{next(_topic_numbers)}"
        admin = AIOKafkaAdminClient(bootstrap_servers=broker)
        try:
            await admin.start()
            response = await admin.create_topics([NewTopic(name, partitions, 1)])
            assert all(error_code == 0 for _, error_code, *_ in response.topic_errors), response
        finally:
            await admin.close()
        return name

    return create


@pytest.fixture
def read_topic() -> Callable[[str, str], Awaitable[list[ConsumerRecord]]]:
    """Everything on a topic right now: partitions merged by timestamp, each in offset order."""

    async def read(bootstrap: str, topic: str) -> list[ConsumerRecord]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20)
        try:
            await consumer.start()
            await consumer.topics()
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            return await read_to_end(consumer, partitions)
        finally:
            await consumer.stop()

    return read


@pytest.fixture
def events_file(tmp_path: Path) -> Callable[[list[str | dict[str, Any]]], Path]:
    """Write JSON lines (given as text, or as dicts to be dumped compactly) to a file."""
    numbers = itertools.count(1)

    def write(lines: list[str | dict[str, Any]]) -> Path:
        path = tmp_path / f"events-{next(numbers)}.jsonl"
        text = [line if isinstance(line, str) else json.dumps(line, separators=(",", ":")) for line in lines]
        path.write_text("\n".join(text) + "\n", encoding="utf-8")
        return path

    return write


REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def faust_counter(tmp_path: Path) -> Iterator[Callable[[str, Path, str], Path]]:
    """Factory: the counter app's Faust worker (faust_counter_app.py) through folio.devenv.worker.

    `start(bootstrap, data_dir, log_name)` returns the worker's log file;
    `start.stop()` stops the latest one; all are killed afterwards.
    """
    running: list[subprocess.Popen] = []

    def start(bootstrap: str, data_dir: Path, log_name: str) -> Path:
        log = tmp_path / log_name
        env = {**os.environ, "KAFKA_BOOTSTRAP": bootstrap, "COUNTER_APP_ID": "counter"}
        running.append(subprocess.Popen(
            [sys.executable, "-m", "folio.devenv.worker", "-A", "tests.folio.faust_counter_app",
             "--datadir", str(data_dir), "worker", "-l", "info", "--without-web"],
            cwd=REPO_ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        ))
        return log

    def stop() -> None:
        running[-1].terminate()
        running[-1].wait(60)

    start.stop = stop
    yield start
    for process in running:
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


async def create_counter_topic(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        await admin.create_topics([NewTopic("counter-events", 2, 1)])
    finally:
        await admin.close()
