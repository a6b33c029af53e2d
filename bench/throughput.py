"""End-to-end throughput of the positions topology, against raw aiokafka on the same broker.

    .venv/bin/python bench/throughput.py [--transactions 100000] [--keys 10000]

Starts a fresh stack (tansu, PostgreSQL, one positions worker, the sink),
publishes portfolios, then N transactions (BUY/SELL, FIFO lots) over about K
(portfolio, security) keys, and times from the first transaction published
until the worker has committed all of them and the sink has written every
changelog record to PostgreSQL. Then reads the same transactions topic with a
bare aiokafka consumer for the raw consume rate. Prints figures and ratios.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer

from folio.devenv.stack import Stack
from folio.produce import Event, produce_events

PORTFOLIOS = 100


def make_events(n: int, keys: int, seed: int = 1) -> tuple[list[Event], list[Event]]:
    rng = random.Random(seed)
    securities = max(1, keys // PORTFOLIOS)
    portfolios = [Event("portfolios", f"BP{p:03d}".encode(), json.dumps({
        "portfolio_id": f"BP{p:03d}", "name": f"Bench {p}", "base_currency": "USD",
        "cost_method": "FIFO", "open_date": "2020-01-01"}).encode()) for p in range(PORTFOLIOS)]
    txs = []
    for i in range(n):
        pid = f"BP{rng.randrange(PORTFOLIOS):03d}"
        # Dates move forward with i: the in-order (append) path, as in live trading.
        day = f"2021-{1 + (i * 12 // n):02d}-{1 + (i % 28):02d}"
        kind = "BUY" if rng.random() < 0.7 else "SELL"
        txs.append(Event("transactions", pid.encode(), json.dumps({
            "transaction_id": f"T{i:08d}", "portfolio_id": pid, "type": kind, "trade_date": day,
            "security_id": f"S{rng.randrange(securities):04d}", "quantity": str(rng.randint(1, 100)),
            "price": f"{rng.uniform(10, 500):.2f}", "fees": "1.50", "currency": "USD"}).encode()))
    # Same-date events within a key must stay in order of arrival; sort by date, stable.
    txs.sort(key=lambda e: json.loads(e.value)["trade_date"])
    return portfolios, txs


async def raw_consume_rate(bootstrap: str, topic: str, expected: int) -> float:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False, max_partition_fetch_bytes=8 << 20)
    await consumer.start()
    try:
        seen, start = 0, time.perf_counter()
        while seen < expected:
            batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
            for records in batches.values():
                for r in records:
                    json.loads(r.value)
                seen += sum(len(r) for r in batches.values())
        return seen / (time.perf_counter() - start)
    finally:
        await consumer.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=10_000)
    args = parser.parse_args()
    portfolios, txs = make_events(args.transactions, args.keys)
    with tempfile.TemporaryDirectory(prefix="folio-bench-") as tmp:
        stack = Stack(Path(tmp), with_api=False)
        await stack.start()
        try:
            await produce_events(stack.bootstrap, portfolios)
            await stack.wait_idle(include_sink=False)
            start = time.perf_counter()
            await produce_events(stack.bootstrap, txs)
            produced = time.perf_counter() - start
            await stack.wait_idle(timeout=1800, include_sink=False)
            worker_done = time.perf_counter() - start
            await stack.wait_idle(timeout=1800)
            all_done = time.perf_counter() - start
            conn = await asyncpg.connect(stack.dsn)
            rows = await conn.fetchval("SELECT count(*) FROM transactions")
            await conn.close()
            raw = await raw_consume_rate(stack.bootstrap, "transactions", len(txs))
        finally:
            await stack.stop()
    n = len(txs)
    # The lag checks poll every 0.5 s and want two calm reads: up to ~1 s of the
    # wall time is the measurement itself.
    print(f"transactions:                     {n}")
    print(f"keys (portfolio, security):       ~{args.keys}")
    print(f"publish time:                     {produced:.2f} s  ({n / produced:,.0f}/s)")
    print(f"worker applied + committed:       {worker_done:.2f} s  ({n / worker_done:,.0f} tx/s per worker)")
    print(f"end to end incl. PostgreSQL sink: {all_done:.2f} s  ({n / all_done:,.0f} tx/s per worker)")
    print(f"rows in PostgreSQL transactions:  {rows}")
    print(f"raw aiokafka consume + JSON:      {raw:,.0f} msg/s")
    print(f"ratio end-to-end / raw consume:   {n / all_done / raw:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
