"""kill -9 of `folio up` at seeded random moments mid-stream: nothing acknowledged is lost, nothing is left running.

Three sources stream DEPOSITs, each into its own portfolio, and record what was
acknowledged: POST /ingest/transactions (every id of a 202), `folio produce`
(every id of a run that exited 0) and a plain aiokafka producer with acks=all
(every acked id, with the time of its ack). `folio up` is killed with SIGKILL
at a random moment, every process of the dead run must exit on its own, and
the next `folio up` must say what it restored. At the end every acknowledged
id must be listed by the API. FOLIO_UP_KILLS sets the number of kills
(default 2 keeps the test near 3 minutes here; the issue asks for 10).
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from folio.devenv import tansu_highwater
from folio.devenv.broker import free_port
from folio.devenv.progress import wait_for_lag_zero
from folio.devenv.run_state import read_children
from folio.devenv.stack import Stack
from tests.folio.up_process import UpProcess, processes_pointing_at, wait_until_gone

pytestmark = pytest.mark.integration

KILLS = int(os.environ.get("FOLIO_UP_KILLS", "2"))
SEED = int(os.environ.get("FOLIO_UP_KILL_SEED", "20261126"))
PORTFOLIOS = {"ingest": "KILL-INGEST", "produce": "KILL-PRODUCE", "direct": "KILL-DIRECT"}


def _deposit(portfolio: str, transaction_id: str, amount: int) -> dict:
    return {"transaction_id": transaction_id, "portfolio_id": portfolio, "type": "DEPOSIT",
            "trade_date": "2024-01-02", "amount": str(amount), "currency": "USD"}


@dataclass
class Acknowledged:
    ingest: set[str] = field(default_factory=set)
    produce: set[str] = field(default_factory=set)
    direct: dict[str, float] = field(default_factory=dict)  # id -> monotonic time of the ack


async def _stream_ingest(up: UpProcess, round_: int, acked: Acknowledged, stop: asyncio.Event) -> None:
    async with up.client(timeout=10) as client:
        n = 0
        while not stop.is_set():
            ids = [f"ING-{round_}-{n + i}" for i in range(3)]
            n += 3
            try:
                answer = await client.post("/ingest/transactions",
                                           json=[_deposit(PORTFOLIOS["ingest"], i, 1) for i in ids])
            except httpx.HTTPError:
                await asyncio.sleep(0.05)
                continue
            if answer.status_code == 202:
                acked.ingest.update(ids)


async def _stream_produce(bootstrap: str, work: Path, round_: int, acked: Acknowledged, stop: asyncio.Event) -> None:
    run = 0
    while not stop.is_set():
        ids = [f"PRD-{round_}-{run}-{i}" for i in range(5)]
        events = work / f"produce-{round_}-{run}.jsonl"
        events.write_text("".join(json.dumps({"topic": "transactions", "key": PORTFOLIOS["produce"],
                                              "value": _deposit(PORTFOLIOS["produce"], i, 1)}) + "\n" for i in ids))
        run += 1
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "folio.cli", "produce", str(events),
            env={**os.environ, "KAFKA_BOOTSTRAP": bootstrap},
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        try:
            code = await asyncio.wait_for(process.wait(), timeout=60)
        except TimeoutError:
            process.kill()
            await process.wait()
            continue
        if code == 0:
            acked.produce.update(ids)


async def _stream_direct(bootstrap: str, round_: int, acked: Acknowledged, stop: asyncio.Event) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False,
                                request_timeout_ms=10_000, linger_ms=5)
    await producer.start()

    def on_ack(transaction_id: str):
        def record(delivery: asyncio.Future) -> None:
            if not delivery.cancelled() and delivery.exception() is None:
                acked.direct[transaction_id] = time.monotonic()
        return record

    try:
        n = 0
        while not stop.is_set():
            transaction_id = f"DIR-{round_}-{n}"
            n += 1
            value = json.dumps(_deposit(PORTFOLIOS["direct"], transaction_id, 1)).encode()
            delivery = await producer.send("transactions", value, key=PORTFOLIOS["direct"].encode())
            delivery.add_done_callback(on_ack(transaction_id))
            if n % 10 == 0:  # pipelined, but at most ~200 events/s: the pipeline must catch up after each kill
                await asyncio.wait([delivery], timeout=10)
                await asyncio.sleep(0.05)
    finally:
        # With the broker gone, stop() waits for the request timeout: bounded, never awaited for ever.
        stopping = asyncio.ensure_future(producer.stop())
        await asyncio.wait([stopping], timeout=15)


async def _listed_ids(client: httpx.AsyncClient, portfolio: str) -> set[str]:
    ids: set[str] = set()
    offset = 0
    while True:
        answer = await client.get(f"/portfolios/{portfolio}/transactions", params={"limit": 1000, "offset": offset})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        ids.update(item["transaction_id"] for item in page["items"])
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return ids


async def _seed_portfolios(up: UpProcess) -> None:
    async with up.client(timeout=30) as client:
        answer = await client.post("/ingest/portfolios", json=[
            {"portfolio_id": pid, "name": pid, "base_currency": "USD", "cost_method": "FIFO",
             "open_date": "2024-01-01"} for pid in PORTFOLIOS.values()])
        assert answer.status_code == 202, answer.text
        deadline = time.monotonic() + 120
        for pid in PORTFOLIOS.values():
            while (await client.get(f"/portfolios/{pid}")).status_code != 200:
                assert time.monotonic() < deadline, f"portfolio {pid} never appeared"
                await asyncio.sleep(0.2)


async def test_kill_9_of_folio_up_mid_stream_loses_nothing_acknowledged_and_leaves_no_process(tmp_path: Path):
    rng = random.Random(SEED)
    data_dir = tmp_path / "folio"
    acked = Acknowledged()
    kills: list[dict] = []
    up = UpProcess(data_dir, free_port(), tmp_path / "up-0.log").start()
    await _seed_portfolios(up)
    for round_ in range(KILLS):
        stop = asyncio.Event()
        before = (len(acked.ingest), len(acked.produce), len(acked.direct))
        streams = [asyncio.create_task(_stream_ingest(up, round_, acked, stop)),
                   asyncio.create_task(_stream_produce(up.bootstrap, tmp_path, round_, acked, stop)),
                   asyncio.create_task(_stream_direct(up.bootstrap, round_, acked, stop))]
        await asyncio.sleep(rng.uniform(4.0, 12.0))  # the seeded random kill moment
        recorded = read_children(data_dir)
        up.kill()
        killed_at = time.monotonic()
        stop.set()
        await asyncio.wait(streams, timeout=90)
        during = (len(acked.ingest) - before[0], len(acked.produce) - before[1], len(acked.direct) - before[2])
        assert during[0] > 0 and during[2] > 0, f"round {round_}: the kill did not land mid-stream {during}"

        # Children exit when folio up dies: by the PIDs it recorded, and by a scan for anything of this data dir.
        # Each looked up once: a child exiting between two lookups is gone, not a None to wait for.
        running = [p for p in (entry.process() for entry in recorded.values()) if p is not None]
        assert wait_until_gone(running) == []
        assert wait_until_gone(processes_pointing_at(data_dir)) == []

        up = UpProcess(data_dir, free_port(), tmp_path / f"up-{round_ + 1}.log", key=up.key).start()
        said = [line for line in up.output().splitlines()[-40:] if line.startswith("folio: ")]
        restored = [line for line in said if line.startswith("folio: restored")]
        assert restored and "broker topics from" in restored[-1], up.output()[-3000:]
        assert any("did not stop cleanly" in line for line in said), said
        kills.append({"round": round_, "acked_during": during, "killed_at": killed_at, "said": said})

    try:
        second = subprocess.run([sys.executable, "-m", "folio.cli", "up", "--data-dir", str(data_dir),
                                 "--port", str(free_port())], capture_output=True, text=True, timeout=120)
        assert second.returncode == 2 and f"another folio up (pid {up.pid} " in second.stdout, second
        # Everything the broker holds applied, then every acknowledged id must be listed.
        tansu_highwater.install()  # end offsets as the harness reads them on tansu
        await wait_for_lag_zero(up.bootstrap, Stack(data_dir).lag_groups(), timeout=900)
        async with up.client(timeout=30) as client:
            listed = {source: await _listed_ids(client, pid) for source, pid in PORTFOLIOS.items()}
        missing = {"ingest": acked.ingest - listed["ingest"], "produce": acked.produce - listed["produce"],
                   "direct": set(acked.direct) - listed["direct"]}
    finally:
        assert up.stop() == 0, up.output()[-3000:]
    lost_direct_ages = sorted(
        min((k["killed_at"] - acked.direct[i] for k in kills if k["killed_at"] >= acked.direct[i]), default=0.0)
        for i in missing["direct"])
    print(json.dumps({"kills": KILLS, "seed": SEED, "acknowledged": {"ingest": len(acked.ingest),
                      "produce": len(acked.produce), "direct": len(acked.direct)},
                      "lost": {k: len(v) for k, v in missing.items()},
                      "direct_lost_acked_seconds_before_kill": lost_direct_ages,
                      "rounds": [{"acked_during": k["acked_during"], "said": k["said"]} for k in kills]},
                     indent=1))
    assert acked.produce, "no `folio produce` run finished before any kill: the test proved nothing for it"
    assert missing["ingest"] == set() and missing["produce"] == set()
    assert missing["direct"] == set(), f"direct producer: acked then lost, seconds before the kill: {lost_direct_ages}"
    assert wait_until_gone(processes_pointing_at(data_dir)) == []
