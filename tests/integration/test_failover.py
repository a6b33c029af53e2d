"""Positions workers joining and dying: live reads answer 503 while a rebalance
is in progress, never a recovering or standby table's figures, and a survivor
takes over a dead worker's partitions."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx
import pytest

from folio.devenv.broker import free_port
from folio.devenv.processes import worker_spec
from folio.devenv.progress import group_lag
from folio.produce import produce_events, produce_file, read_events
from tests.integration.conftest import REFERENCE, publish_scenario
from tests.integration.expected_figures import compare_everything, report
from tests.integration.worker_routing import partition_of, partition_owners
from tests.support.scenario import Mismatches, compare_cash, compare_positions, load_expected, scenario_path


@dataclass
class Read:
    sent: float
    pid: str
    status: int
    wrong: list[str] = field(default_factory=list)  # mismatches with expected.json (checked once settled)
    answered: float = field(default_factory=time.monotonic)

    def overlaps(self, start: float, end: float) -> bool:
        """In flight at some moment of [start, end]: a read sent just before a kill may meet it."""
        return self.answered >= start and self.sent <= end


@dataclass
class LiveReads:
    """Polls every portfolio's live positions and cash through the API, all the time.

    Once `settled` (everything published has been applied), a 200 must carry
    expected.json's figures: a stale or recovering table's answer shows here.
    """
    api_url: str
    headers: dict[str, str]
    expected: dict
    settled: bool = False
    reads: list[Read] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.api_url, timeout=30, headers=self.headers) as client:
            while not self._stop.is_set():
                for pid, exp in self.expected["portfolios"].items():
                    self.reads.append(await self._read(client, pid, exp))

    async def _read(self, client: httpx.AsyncClient, pid: str, exp: dict) -> Read:
        sent, settled = time.monotonic(), self.settled
        positions = await client.get(f"/portfolios/{pid}/positions", params={"limit": 1000})
        if positions.status_code != 200:
            return Read(sent, pid, positions.status_code)
        cash = await client.get(f"/portfolios/{pid}/cash", params={"limit": 1000})
        if cash.status_code != 200:
            return Read(sent, pid, cash.status_code)
        m = Mismatches()
        if settled:
            # Totals only: lots are compared at the end, not while polling.
            compare_positions(m, pid, "AVCO", exp["positions"],
                              {p["security_id"]: p for p in positions.json()["positions"]})
            compare_cash(m, pid, exp["cash"], {b["currency"]: b["amount"] for b in cash.json()["balances"]})
        return Read(sent, pid, 200, list(m))

    async def until_each_answered_after(self, moment: float, timeout: float = 300) -> None:
        """Wait until every portfolio has had a 200 sent after `moment`."""
        deadline = time.monotonic() + timeout
        while {r.pid for r in self.reads if r.sent > moment and r.status == 200} != set(self.expected["portfolios"]):
            assert time.monotonic() < deadline, f"not every portfolio answered 200 within {timeout}s"
            await asyncio.sleep(0.2)

    def stop(self) -> None:
        self._stop.set()


async def _wait_ready(client: httpx.AsyncClient, worker_url: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if (await client.get(f"{worker_url}/ready/")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{worker_url} not ready within {timeout}s"
        await asyncio.sleep(0.2)


def _statuses(reads: list[Read]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for r in reads:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts


async def test_live_reads_answer_503_while_a_worker_joins_and_never_a_stale_figure(start_stack):
    expected = load_expected("medium")
    stack = await start_stack()
    await publish_scenario(stack, "medium")
    reads = LiveReads(stack.api_url, stack.api_headers, expected, settled=True)
    poller = asyncio.create_task(reads.run())
    try:
        await reads.until_each_answered_after(time.monotonic())
        # A second worker joins: the group rebalances, and the newcomer recovers
        # its partitions from the changelogs while the first keeps them as standbys.
        joined = time.monotonic()
        port = free_port()
        (stack.data_dir / "worker-joining").mkdir()
        stack.supervisor.start(worker_spec(port, stack.data_dir / "worker-joining", "positions-joining"))
        newcomer = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(timeout=5) as client:
            await _wait_ready(client, newcomer)
            owners = await partition_owners(client, stack.worker_url)
            await _wait_ready(client, stack.worker_url)
        balanced = time.monotonic()
        assert set(owners.values()) == {stack.worker_url, newcomer}, owners
        await reads.until_each_answered_after(balanced)
    finally:
        reads.stop()
        await poller
    during = [r for r in reads.reads if joined <= r.sent <= balanced]
    print(f"\nlive reads while the worker joined: {_statuses(during)}; overall {_statuses(reads.reads)}")
    wrong = [f"{r.pid} at +{r.sent - joined:.2f}s: {r.wrong[:3]}" for r in reads.reads if r.wrong]
    assert not wrong, "a 200 carried figures other than expected.json's:\n" + "\n".join(wrong[:20])
    assert set(_statuses(reads.reads)) <= {200, 503}, _statuses(reads.reads)
    outside = [r for r in reads.reads if r.status != 200 and not r.overlaps(joined, balanced)]
    assert not outside, f"{len(outside)} non-200 answers outside the rebalance"
    assert _statuses(during).get(503), f"no 503 seen during the rebalance: {_statuses(during)}"


async def test_when_one_of_two_workers_dies_mid_stream_the_survivor_takes_over(start_stack):
    expected = load_expected("medium")
    stack = await start_stack(workers=2)
    # The first worker dies: the one the API lists first and Faust's router answers from.
    doomed_url, survivor_url = stack.worker_urls()
    doomed = stack.worker_names()[0]
    events = scenario_path("medium") / "events.jsonl"
    await produce_file(stack.bootstrap, events, REFERENCE)
    await stack.wait_idle(include_sink=False)

    async with httpx.AsyncClient(timeout=5) as client:
        owners = await partition_owners(client, survivor_url)
    orphaned = sorted(pid for pid in expected["portfolios"] if owners[partition_of(pid)] == doomed_url)
    assert orphaned, f"the worker to be killed owns no scenario portfolio: {owners}"
    # Standby replicas (FOLIO_STANDBY_REPLICAS, default 1): the survivor keeps a
    # copy of the doomed worker's partitions, so it takes over without a full replay.
    standby_dbs = {p.name for p in stack.worker_dir(1).glob("**/books-*.db")}
    assert {f"books-{p}.db" for p, url in owners.items() if url == doomed_url} <= standby_dbs, standby_dbs

    reads = LiveReads(stack.api_url, stack.api_headers, expected)
    poller = asyncio.create_task(reads.run())
    transactions = read_events(events, {"transactions"})
    chunks = [transactions[i:i + 150] for i in range(0, len(transactions), 150)]
    kill_at = len(chunks) // 3
    in_flight = None
    try:
        for i, chunk in enumerate(chunks):
            await produce_events(stack.bootstrap, chunk)
            if i == kill_at:
                # Published but not yet applied: the kill lands mid-flight.
                in_flight = await group_lag(stack.bootstrap, "folio-positions",
                                            ["folio-positions-transaction-batches"]) + await group_lag(
                    stack.bootstrap, "folio-positions-batcher", ["transactions"])
                stack.supervisor.kill(doomed)  # SIGKILL, and it stays dead
                killed = time.monotonic()
            await asyncio.sleep(0.5)
        async with httpx.AsyncClient(timeout=5) as client:
            while set((await partition_owners(client, survivor_url)).values()) != {survivor_url}:
                assert time.monotonic() - killed < 300, "the survivor never took the partitions over"
                await asyncio.sleep(0.2)
            await _wait_ready(client, survivor_url)
        taken_over = time.monotonic()
        await stack.wait_idle(timeout=600)
        reads.settled = True
        settled = time.monotonic()
        await reads.until_each_answered_after(settled)
    finally:
        reads.stop()
        await poller
    assert not stack.supervisor.alive(doomed)
    assert in_flight, "the kill did not land while transactions were in flight"
    first_200 = {pid: min(r.sent for r in reads.reads if r.pid == pid and r.sent > killed and r.status == 200)
                 for pid in orphaned}
    failures = [r for r in reads.reads if r.status != 200]
    print(f"\nkilled {doomed} with {in_flight} transactions in flight; it owned {orphaned}."
          f"\ntakeover (kill → first 200 for its portfolios): "
          + ", ".join(f"{pid} {t - killed:.2f}s" for pid, t in first_200.items())
          + f"\nsurvivor owned every partition and was ready {taken_over - killed:.2f}s after the kill"
          + f"\nlive reads: {_statuses(reads.reads)}; non-200 between kill and takeover: "
          f"{sum(1 for r in failures if r.overlaps(killed, taken_over))}, outside: "
          f"{sum(1 for r in failures if not r.overlaps(killed, taken_over))}")
    assert set(_statuses(reads.reads)) <= {200, 503}, _statuses(reads.reads)
    outside = [(r.pid, r.status, round(r.sent - killed, 2)) for r in failures if not r.overlaps(killed, taken_over)]
    assert not outside, f"answers other than 200 outside the rebalance: {outside[:20]}"
    wrong = [f"{r.pid} at +{r.sent - killed:.2f}s: {r.wrong[:3]}" for r in reads.reads if r.wrong]
    assert not wrong, "a live 200 after the stream carried other figures:\n" + "\n".join(wrong[:20])
    async with stack.client(timeout=30) as client:
        m = await compare_everything(client, expected)
    assert not m, report(m)


@pytest.mark.parametrize("fault_point", [
    # the transactions on the changelog (found already applied), their positions and cash not
    "worker:between_changelogs",
    # the positions on the changelog (the sink marks their series stale), their history not yet
    "worker:before_days",
])
async def test_a_worker_dying_with_a_batch_half_on_the_changelogs_loses_nothing_on_the_worker_that_takes_over(
        start_stack, fault_point):
    """The dead worker's RocksDB never comes back: the survivor finds the batch on the `pending` changelog."""
    expected = load_expected("small")
    stack = await start_stack(workers=2)
    doomed, doomed_url = stack.worker_names()[0], stack.worker_urls()[0]
    survivor_url = stack.worker_urls()[1]
    await produce_file(stack.bootstrap, scenario_path("small") / "events.jsonl", REFERENCE)
    await stack.wait_idle(include_sink=False)
    # The doomed worker comes back armed: its first batch of transactions dies once the batch and
    # some of its tables' changelog records are acknowledged, before the rest are sent.
    spec = stack.supervisor.specs[doomed]
    spec.env["FOLIO_FAULTS"] = f"{fault_point}:1"
    stack.supervisor.restart(doomed)
    async with httpx.AsyncClient(timeout=5) as client:
        await _wait_ready(client, doomed_url)
        await _wait_ready(client, survivor_url)
    fired = stack.worker_dir(0) / "faults-fired" / fault_point.replace(":", "-")

    await produce_file(stack.bootstrap, scenario_path("small") / "events.jsonl", {"transactions"})
    deadline = time.monotonic() + 120
    while stack.supervisor.alive(doomed):
        assert time.monotonic() < deadline, "the doomed worker never reached the fault point"
        await asyncio.sleep(0.2)
    assert fired.exists()
    async with httpx.AsyncClient(timeout=5) as client:
        while set((await partition_owners(client, survivor_url)).values()) != {survivor_url}:
            assert time.monotonic() - deadline < 300, "the survivor never took the partitions over"
            await asyncio.sleep(0.2)
    await stack.wait_idle(timeout=600)
    async with stack.client(timeout=30) as client:
        m = await compare_everything(client, expected)
    assert not m, report(m)
