"""Price event produced → live `/positions` shows it: latency at a steady price rate.

    .venv/bin/python bench/valuation_latency.py [--securities 50] [--rate 1000] [--seconds 15] [--passes ...]

Each pass starts a fresh stack (tansu, PostgreSQL, the positions worker, the
sink, the series topology, the API), sets up one USD portfolio holding S
securities, each with a price, and waits until idle. Then, for a number of
seconds, one AIOKafkaProducer (linger 1 ms, acks all) publishes prices at a
steady rate (paced every millisecond against the clock): corrections of the
same latest price date, each with a unique price that encodes its sequence
number (100.000000 + seq / 10^6). One message in 20 goes to one of 5 probe
securities in turn, so each probe security changes every 100 ms at 1,000/s;
the rest go round the other securities as background load. Concurrently one
keep-alive client polls `GET /portfolios/{id}/positions` back to back, and for
each probe price records the time from just before `send()` to the end of the
first response whose `price` for that security is that price (or a later one:
a probe overwritten before any poll saw it counts at the first response
showing its successor, and is counted as such).

That interval holds: producer linger and the broker round trip, the worker's
price feed (a plain consumer reading the whole `prices` topic), and the API's
request to the worker and its valuation, plus the poll granularity: a price
that lands just after a poll started waits for the next response, adding up
to one response time (on average about half of one). The mean response time
is printed next to the figures for that reason, and "(start)" is the same
figure measured to the start of that request instead (a lower bound).

Passes (`--passes`, default api,worker,consumer,consumer-short,api-short):
`api` as above; `worker` polls the worker's own live page
(`/live/portfolios/{id}/`, what the API calls); `consumer` is a bare aiokafka
consumer of `prices` with default fetch settings, as the worker's feed has
(the broker's floor); `consumer-short` the same with `fetch_max_wait_ms` of
`--feed-fetch-wait-ms` (50); `api-short` / `worker-short` restart the worker as
bench/feed_wait_worker.py, whose market feeds use that setting, then measure.
A fresh stack per pass, because tansu gets slower as a topic grows. Prints
figures and ratios, asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from cpu_usage import snapshot, usage  # bench/cpu_usage.py

from folio.devenv.broker import free_port
from folio.devenv.processes import worker_spec
from folio.devenv.stack import Stack
from folio.produce import Event, kafka_producer, produce_events

PORTFOLIO = "BENCH-LATENCY"
DAY = "2026-11-20"
TARGET_P99_MS = 50.0
PROBES = 5
PROBE_EVERY = 20  # one message in 20 is a probe
SCALE = Decimal(10) ** 6


def price_text(seq: int) -> str:
    return f"{100 + seq // 1_000_000}.{seq % 1_000_000:06d}"


def seq_of(price: str | None) -> int | None:
    if price is None:
        return None
    value = (Decimal(price) - 100) * SCALE
    return int(value) if value >= 0 and value == value.to_integral_value() else None


def security(i: int) -> str:
    return f"L{i:03d}"


def setup_events(securities: int) -> list[Event]:
    def ev(topic: str, key: str, value: dict) -> Event:
        return Event(topic, key.encode(), json.dumps(value).encode())

    events = [ev("portfolios", PORTFOLIO, {"portfolio_id": PORTFOLIO, "name": "Latency bench",
                                           "base_currency": "USD", "cost_method": "FIFO", "open_date": DAY})]
    for i in range(securities):
        sid = security(i)
        events.append(ev("instruments", sid, {"security_id": sid, "name": f"Latency {i}", "currency": "USD",
                                              "asset_class": "EQUITY", "sector": "IT", "country": "US"}))
        events.append(ev("prices", sid, {"security_id": sid, "price_date": DAY, "price": "90.00", "currency": "USD"}))
    events.append(ev("transactions", PORTFOLIO, {"transaction_id": "D1", "portfolio_id": PORTFOLIO, "type": "DEPOSIT",
                                                 "trade_date": DAY, "amount": "1000000", "currency": "USD"}))
    for i in range(securities):
        events.append(ev("transactions", PORTFOLIO, {
            "transaction_id": f"B{i:03d}", "portfolio_id": PORTFOLIO, "type": "BUY", "trade_date": DAY,
            "security_id": security(i), "quantity": "100", "price": "90.00", "fees": "1", "currency": "USD"}))
    return events


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100.0 * len(ordered))) - 1]


def summary(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    return (f"p50 {pct(samples, 50):7.2f}  p95 {pct(samples, 95):7.2f}  p99 {pct(samples, 99):7.2f}  "
            f"max {max(samples):7.2f} ms  (n={len(samples)})")


@dataclass
class Run:
    sent_at: dict[int, float] = field(default_factory=dict)      # probe seq → just before send()
    acked_at: dict[int, float] = field(default_factory=dict)     # probe seq → delivery confirmed
    pending: dict[str, list[int]] = field(default_factory=dict)  # probe security → seqs not seen yet
    latency: list[float] = field(default_factory=list)           # to the end of the first response showing it
    latency_req_start: list[float] = field(default_factory=list)  # to the start of that request
    ack: list[float] = field(default_factory=list)
    superseded: int = 0
    produced: int = 0
    produce_seconds: float = 0.0
    polls: int = 0
    poll_ms: list[float] = field(default_factory=list)
    errors: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    samples: list[tuple[float, float]] = field(default_factory=list)  # (sent at, latency ms)
    started: float = 0.0


async def produce(bootstrap: str, run: Run, securities: int, rate: float, seconds: float, linger_ms: float,
                  stop: asyncio.Event) -> None:
    producer = kafka_producer(bootstrap, linger_ms=linger_ms)
    await producer.start()
    background = [security(i) for i in range(PROBES, securities)]
    probe_turn = bg_turn = 0
    try:
        start = run.started = time.perf_counter()
        seq = 0
        while True:
            now = time.perf_counter()
            if now - start >= seconds:
                break
            due = int((now - start) * rate)
            while seq < due:
                if seq % PROBE_EVERY == 0:
                    sid = security(probe_turn % PROBES)
                    probe_turn += 1
                    probe = True
                else:
                    sid = background[bg_turn % len(background)]
                    bg_turn += 1
                    probe = False
                value = json.dumps({"security_id": sid, "price_date": DAY, "price": price_text(seq),
                                    "currency": "USD"}).encode()
                t0 = time.perf_counter()
                future = await producer.send("prices", value, key=sid.encode())
                if probe:
                    run.sent_at[seq] = t0
                    run.pending.setdefault(sid, []).append(seq)
                    future.add_done_callback(lambda f, s=seq: run.acked_at.__setitem__(s, time.perf_counter()))
                seq += 1
            await asyncio.sleep(0.001)
        await producer.flush()
        run.produce_seconds = time.perf_counter() - start
        run.produced = seq
    finally:
        await producer.stop()
        stop.set()


def positions_prices_api(body: dict) -> dict[str, str | None]:
    return {p["security_id"]: p.get("price") for p in body["positions"]}


def positions_prices_worker(body: dict) -> dict[str, str | None]:
    return {sid: (None if v is None else v[0]) for sid, v in body["market"]["prices"].items()}


async def poll(client: httpx.AsyncClient, url: str, extract, run: Run, stop: asyncio.Event, drain: float) -> None:
    probes = [security(i) for i in range(PROBES)]
    stopped_at = None
    while True:
        if stop.is_set():
            stopped_at = stopped_at or time.perf_counter()
            if not any(run.pending.values()) or time.perf_counter() - stopped_at > drain:
                return
        t_req = time.perf_counter()
        try:
            response = await client.get(url)
            t_resp = time.perf_counter()
            response.raise_for_status()
            prices = extract(response.json())
        except (httpx.HTTPError, KeyError, ValueError):
            run.errors += 1
            await asyncio.sleep(0.01)
            continue
        run.polls += 1
        run.poll_ms.append((t_resp - t_req) * 1000.0)
        for sid in probes:
            seen = seq_of(prices.get(sid))
            waiting = run.pending.get(sid)
            if seen is None or not waiting:
                continue
            shown = [s for s in waiting if s <= seen]
            if not shown:
                continue
            for s in shown:
                run.latency.append((t_resp - run.sent_at[s]) * 1000.0)
                run.samples.append((run.sent_at[s], run.latency[-1]))
                run.latency_req_start.append(max(0.0, t_req - run.sent_at[s]) * 1000.0)
                if s != seen:
                    run.superseded += 1
            run.pending[sid] = [s for s in waiting if s > seen]


async def consume(bootstrap: str, run: Run, stop: asyncio.Event, drain: float, **settings) -> None:
    """A bare consumer of `prices` (no group, every partition, from the end): the feed's floor."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, **settings)
    await consumer.start()
    try:
        partitions = [TopicPartition("prices", p) for p in sorted(consumer.partitions_for_topic("prices") or
                                                                     await _partitions(consumer))]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)
        run.ready.set()
        stopped_at = None
        while True:
            if stop.is_set():
                stopped_at = stopped_at or time.perf_counter()
                if not any(run.pending.values()) or time.perf_counter() - stopped_at > drain:
                    return
            batches = await consumer.getmany(timeout_ms=50, max_records=10_000)
            now = time.perf_counter()
            run.polls += 1
            for records in batches.values():
                for record in records:
                    sid = record.key.decode()
                    waiting = run.pending.get(sid)
                    if not waiting:
                        continue
                    seen = seq_of(json.loads(record.value)["price"])
                    if seen in run.sent_at:
                        run.latency.append((now - run.sent_at[seen]) * 1000.0)
                        run.samples.append((run.sent_at[seen], run.latency[-1]))
                        run.latency_req_start.append((now - run.sent_at[seen]) * 1000.0)
                        run.pending[sid] = [s for s in waiting if s != seen]
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer) -> set[int]:
    await consumer.topics()
    return consumer.partitions_for_topic("prices") or set()


async def measure_consumer(stack: Stack, securities: int, rate: float, seconds: float, linger_ms: float,
                           **settings) -> Run:
    run = Run()
    stop = asyncio.Event()
    consumer = asyncio.create_task(consume(stack.bootstrap, run, stop, drain=5.0, **settings))
    await run.ready.wait()
    await produce(stack.bootstrap, run, securities, rate, seconds, linger_ms, stop)
    await consumer
    run.ack = [(run.acked_at[s] - run.sent_at[s]) * 1000.0 for s in run.sent_at if s in run.acked_at]
    return run


async def measure(stack: Stack, url: str, extract, securities: int, rate: float, seconds: float,
                  linger_ms: float) -> Run:
    run = Run()
    stop = asyncio.Event()
    headers = stack.worker_headers if url.startswith(stack.worker_url) else stack.api_headers
    async with httpx.AsyncClient(timeout=10.0, headers=headers) as client:
        for _ in range(20):  # warm the connection and both processes' code paths
            (await client.get(url)).raise_for_status()
        await asyncio.gather(
            produce(stack.bootstrap, run, securities, rate, seconds, linger_ms, stop),
            poll(client, url, extract, run, stop, drain=5.0),
        )
    run.ack = [(run.acked_at[s] - run.sent_at[s]) * 1000.0 for s in run.sent_at if s in run.acked_at]
    return run


async def switch_worker_feed_wait(stack: Stack, wait_ms: int) -> None:
    """Restart the positions worker as bench/feed_wait_worker.py (same tables, port and environment)."""
    spec = worker_spec(stack.worker_port, stack.worker_dir(0), "positions")
    module = spec.argv.index("folio.devenv.worker")
    spec.argv[module - 1:module + 1] = [str(Path(__file__).resolve().parent / "feed_wait_worker.py")]
    spec.env["FOLIO_BENCH_FEED_FETCH_WAIT_MS"] = str(wait_ms)
    await asyncio.to_thread(stack.supervisor.kill, "positions", signal.SIGTERM)
    stack.supervisor.start(spec)
    await stack.wait_ready(timeout=180)
    await stack.wait_idle(timeout=300)


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for name, pid in pids.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[name] = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return out


def windows(run: Run, width: float) -> str:
    """p50/p99 per `width` seconds of send time: shows drift as the prices topic grows."""
    if not run.samples:
        return "no samples"
    origin = run.started
    buckets: dict[int, list[float]] = {}
    for sent, latency in run.samples:
        buckets.setdefault(int((sent - origin) // width), []).append(latency)
    return "  ".join(f"{int(k * width)}-{int((k + 1) * width)} s: {pct(v, 50):.0f}/{pct(v, 99):.0f}"
                     for k, v in sorted(buckets.items()))


def report(title: str, run: Run, rate: float, polled: bool = True) -> None:
    lost = sum(len(v) for v in run.pending.values())
    probes = len(run.sent_at)
    mean_poll = sum(run.poll_ms) / len(run.poll_ms) if run.poll_ms else float("nan")
    p99 = pct(run.latency, 99) if run.latency else float("nan")
    print(f"{title}")
    print(f"  produced:               {run.produced:,} prices in {run.produce_seconds:.2f} s "
          f"= {run.produced / run.produce_seconds:,.0f}/s (asked {rate:,.0f}/s)")
    print(f"  probes:                 {probes} sent, {len(run.latency)} seen, {lost} never seen, "
          f"{run.superseded} seen only through a later price")
    if polled:
        print(f"  polls:                  {run.polls:,} = {run.polls / max(run.produce_seconds, 1e-9):,.0f}/s, "
              f"response time mean {mean_poll:.2f} ms, {summary(run.poll_ms)}; errors {run.errors}")
    print(f"  send -> acked by broker:                   {summary(run.ack)}")
    if polled:
        print(f"  send -> first response showing it (end):   {summary(run.latency)}")
        print(f"  send -> first response showing it (start): {summary(run.latency_req_start)}")
    else:
        print(f"  send -> record returned by getmany():      {summary(run.latency)}")
    print(f"  p50/p99 ms by send time: {windows(run, 5.0)}")
    print(f"  p99 / target ({TARGET_P99_MS:.0f} ms):    {p99 / TARGET_P99_MS:.2f}")


PASSES = {
    "api": "API  GET /portfolios/{id}/positions",
    "worker": "worker GET /live/portfolios/{id}/ (what the API calls)",
    "consumer": "bare aiokafka consumer of prices, default fetch settings (as the worker's price feed)",
    "consumer-short": "bare aiokafka consumer of prices, fetch_max_wait_ms={wait}",
    "api-short": "API  GET /portfolios/{id}/positions, worker feeds with fetch_max_wait_ms={wait} "
                 "(bench/feed_wait_worker.py)",
    "worker-short": "worker GET /live/portfolios/{id}/, worker feeds with fetch_max_wait_ms={wait} "
                    "(bench/feed_wait_worker.py)",
}


async def one_pass(name: str, args: argparse.Namespace) -> None:
    """A fresh stack per pass: tansu's cost grows with the topic (see bench/README.md)."""
    with tempfile.TemporaryDirectory(prefix="folio-bench-") as tmp:
        # The series worker takes FOLIO_WORKER_WEB_PORT (default 6066) for the web
        # server the faust CLI turns on: give it a free one (see bench/README.md).
        stack = Stack(Path(tmp), api_port=free_port(), extra_env={"FOLIO_WORKER_WEB_PORT": str(free_port())})
        t0 = time.perf_counter()
        try:
            await stack.start()
            await produce_events(stack.bootstrap, setup_events(args.securities))
            await stack.wait_idle(timeout=300)
            if name.endswith("-short") and name != "consumer-short":
                await switch_worker_feed_wait(stack, args.feed_fetch_wait_ms)
            async with httpx.AsyncClient(base_url=stack.api_url, headers=stack.api_headers) as client:
                body = (await client.get(f"/portfolios/{PORTFOLIO}/positions")).json()
            priced = sum(1 for p in body["positions"] if p.get("price") is not None)
            setup = time.perf_counter() - t0
            pids = {n: child.pid for n, child in stack.supervisor.children.items()}
            if stack.broker is not None and stack.broker.pid:
                pids["broker"] = stack.broker.pid
            common = (args.securities, args.rate, args.seconds, args.linger_ms)
            before, wall, machine_before = cpu_seconds(pids), time.perf_counter(), snapshot()
            if name.startswith("api"):
                run = await measure(stack, f"{stack.api_url}/portfolios/{PORTFOLIO}/positions",
                                    positions_prices_api, *common)
            elif name.startswith("worker"):
                run = await measure(stack, f"{stack.worker_url}/live/portfolios/{PORTFOLIO}/",
                                    positions_prices_worker, *common)
            elif name == "consumer":
                run = await measure_consumer(stack, *common)
            else:
                run = await measure_consumer(stack, *common, fetch_max_wait_ms=args.feed_fetch_wait_ms)
            after, wall = cpu_seconds(pids), time.perf_counter() - wall
            machine = usage(machine_before, snapshot(), Path(tmp))
        finally:
            await stack.stop()
    report(PASSES[name].replace("{wait}", str(args.feed_fetch_wait_ms)) + f"  [fresh stack, set up in {setup:.0f} s, "
           f"{args.securities} held, {priced} priced]", run, args.rate, polled=not name.startswith("consumer"))
    cpu = ", ".join(f"{n} {100 * (after[n] - before[n]) / wall:.0f}%" for n in after if n in before)
    print(f"  CPU during the pass (one core = 100%): {cpu}")
    print(f"  {machine}")
    print(flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--securities", type=int, default=50)
    parser.add_argument("--rate", type=float, default=1000.0, help="prices per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each pass")
    parser.add_argument("--linger-ms", type=float, default=1.0)
    parser.add_argument("--passes", default="api,worker,consumer,consumer-short,api-short",
                        help=f"comma-separated, each on a fresh stack: {', '.join(PASSES)}")
    parser.add_argument("--feed-fetch-wait-ms", type=int, default=50,
                        help="fetch_max_wait_ms of the *-short passes")
    args = parser.parse_args()
    if args.securities <= PROBES:
        parser.error(f"--securities must be more than the {PROBES} probe securities")
    names = [n.strip() for n in args.passes.split(",") if n.strip()]
    unknown = [n for n in names if n not in PASSES]
    if unknown:
        parser.error(f"unknown passes {unknown}: choose from {', '.join(PASSES)}")
    print(f"interval measured: just before producer.send() of a probe price -> end of the first poll response "
          f"showing it; {PROBES} probe securities, each changed every {PROBE_EVERY * PROBES / args.rate * 1000:.0f} ms; "
          f"background prices on {args.securities - PROBES} others; {args.rate:,.0f} prices/s for "
          f"{args.seconds:.0f} s; linger {args.linger_ms} ms, acks all")
    print()
    for name in names:
        await one_pass(name, args)


if __name__ == "__main__":
    asyncio.run(main())
