"""Recovery time of a positions worker that lost its local state, for a book of N transactions.

    .venv/bin/python bench/recovery.py [--transactions 1000000] [--depth 100] [--samples 5]
    PYTHONPATH=/path/to/other/tree .venv/bin/python bench/recovery.py ...   # another checkout, same script

Starts a fresh stack (tansu, PostgreSQL, one positions worker, the sink and
the series worker; no API: the worker's own live page is what the API asks),
publishes 100 portfolios, then N transactions in date order, keys
interleaved round robin as `throughput.py --depth` makes them: N / depth
positions (100 portfolios x N / depth / 100 securities), each ending with
`--depth` BUY/SELL trades. The transactions go out `--chunk` at a time, each
chunk applied and committed by the worker (its consumer groups' lag 0)
before the next is published: a book that grew while the worker ran. (One
backlog of 1,000,000 is not what this measures, and on 9352e94 it did not
load: the worker grew past 15 GiB and stalled, Kafka requests timing out.
Not investigated; a suspect is the positions agent's `take`, bounded by
5,000 batch messages, which can be the whole backlog.) When the sink is idle
too, it reads back every table changelog of the worker (records and bytes
per topic, and what log compaction would leave: tansu compacts nothing) and
the sampled portfolios' live answers.

Then it stops the worker cleanly (SIGTERM), deletes its local state (the
Faust data dir: every RocksDB table, and its start counter), starts it again
with the same command, and times from that start until it serves live reads
again: every sampled portfolio's `/live/portfolios/{id}/` answers 200 with the
same body as before the deletion (parsed, decimals exact, `worker` left out).
Also printed: the first answer of its web server, and `/ready/` first
answering 200. The machine's CPU use is printed for the load and for the
recovery ("other processes" should be a few % at most). Asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import httpx
from cpu_usage import snapshot, usage  # bench/cpu_usage.py
from throughput import changelog_topics, make_deep_events  # bench/throughput.py

import folio
from folio.devenv.broker import free_port
from folio.devenv.stack import Stack
from folio.produce import produce_events

WORKER = "positions"  # the stack's only positions worker (Stack.worker_names()[0])


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def du_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / (1 << 20) if path.exists() else 0.0


def sample_ids(portfolios: int, samples: int) -> list[str]:
    """`samples` portfolio ids spread over the book (so over the partitions too)."""
    picks = sorted({round(i * (portfolios - 1) / max(1, samples - 1)) for i in range(samples)})
    return [f"BP{p:03d}" for p in picks]


def comparable(body: bytes) -> dict:
    """A live answer as data: decimals exact, without the answering worker's name and its version
    (an ETag: a restarted worker has a new epoch, whatever its tables hold)."""
    answer = json.loads(body, parse_float=Decimal)
    answer.pop("worker", None)
    answer.pop("version", None)
    return answer


async def live_answers(client: httpx.AsyncClient, stack: Stack, ids: list[str]) -> dict[str, tuple[int, bytes]]:
    answers = {}
    for pid in ids:
        response = await client.get(f"{stack.worker_url}/live/portfolios/{pid}/", headers=stack.worker_headers)
        answers[pid] = (response.status_code, response.content)
    return answers


def stop_worker(stack: Stack, timeout: float = 300.0) -> float:
    """SIGTERM to the worker's process group, as `folio up` stops it; seconds until it exited."""
    child = stack.supervisor.children[WORKER]
    start = time.perf_counter()
    os.killpg(child.pid, signal.SIGTERM)
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"worker still running {timeout:.0f} s after SIGTERM: killed", flush=True)
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    return time.perf_counter() - start


async def time_recovery(stack: Stack, ids: list[str], before: dict[str, dict], timeout: float) -> dict[str, float]:
    """Start the stopped worker again; seconds from its start to each milestone."""
    marks: dict[str, float] = {}
    mismatches = 0
    start, started_at = time.perf_counter(), time.time()
    stack.supervisor.start(stack.supervisor.specs[WORKER])
    async with httpx.AsyncClient(timeout=30.0) as client:
        while "live reads equal" not in marks:
            now = time.perf_counter() - start
            if now > timeout:
                print(f"no equal live reads after {timeout:.0f} s; milestones so far: {marks}", flush=True)
                break
            if not stack.supervisor.alive(WORKER):
                print(f"the worker exited during recovery: see {stack.supervisor.log_dir / (WORKER + '.log')}")
                break
            try:
                ready = await client.get(f"{stack.worker_url}/ready/")
                marks.setdefault("web server answers", time.perf_counter() - start)
                if ready.status_code == 200:
                    marks.setdefault("/ready/ 200", time.perf_counter() - start)
                answers = await live_answers(client, stack, ids)
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
                continue
            if all(status == 200 for status, _ in answers.values()):
                marks.setdefault("every sampled live read 200", time.perf_counter() - start)
                if all(comparable(body) == before[pid] for pid, (_, body) in answers.items()):
                    marks["live reads equal"] = time.perf_counter() - start
                    break
                mismatches += 1
            await asyncio.sleep(0.1)
    if mismatches:
        print(f"{mismatches} polls answered 200 with figures differing from before the deletion", flush=True)
    found = log_milestones(stack.supervisor.log_dir / f"{WORKER}.log", started_at)
    return dict(sorted({**marks, **{f"(log) {k}": v for k, v in found.items()}}.items(), key=lambda kv: kv[1]))


# Faust's own milestones in the worker's log (faust-streaming 0.15), first occurrence after the restart.
LOG_MILESTONES = {
    "group joined, partitions assigned": "Setting newly assigned partitions",
    "changelog replay started": "Restoring state from changelog topics",
    "changelog replay done": "Done reading from changelog topics",
    "Faust: worker ready": "[^Worker]: Ready",
}


def log_milestones(log: Path, since: float) -> dict[str, float]:
    """Seconds from `since` (a time.time()) to each milestone's first log line after it."""
    found: dict[str, float] = {}
    with open(log, errors="replace") as lines:
        for line in lines:
            try:
                at = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            except ValueError:
                continue
            if at < since:
                continue
            for name, text in LOG_MILESTONES.items():
                if name not in found and text in line:
                    found[name] = at - since
    return found


def print_changelogs(title: str, topics: dict[str, dict[str, int]], transactions: int) -> None:
    print(title)
    print(f"  {'topic':<40} {'records':>12} {'MiB':>10} {'keys':>10} {'MiB if compacted':>17}")
    for topic, v in topics.items():
        print(f"  {topic:<40} {v['records']:>12,} {v['bytes'] / 2**20:>10,.1f} {v['keys']:>10,} "
              f"{v['compacted_bytes'] / 2**20:>17,.1f}")
    records = sum(v["records"] for v in topics.values())
    size = sum(v["bytes"] for v in topics.values())
    compacted = sum(v["compacted_bytes"] for v in topics.values())
    print(f"  {'all':<40} {records:>12,} {size / 2**20:>10,.1f} {sum(v['keys'] for v in topics.values()):>10,} "
          f"{compacted / 2**20:>17,.1f}")
    print(f"  per transaction: {records / transactions:.2f} records, {size / transactions:,.0f} bytes "
          f"({compacted / transactions:,.0f} bytes if compacted)", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--depth", type=int, default=100, help="trades per position (positions = transactions / depth)")
    parser.add_argument("--chunk", type=int, default=50_000,
                        help="transactions published at a time, each chunk committed by the worker before the next")
    parser.add_argument("--samples", type=int, default=5, help="portfolios whose live answers are compared")
    parser.add_argument("--load-timeout", type=float, default=7200.0)
    parser.add_argument("--recovery-timeout", type=float, default=3600.0)
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy the stack's logs there at the end")
    args = parser.parse_args()

    portfolios, txs = make_deep_events(args.transactions, args.depth)
    positions = args.transactions // args.depth
    ids = sample_ids(len(portfolios), args.samples)
    tree = Path(folio.__file__).resolve().parent.parent
    commit = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; code: {tree} at {commit.stdout.strip() or '?'}")
    print(f"book: {len(txs):,} transactions = {len(portfolios)} portfolios x {positions // len(portfolios):,} "
          f"securities ({positions:,} positions) x {args.depth} trades each, interleaved, in date order; "
          f"sampled portfolios {', '.join(ids)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="folio-bench-") as tmp:
        # The series worker gets a web port of its own (see bench/README.md).
        stack = Stack(Path(tmp), with_api=False, extra_env={"FOLIO_WORKER_WEB_PORT": str(free_port())})
        await stack.start()
        try:
            await produce_events(stack.bootstrap, portfolios)
            await stack.wait_idle()
            cpu_before = snapshot()
            start, published = time.perf_counter(), 0.0
            for first in range(0, len(txs), args.chunk):
                sent = time.perf_counter()
                await produce_events(stack.bootstrap, txs[first:first + args.chunk])
                published += time.perf_counter() - sent
                await stack.wait_idle(timeout=args.load_timeout, include_sink=False)
            worker_done = time.perf_counter() - start
            del txs  # the load generator's memory is not the stack's
            await stack.wait_idle(timeout=args.load_timeout)
            all_done = time.perf_counter() - start
            load_cpu = usage(cpu_before, snapshot(), stack.data_dir)
            n = args.transactions
            print(f"load in chunks of {args.chunk:,}: publishing took {published:.1f} s ({n / published:,.0f}/s); "
                  f"worker applied + committed "
                  f"{worker_done:.1f} s ({n / worker_done:,.0f} tx/s); sink idle {all_done:.1f} s "
                  f"({n / all_done:,.0f} tx/s end to end)")
            print(f"  during the load: {load_cpu}")
            print(f"  broker RSS {rss_mib(stack.broker.pid):,.0f} MiB", flush=True)

            scan = time.perf_counter()
            topics = await changelog_topics(stack.bootstrap, stack.app_id, last_per_key=True)
            print_changelogs(f"the worker's changelogs on the broker (read back in {time.perf_counter() - scan:.1f} s):",
                             topics, n)

            async with httpx.AsyncClient(timeout=60.0) as client:
                answers = await live_answers(client, stack, ids)
            bad = {pid: status for pid, (status, _) in answers.items() if status != 200}
            if bad:
                print(f"live reads before the deletion did not answer 200: {bad}; nothing to compare against")
                return
            before = {pid: comparable(body) for pid, (_, body) in answers.items()}
            print("live answers before: " + ", ".join(
                f"{pid} {len(a['positions'])} positions, {len(body):,} bytes" for (pid, a), (_, body)
                in zip(before.items(), answers.values())))

            stopped = stop_worker(stack)
            state = stack.worker_dir(0) / f"{WORKER}-data"
            local_mib = du_mib(state)
            shutil.rmtree(state)
            (stack.worker_dir(0) / f"{WORKER}-starts.json").unlink(missing_ok=True)
            print(f"worker stopped (SIGTERM) in {stopped:.1f} s; deleted {state} ({local_mib:,.0f} MiB)", flush=True)

            cpu_before = snapshot()
            marks = await time_recovery(stack, ids, before, args.recovery_timeout)
            recovery_cpu = usage(cpu_before, snapshot(), stack.data_dir)
            print("recovery, seconds from the worker's start:")
            for name, seconds in marks.items():
                print(f"  {name:<30} {seconds:8.1f}")
            if "live reads equal" in marks:
                print(f"RECOVERY TIME ({n:,} transactions, depth {args.depth}): {marks['live reads equal']:.1f} s "
                      f"until every sampled live read answers 200 with the figures it gave before")
            print(f"  during the recovery: {recovery_cpu}")
            print(f"  broker RSS {rss_mib(stack.broker.pid):,.0f} MiB; worker's new local state "
                  f"{du_mib(state):,.0f} MiB", flush=True)
        finally:
            await stack.stop()
            if args.keep_logs:
                shutil.copytree(stack.data_dir / "logs", args.keep_logs, dirs_exist_ok=True)


if __name__ == "__main__":
    asyncio.run(main())
