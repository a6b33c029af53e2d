"""Position stream latency: a transaction produced → its `position` event at an SSE client,
and a price produced → the `valuation` event, with many stream clients connected.

    .venv/bin/python bench/stream_latency.py [--portfolios 50] [--clients 100] [--tx-rate 200]
                                             [--price-rate 1000] [--seconds 15]

A fresh stack (tansu, PostgreSQL, positions worker, sink, series worker,
API). P USD portfolios, portfolio k holding 100 shares of its own security
X<k> (priced 100) and cash; `--clients` SSE clients spread evenly over the
portfolios (plain asyncio connections on loopback, each reading its stream as
it comes: chunked transfer decoding and one JSON parse per event it needs).

Phase 1: one AIOKafkaProducer (linger 1 ms, acks all) publishes BUY 1 X<k>
for portfolio k in turn at `--tx-rate`/s, paced every millisecond. The k-th
BUY of a portfolio makes its quantity 100 + k, so a client's `position` event
with that quantity is that transaction's (an event showing a later quantity
counts for the ones it overtook, reported as "seen through a later one").
Latency = from just before send() to the moment the client read the event's
last byte, for every (transaction, client of its portfolio).

Phase 2: prices for X<k> in turn at `--price-rate`/s, each unique
(100 + seq / 10^4) on the same date: a `valuation` event's mv_base /
quantity is the price it was valued at, so it tells which price it shows
(earlier ones of that security count at it, as above).

The split: each event's id names its log row; `stream_events.at` is when the
sink wrote it (near the end of its transaction), so send → `at` is the
pipeline up to the sink (broker, batcher, worker, changelog, the sink's fetch
and most of its write) and `at` → client the rest (the sink's commit, NOTIFY,
the API's read of the log, valuation, fan-out, the socket, the client's
parse).

`--sink-fetch-wait-ms N` restarts the sink as bench/fetch_wait_sink.py, whose
consumer asks the broker with that `fetch_max_wait_ms` (aiokafka's default,
which the sink uses, is 500: the development broker holds a fetch up to about
half of it). Prints figures, asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import asyncpg
from cpu_usage import snapshot, usage  # bench/cpu_usage.py
from valuation_latency import cpu_seconds, pct, summary  # bench/valuation_latency.py

from folio.devenv.broker import free_port
from folio.devenv.processes import api_spec, sink_spec
from folio.devenv.stack import Stack
from folio.produce import Event, kafka_producer, produce_events

DAY = "2026-11-20"
START_QUANTITY = 100
TARGET_P99_MS = 100.0
SCALE = Decimal(10) ** 4  # prices take at most 4 decimal places


def portfolio(k: int) -> str:
    return f"SL{k:03d}"


def security(k: int) -> str:
    return f"X{k:03d}"


def setup_events(portfolios: int) -> list[Event]:
    def ev(topic: str, key: str, value: dict) -> Event:
        return Event(topic, key.encode(), json.dumps(value).encode())

    events = []
    for k in range(portfolios):
        pid, sid = portfolio(k), security(k)
        events += [
            ev("portfolios", pid, {"portfolio_id": pid, "name": pid, "base_currency": "USD", "open_date": DAY}),
            ev("instruments", sid, {"security_id": sid, "name": sid, "currency": "USD"}),
            ev("prices", sid, {"security_id": sid, "price_date": DAY, "price": "100"}),
        ]
    for k in range(portfolios):
        pid = portfolio(k)
        events += [
            ev("transactions", pid, {"transaction_id": "D", "portfolio_id": pid, "type": "DEPOSIT",
                                     "trade_date": DAY, "amount": "1000000", "currency": "USD"}),
            ev("transactions", pid, {"transaction_id": "B0", "portfolio_id": pid, "type": "BUY", "trade_date": DAY,
                                     "security_id": security(k), "quantity": str(START_QUANTITY), "price": "100",
                                     "currency": "USD"}),
        ]
    return events


@dataclass
class Probe:
    """What was sent, by (portfolio, marker): the marker is a quantity (phase 1) or a price seq (phase 2)."""

    sent: dict[tuple[str, int], tuple[float, float]] = field(default_factory=dict)  # (perf, wall) before send()
    by_portfolio: dict[str, list[int]] = field(default_factory=dict)  # markers in send order
    produced: int = 0
    seconds: float = 0.0


@dataclass
class Client:
    portfolio_id: str
    name: str  # the event it measures: position or valuation
    quantity: int = START_QUANTITY  # phase 2: the portfolio's quantity (mv_base / quantity = price)
    seen: int = -1  # the latest marker seen
    samples: list[tuple[float, float, int]] = field(default_factory=list)  # (latency ms, sent wall, log row)
    overtaken: int = 0
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    def marker(self, data: dict) -> int | None:
        if self.name == "position":
            return int(Decimal(data["quantity"]))
        if data.get("mv_base") is None:
            return None
        price = Decimal(data["mv_base"]) / self.quantity
        return int((price - 100) * SCALE)

    def saw(self, event: str, event_id: str, data: bytes, probe: Probe, now: float) -> None:
        if event != self.name:
            return
        marker = self.marker(json.loads(data))
        if marker is None or marker <= self.seen:
            return
        row = int(event_id.rstrip("v"))
        for m in probe.by_portfolio.get(self.portfolio_id, ()):
            if self.seen < m <= marker and (self.portfolio_id, m) in probe.sent:
                sent_perf, sent_wall = probe.sent[(self.portfolio_id, m)]
                self.samples.append(((now - sent_perf) * 1000.0, sent_wall, row))
                self.overtaken += m != marker
        self.seen = marker


async def read_stream(host: str, port: int, path: str, headers: dict[str, str], client: Client,
                      probe_of: dict[str, Probe]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
                  + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"stream answered {status!r}")
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    buffer = b""
    try:
        while True:
            size = int((await reader.readline()).strip() or b"0", 16)
            if size == 0:
                return
            buffer += await reader.readexactly(size)
            await reader.readexactly(2)
            now = time.perf_counter()
            client.connected.set()
            while b"\n\n" in buffer:
                frame, buffer = buffer.split(b"\n\n", 1)
                fields = dict(line.split(b": ", 1) for line in frame.split(b"\n") if line and line[:1] != b":")
                if b"event" in fields:
                    probe = probe_of.get(client.name)
                    if probe is not None:
                        client.saw(fields[b"event"].decode(), fields[b"id"].decode(), fields[b"data"], probe, now)
    finally:
        writer.close()


async def produce(bootstrap: str, probe: Probe, make, count_per_portfolio: list[int], rate: float,
                  seconds: float) -> None:
    """Publish `make(k, n)` for portfolio k in turn, n counting per portfolio, `rate`/s for `seconds`."""
    producer = kafka_producer(bootstrap, linger_ms=1.0)
    await producer.start()
    try:
        start, seq = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            due = int((time.perf_counter() - start) * rate)
            while seq < due:
                k = seq % len(count_per_portfolio)
                count_per_portfolio[k] += 1
                topic, key, value, marker = make(k, count_per_portfolio[k], seq)
                pid = portfolio(k)
                probe.sent[(pid, marker)] = (time.perf_counter(), time.time())
                probe.by_portfolio.setdefault(pid, []).append(marker)
                await producer.send(topic, value, key=key)
                seq += 1
            await asyncio.sleep(0.001)
        await producer.flush()
        probe.produced, probe.seconds = seq, time.perf_counter() - start
    finally:
        await producer.stop()


def buy(k: int, n: int, seq: int) -> tuple[str, bytes, bytes, int]:
    pid = portfolio(k)
    value = {"transaction_id": f"L{n}", "portfolio_id": pid, "type": "BUY", "trade_date": DAY,
             "security_id": security(k), "quantity": "1", "price": "100", "currency": "USD"}
    return "transactions", pid.encode(), json.dumps(value).encode(), START_QUANTITY + n


def price(k: int, n: int, seq: int) -> tuple[str, bytes, bytes, int]:
    sid = security(k)
    value = {"security_id": sid, "price_date": DAY, "price": f"{100 + seq // 10_000}.{seq % 10_000:04d}"}
    return "prices", sid.encode(), json.dumps(value).encode(), seq


async def wait_seen(clients: list[Client], probe: Probe, timeout: float = 30.0) -> int:
    """Until every client saw its portfolio's last marker (or `timeout`); how many did not."""
    deadline = time.monotonic() + timeout
    while True:
        behind = [c for c in clients if probe.by_portfolio.get(c.portfolio_id)
                  and c.seen < probe.by_portfolio[c.portfolio_id][-1]]
        if not behind or time.monotonic() > deadline:
            return len(behind)
        await asyncio.sleep(0.2)


async def split(dsn: str, clients: list[Client]) -> tuple[list[float], list[float]]:
    """(send → the sink wrote the log row, that → client) in ms, from the rows the events name."""
    rows = {r for c in clients for _, _, r in c.samples}
    conn = await asyncpg.connect(dsn)
    try:
        began = {r["id"]: r["at"].timestamp() for r in await conn.fetch(
            "SELECT id, at FROM stream_events WHERE id = ANY($1)", list(rows))}
    finally:
        await conn.close()
    to_sink, after = [], []
    for c in clients:
        for latency, sent_wall, row in c.samples:
            if row in began:
                to_sink.append((began[row] - sent_wall) * 1000.0)
                after.append(latency - to_sink[-1])
    return to_sink, after


def report(title: str, clients: list[Client], probe: Probe, rate: float, behind: int,
           to_sink: list[float], after: list[float]) -> None:
    samples = [s[0] for c in clients for s in c.samples]
    overtaken = sum(c.overtaken for c in clients)
    print(title)
    print(f"  produced: {probe.produced:,} in {probe.seconds:.2f} s = {probe.produced / probe.seconds:,.0f}/s "
          f"(asked {rate:,.0f}/s); {len(samples):,} (event, client) samples, {overtaken:,} seen through a later "
          f"one, {behind} clients short of the last at the end")
    print(f"  send -> event read by the client:       {summary(samples)}")
    print(f"  send -> the sink wrote its log row:     {summary(to_sink)}")
    print(f"  log row written -> event at the client: {summary(after)}")
    if samples:
        print(f"  p99 / target ({TARGET_P99_MS:.0f} ms): {pct(samples, 99) / TARGET_P99_MS:.2f}")


async def switch_sink_fetch_wait(stack: Stack, wait_ms: int) -> None:
    """Restart the sink as bench/fetch_wait_sink.py (same environment), and wait until it writes again."""
    spec = sink_spec()
    spec.argv[1:] = [str(Path(__file__).resolve().parent / "fetch_wait_sink.py")]
    spec.env["FOLIO_BENCH_SINK_FETCH_WAIT_MS"] = str(wait_ms)
    await asyncio.to_thread(stack.supervisor.kill, "sink", signal.SIGTERM)
    stack.supervisor.start(spec)
    await stack.wait_idle(timeout=300)
    # Lag 0 says nothing of a sink still joining its group: wait for a price it must write.
    await produce_events(stack.bootstrap, [Event("prices", b"WARM", json.dumps(
        {"security_id": "WARM", "price_date": DAY, "price": "1"}).encode())])
    conn = await asyncpg.connect(stack.dsn)
    try:
        while not await conn.fetchval("SELECT count(*) FROM prices WHERE security_id = 'WARM'"):
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def log_api_rounds(stack: Stack) -> None:
    """Restart the API with FOLIO_LOG_LEVEL=DEBUG: it logs each stream round's timings (api.stream)."""
    spec = api_spec(stack.api_port, stack.worker_urls())
    spec.env["FOLIO_LOG_LEVEL"] = "DEBUG"
    await asyncio.to_thread(stack.supervisor.kill, "api", signal.SIGTERM)
    stack.supervisor.start(spec)
    await stack.wait_ready(timeout=120)


def round_figures(log_file: Path, since: int) -> str:
    """The stream rounds the API logged after byte `since`: rows, events offered, time per step."""
    rounds = [line for line in log_file.read_text(errors="replace")[since:].splitlines() if "stream round:" in line]
    parsed = []
    for line in rounds:
        numbers = re.findall(r"([0-9.]+) (?:rows|portfolios|events|ms)", line)
        parsed.append([float(n) for n in numbers])
    if not parsed:
        return "no stream rounds logged"
    rows, valued, offered, read, value, fan = (list(column) for column in zip(*parsed))
    return (f"{len(parsed)} rounds: rows/round p50 {pct(rows, 50):.0f}, events offered/round p50 "
            f"{pct(offered, 50):.0f}; read log {summary(read)}; value {summary(value)}; derive+offer {summary(fan)}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--portfolios", type=int, default=50)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--tx-rate", type=float, default=200.0)
    parser.add_argument("--price-rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--sink-fetch-wait-ms", type=int, default=None,
                        help="restart the sink with this consumer fetch_max_wait_ms (bench/fetch_wait_sink.py)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="folio-bench-") as tmp:
        stack = Stack(Path(tmp), api_port=free_port(), extra_env={"FOLIO_WORKER_WEB_PORT": str(free_port())})
        try:
            await stack.start()
            # Definitions first: the worker's portfolio and ledger agents read different topics, and a
            # transaction applied before its portfolio is dead-lettered (unknown_portfolio), which
            # leaves every quantity 100 short and the clients with no sample at all.
            setup = setup_events(args.portfolios)
            for transactions in (False, True):
                await produce_events(stack.bootstrap, [e for e in setup if (e.topic == "transactions") == transactions])
                await stack.wait_idle(timeout=300)
            if args.sink_fetch_wait_ms is not None:
                await switch_sink_fetch_wait(stack, args.sink_fetch_wait_ms)
            await log_api_rounds(stack)
            api_log = Path(tmp) / "logs" / "api.log"
            probes: dict[str, Probe] = {}
            clients = [Client(portfolio(i % args.portfolios), "position") for i in range(args.clients)]
            readers = [asyncio.create_task(read_stream("127.0.0.1", stack.api_port, f"/portfolios/{c.portfolio_id}/stream",
                                                       stack.api_headers, c, probes)) for c in clients]
            await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in clients)), 60)
            pids = {n: child.pid for n, child in stack.supervisor.children.items()}
            if stack.broker is not None and stack.broker.pid:
                pids["broker"] = stack.broker.pid

            counts = [0] * args.portfolios
            probes["position"] = probe = Probe()
            before, wall, machine_before = cpu_seconds(pids), time.perf_counter(), snapshot()
            log_at = api_log.stat().st_size
            await produce(stack.bootstrap, probe, buy, counts, args.tx_rate, args.seconds)
            behind = await wait_seen(clients, probe)
            cpu_1, wall_1 = cpu_seconds(pids), time.perf_counter() - wall
            machine_1 = usage(machine_before, snapshot(), Path(tmp))
            to_sink, after = await split(stack.dsn, clients)
            sink = "" if args.sink_fetch_wait_ms is None else f", sink fetch_max_wait_ms={args.sink_fetch_wait_ms}"
            report(f"transaction produced -> `position` event, {args.tx_rate:.0f} tx/s, {args.clients} clients on "
                   f"{args.portfolios} portfolios{sink}", clients, probe, args.tx_rate, behind, to_sink, after)
            print("  CPU (one core = 100%): " + ", ".join(
                f"{n} {100 * (cpu_1[n] - before[n]) / wall_1:.0f}%" for n in cpu_1 if n in before))
            print(f"  API {round_figures(api_log, log_at)}")
            print(f"  {machine_1}\n", flush=True)

            await stack.wait_idle(timeout=300)
            await asyncio.sleep(1.0)
            for c in clients:
                c.name, c.quantity, c.seen, c.samples, c.overtaken = ("valuation", START_QUANTITY + counts[
                    int(c.portfolio_id[2:])], -1, [], 0)
            probes["valuation"] = probe = Probe()
            before, wall, machine_before = cpu_seconds(pids), time.perf_counter(), snapshot()
            log_at = api_log.stat().st_size
            await produce(stack.bootstrap, probe, price, [0] * args.portfolios, args.price_rate, args.seconds)
            behind = await wait_seen(clients, probe)
            cpu_2, wall_2 = cpu_seconds(pids), time.perf_counter() - wall
            machine_2 = usage(machine_before, snapshot(), Path(tmp))
            to_sink, after = await split(stack.dsn, clients)
            report(f"price produced -> `valuation` event, {args.price_rate:.0f} prices/s, {args.clients} clients on "
                   f"{args.portfolios} portfolios{sink}", clients, probe, args.price_rate, behind, to_sink, after)
            print("  CPU (one core = 100%): " + ", ".join(
                f"{n} {100 * (cpu_2[n] - before[n]) / wall_2:.0f}%" for n in cpu_2 if n in before))
            print(f"  API {round_figures(api_log, log_at)}")
            print(f"  {machine_2}", flush=True)
            ended = [task for task in readers if task.done()]
            failures = {repr(task.exception()) for task in ended if task.exception() is not None}
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
            problems = [line for line in api_log.read_text(errors="replace").splitlines()
                        if " WARNING " in line or " ERROR " in line]
            print(f"  streams that ended: {len(ended)} {sorted(failures)}; API log warnings and errors: {len(problems)}"
                  + "".join(f"\n    {line[:300]}" for line in problems[:10]))
        finally:
            await stack.stop()


if __name__ == "__main__":
    asyncio.run(main())
