"""End-to-end throughput of the positions topology, against raw aiokafka on the same broker.

    .venv/bin/python bench/throughput.py [--transactions 100000] [--keys 10000]
    .venv/bin/python bench/throughput.py --depth 10 100 1000 [--transactions 20000]

Starts a fresh stack (tansu, PostgreSQL, one positions worker, the sink),
publishes portfolios, then N transactions (BUY/SELL, FIFO lots) over about K
(portfolio, security) keys, and times from the first transaction published
until the worker has committed all of them and the sink has written every
changelog record to PostgreSQL. Then reads the same transactions topic with a
bare aiokafka consumer for the raw consume rate. Prints figures and ratios.

`--depth D ...` runs one fresh stack per depth: the same number of
transactions over transactions/D keys, interleaved round robin (every key's
k-th trade comes after every key's (k-1)-th, dates moving forward), so each
position ends holding D trades, as a real stream of deep positions. Per depth
it prints transactions/s end to end, changelog records and bytes per
transaction (every table's changelog, keys and values, read back from the
broker), and the broker's raw consume rate; then each depth's ratio to the
first.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from folio.devenv.stack import Stack
from folio.produce import Event, produce_events
from folio.consumer_groups import positions_app_id

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


def make_deep_events(n: int, depth: int, seed: int = 1) -> tuple[list[Event], list[Event]]:
    """n transactions over n // depth keys, round robin: every position ends with `depth` trades."""
    rng = random.Random(seed)
    keys = max(1, n // depth)
    portfolio_count = min(PORTFOLIOS, keys)
    portfolios = [Event("portfolios", f"BP{p:03d}".encode(), json.dumps({
        "portfolio_id": f"BP{p:03d}", "name": f"Bench {p}", "base_currency": "USD",
        "cost_method": "FIFO", "open_date": "2000-01-01"}).encode()) for p in range(portfolio_count)]
    held = [0] * keys
    txs = []
    for i in range(keys * depth):
        key, round_ = i % keys, i // keys
        pid, security = f"BP{key % portfolio_count:03d}", f"S{key // portfolio_count:04d}"
        day = date(2000, 1, 3) + timedelta(days=round_)  # one trade per position per day, in order
        quantity = rng.randint(1, 100)
        kind = "SELL" if held[key] >= quantity and rng.random() < 0.3 else "BUY"  # never short: lots stay open
        held[key] += quantity if kind == "BUY" else -quantity
        txs.append(Event("transactions", pid.encode(), json.dumps({
            "transaction_id": f"T{i:08d}", "portfolio_id": pid, "type": kind, "trade_date": day.isoformat(),
            "security_id": security, "quantity": str(quantity), "price": f"{rng.uniform(10, 500):.2f}",
            "fees": "1.50", "currency": "USD"}).encode()))
    return portfolios, txs


async def changelog_volume(bootstrap: str, app_id: str) -> tuple[int, int]:
    """(records, bytes of keys and values) on every table's changelog topic."""
    topics = await changelog_topics(bootstrap, app_id)
    return sum(t["records"] for t in topics.values()), sum(t["bytes"] for t in topics.values())


async def changelog_topics(bootstrap: str, app_id: str, last_per_key: bool = False) -> dict[str, dict[str, int]]:
    """Per table changelog topic: records and bytes (keys and values) on the broker.

    With `last_per_key`, also `keys` (distinct keys) and `compacted_bytes`: what
    would remain after log compaction (the last record of each key, tombstones
    dropped), which is what a recovery from a compacted changelog reads.
    """
    prefix = positions_app_id(app_id) + "-"
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False, max_partition_fetch_bytes=8 << 20)
    await consumer.start()
    try:
        # Every table's changelog, found by name, so that an older tree (other tables) is measured alike.
        topics = sorted(topic for topic in await consumer.topics()
                        if topic.startswith(prefix) and topic.endswith("-changelog"))
        consumer.assign([TopicPartition(topic, partition) for topic in topics
                         for partition in consumer.partitions_for_topic(topic) or ()])
        ends = await consumer.end_offsets(list(consumer.assignment()))
        volume = {topic: {"records": 0, "bytes": 0} for topic in topics}
        last: dict[str, dict[tuple[int, bytes], int]] = {topic: {} for topic in topics}
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for tp, batch in (await consumer.getmany(timeout_ms=500, max_records=10_000)).items():
                volume[tp.topic]["records"] += len(batch)
                volume[tp.topic]["bytes"] += sum(len(r.key or b"") + len(r.value or b"") for r in batch)
                if last_per_key:
                    kept = last[tp.topic]
                    for r in batch:
                        kept[tp.partition, r.key] = 0 if r.value is None else len(r.key or b"") + len(r.value)
        if last_per_key:
            for topic, kept in last.items():
                volume[topic]["keys"] = sum(1 for size in kept.values() if size)
                volume[topic]["compacted_bytes"] = sum(kept.values())
        return volume
    finally:
        await consumer.stop()


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


async def run_depth(n: int, depth: int) -> dict[str, float]:
    portfolios, txs = make_deep_events(n, depth)
    with tempfile.TemporaryDirectory(prefix="folio-bench-") as tmp:
        stack = Stack(Path(tmp), with_api=False)
        await stack.start()
        try:
            await produce_events(stack.bootstrap, portfolios)
            await stack.wait_idle()
            before = await changelog_volume(stack.bootstrap, stack.app_id)
            start = time.perf_counter()
            await produce_events(stack.bootstrap, txs)
            await stack.wait_idle(timeout=3600)
            elapsed = time.perf_counter() - start
            after = await changelog_volume(stack.bootstrap, stack.app_id)
            raw = await raw_consume_rate(stack.bootstrap, "transactions", len(txs))
        finally:
            await stack.stop()
    count = len(txs)
    return {"depth": depth, "keys": count // depth, "transactions": count, "seconds": elapsed,
            "tx_per_s": count / elapsed, "changelog_records_per_tx": (after[0] - before[0]) / count,
            "changelog_bytes_per_tx": (after[1] - before[1]) / count, "raw_per_s": raw}


async def main_depths(n: int, depths: list[int]) -> None:
    results = []
    for depth in depths:
        result = await run_depth(n, depth)
        results.append(result)
        print(f"depth {depth:>5}: {result['transactions']:,} tx over {result['keys']:,} positions in "
              f"{result['seconds']:.1f} s = {result['tx_per_s']:,.0f} tx/s end to end (sink included); changelog "
              f"{result['changelog_records_per_tx']:.2f} records, {result['changelog_bytes_per_tx']:,.0f} bytes per tx; "
              f"raw consume {result['raw_per_s']:,.0f} msg/s", flush=True)
    first = results[0]
    for result in results[1:]:
        print(f"depth {result['depth']} / depth {first['depth']}: throughput "
              f"{result['tx_per_s'] / first['tx_per_s']:.2f}x, changelog bytes per tx "
              f"{result['changelog_bytes_per_tx'] / first['changelog_bytes_per_tx']:.2f}x")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=None,
                        help="default 100000, or 20000 with --depth")
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--depth", type=int, nargs="+", default=None,
                        help="trades per position, one run each (keys = transactions / depth, interleaved)")
    args = parser.parse_args()
    if args.depth:
        await main_depths(args.transactions or 20_000, args.depth)
        return
    args.transactions = args.transactions or 100_000
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
