"""The development broker: tansu as a managed child process."""
from __future__ import annotations

import socket
from pathlib import Path

import psutil
import pytest
from aiokafka import AIOKafkaProducer

from folio.devenv.broker import BrokerStartError, TansuBroker, free_port

pytestmark = pytest.mark.integration


async def test_a_started_broker_delivers_a_produced_message(broker, new_topic, read_topic):
    topic = await new_topic()
    producer = AIOKafkaProducer(bootstrap_servers=broker)
    try:
        await producer.start()
        await producer.send_and_wait(topic, b"hello", key=b"greeting")
    finally:
        await producer.stop()

    records = await read_topic(broker, topic)

    assert [(r.key, r.value) for r in records] == [(b"greeting", b"hello")]


def test_start_returns_the_bootstrap_string_of_the_chosen_port(tmp_path: Path):
    port = free_port()
    with TansuBroker(tmp_path, port) as running:
        assert running.bootstrap == f"127.0.0.1:{port}"
        assert "listening on: tcp://127.0.0.1:" in (tmp_path / "tansu.log").read_text()


def test_stop_ends_the_process_and_frees_the_port(tmp_path: Path):
    running = TansuBroker(tmp_path)
    running.start()
    pid, port = running.pid, running.port

    running.stop()

    assert not psutil.pid_exists(pid)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


def test_start_refuses_a_port_someone_else_listens_on(tmp_path: Path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        with pytest.raises(BrokerStartError, match="already in use"):
            TansuBroker(tmp_path, squatter.getsockname()[1]).start()
