"""Performance and risk over ten years of daily data, answered over HTTP.

    .venv/bin/python bench/analytics.py [--securities 200] [--years 10] [--requests 200]

Starts a fresh stack (tansu, PostgreSQL, the positions worker, the sink, the
daily-series topology, the API) and builds one USD portfolio through the real
pipeline: a benchmark instrument and S securities, a DEPOSIT and a BUY of every
security on the first day, a few trades and a deposit or withdrawal every
month, and a closing price for every security and the benchmark on every
weekday (about 2,600 days × 201 ≈ 520k price events for the full size),
published day by day in one bulk produce. It times how long the pipeline takes
to build the `daily_series` rows (worker, sink, series topology all idle), then
checks the stored series against one full recompute.

Then, with one keep-alive httpx client, sequential requests after warm-ups:
`/performance?period=SI`, `/risk?period=SI` (the portfolio's benchmark),
both back to back (one dashboard's figures), and `/performance?period=1Y`;
p50/p95/p99/max in ms and p95 against the 50 ms target. Finally the same work
in-process, to split it: loading the series (raw asyncpg, and the API's own
SQLAlchemy path), Decimal → float arrays, and the pure core.analytics calls.
Prints figures and ratios, asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
import numpy as np
from cpu_usage import snapshot, usage  # bench/cpu_usage.py

from core.analytics.performance import performance
from core.analytics.periods import clamp_period, resolve_period
from core.analytics.returns import benchmark_returns, daily_returns
from core.analytics.risk import risk_for_period
from folio.devenv.broker import free_port
from folio.devenv.progress import wait_for_lag_zero
from folio.devenv.stack import Stack
from folio.produce import Event, produce_events

PORTFOLIO = "BENCH-ANALYTICS"
BENCHMARK = "BMK"
TARGET_MS = 50.0
END = date(2026, 11, 20)  # a Friday: the last price date (the market horizon)


def weekdays(first: date, last: date) -> list[date]:
    days, day = [], first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _event(topic: str, key: str, value: dict) -> Event:
    return Event(topic, key.encode(), json.dumps(value, separators=(",", ":")).encode())


def make_events(securities: int, years: int, trades_per_month: int, seed: int = 7):
    """(reference events, day-ordered market + transaction events, counts)."""
    rng = random.Random(seed)
    first = END - timedelta(days=round(365.25 * years) - 1)
    days = weekdays(first, END)
    ids = [f"S{i:04d}" for i in range(securities)]

    reference = [_event("portfolios", PORTFOLIO, {
        "portfolio_id": PORTFOLIO, "name": "Analytics bench", "base_currency": "USD", "cost_method": "FIFO",
        "open_date": days[0].isoformat(), "benchmark_id": BENCHMARK})]
    reference.append(_event("instruments", BENCHMARK, {
        "security_id": BENCHMARK, "name": "Benchmark index", "currency": "USD", "asset_class": "INDEX",
        "sector": "INDEX", "country": "US"}))
    sectors = ["IT", "FIN", "HC", "ENERGY", "INDU", "STAPLES", "UTIL", "MAT"]
    for i, sid in enumerate(ids):
        reference.append(_event("instruments", sid, {
            "security_id": sid, "name": f"Security {i}", "currency": "USD", "asset_class": "EQUITY",
            "sector": sectors[i % len(sectors)], "country": "US" if i % 3 else "GB"}))

    # One market factor + idiosyncratic noise: betas around 1, a real benchmark relation.
    np_rng = np.random.default_rng(seed)
    n = len(days)
    market = np_rng.normal(0.0003, 0.011, n)
    betas = np_rng.uniform(0.6, 1.4, securities)
    idio = np_rng.normal(0.0, 0.012, (n, securities))
    start = np_rng.uniform(20.0, 300.0, securities)
    levels = start * np.exp(np.cumsum(market[:, None] * betas + idio, axis=0))
    bench_levels = 3000.0 * np.exp(np.cumsum(market))

    held = {sid: 0 for sid in ids}
    timeline: list[Event] = []
    tx_count = 0

    def tx(day: date, **fields) -> None:
        nonlocal tx_count
        tx_count += 1
        timeline.append(_event("transactions", PORTFOLIO, {
            "transaction_id": f"T{tx_count:06d}", "portfolio_id": PORTFOLIO, "trade_date": day.isoformat(),
            "currency": "USD", **fields}))

    for t, day in enumerate(days):
        iso = day.isoformat()
        # A day's closing prices first, then its transactions.
        timeline.append(_event("prices", BENCHMARK, {"security_id": BENCHMARK, "price_date": iso,
                                                     "price": f"{bench_levels[t]:.4f}", "currency": "USD"}))
        for j, sid in enumerate(ids):
            timeline.append(_event("prices", sid, {"security_id": sid, "price_date": iso,
                                                   "price": f"{levels[t, j]:.4f}", "currency": "USD"}))
        if t == 0:
            # Fully invested but for about 5% cash.
            cost = sum(100 * round(float(levels[t, j]), 4) + 5 for j in range(securities))
            tx(day, type="DEPOSIT", amount=f"{cost * 1.05:.2f}")
            for j, sid in enumerate(ids):
                tx(day, type="BUY", security_id=sid, quantity="100", price=f"{levels[t, j]:.4f}", fees="5")
                held[sid] = 100
        elif t % 21 == 0:  # about monthly
            if (t // 21) % 3 == 2:
                tx(day, type="WITHDRAWAL", amount="40000")
            else:
                tx(day, type="DEPOSIT", amount="50000")
            for _ in range(trades_per_month):
                j = rng.randrange(securities)
                sid = ids[j]
                if held[sid] > 20 and rng.random() < 0.45:
                    q = rng.randint(1, 20)
                    tx(day, type="SELL", security_id=sid, quantity=str(q), price=f"{levels[t, j]:.4f}", fees="5")
                    held[sid] -= q
                else:
                    q = rng.randint(1, 20)
                    tx(day, type="BUY", security_id=sid, quantity=str(q), price=f"{levels[t, j]:.4f}", fees="5")
                    held[sid] += q
    counts = {"days": n, "prices": n * (securities + 1), "transactions": tx_count,
              "first_day": days[0], "last_day": days[-1]}
    return reference, timeline, counts


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def line(label: str, samples_ms: list[float], target: float | None = TARGET_MS) -> str:
    p50, p95, p99 = pct(samples_ms, 50), pct(samples_ms, 95), pct(samples_ms, 99)
    text = (f"{label:<44} n={len(samples_ms):<4} p50 {p50:7.2f}  p95 {p95:7.2f}  p99 {p99:7.2f}  "
            f"max {max(samples_ms):7.2f} ms")
    if target is not None:
        text += f"  p95/target {p95 / target:5.2f}"
    return text


async def watch(dsn: str, start: float, counts: dict, every: float, reached: dict[str, float]) -> None:
    """Poll PostgreSQL each second; note when all prices, all transactions and all series rows are in."""
    conn = await asyncpg.connect(dsn)
    last_print = 0.0
    try:
        while True:
            await asyncio.sleep(1.0)
            now = time.perf_counter() - start
            found = {
                "prices": await conn.fetchval("SELECT count(*) FROM prices") if "prices" not in reached else None,
                "transactions": await conn.fetchval("SELECT count(*) FROM transactions"),
                "daily_series": await conn.fetchval("SELECT count(*) FROM daily_series"),
                "outbox": await conn.fetchval("SELECT count(*) FROM series_marks"),
            }
            for name, want in (("prices", counts["prices"]), ("transactions", counts["transactions"]),
                               ("daily_series", counts["days"])):
                if name not in reached and found[name] is not None and found[name] >= want:
                    reached[name] = now
            if now - last_print >= every:
                last_print = now
                shown = ", ".join(f"{k} {v}" for k, v in found.items() if v is not None)
                print(f"  [{now:6.1f} s] PostgreSQL: {shown}", flush=True)
    finally:
        await conn.close()


async def build(stack: Stack, reference: list[Event], timeline: list[Event], counts: dict,
                progress_every: float) -> dict:
    await produce_events(stack.bootstrap, reference)
    await stack.wait_idle(timeout=300)
    worker_groups = stack.lag_groups(include_sink=False)
    downstream = {g: t for g, t in stack.lag_groups().items() if g not in worker_groups}
    reached: dict[str, float] = {}
    machine_before = snapshot()
    start = time.perf_counter()
    watcher = asyncio.create_task(watch(stack.dsn, start, counts, progress_every, reached))

    async def worker_idle() -> float:
        await wait_for_lag_zero(stack.bootstrap, worker_groups, timeout=3600)
        return time.perf_counter() - start

    async def series_built() -> float:
        # Sink and series topology idle with every price and transaction in
        # PostgreSQL: no mark is left to rewrite a row (the sink alone may be
        # idle earlier, waiting for the worker's changelogs).
        while True:
            await wait_for_lag_zero(stack.bootstrap, downstream, timeout=3600)
            if "prices" in reached and "transactions" in reached:
                return time.perf_counter() - start
            await asyncio.sleep(1.0)

    try:
        await produce_events(stack.bootstrap, timeline)
        produced = time.perf_counter() - start
        worker_done, series_done = await asyncio.gather(worker_idle(), series_built())
        await stack.wait_idle(timeout=3600)
        idle = time.perf_counter() - start
    finally:
        watcher.cancel()
    conn = await asyncpg.connect(stack.dsn)
    try:
        rows = await conn.fetchval("SELECT count(*) FROM daily_series WHERE portfolio_id = $1", PORTFOLIO)
        null_mv = await conn.fetchval("SELECT count(*) FROM daily_series WHERE portfolio_id = $1 AND mv IS NULL",
                                      PORTFOLIO)
    finally:
        await conn.close()
    return {"produced": produced, "worker_done": worker_done, "series_done": series_done, "idle": idle,
            "rows": rows, "null_mv": null_mv, "reached": reached,
            "machine": usage(machine_before, snapshot(), stack.data_dir)}


async def check_against_full_recompute(dsn: str) -> str:
    """The stored series (built incrementally, batch by batch) against one full recompute."""
    from streams.series_store import (  # read-only use of the topology's own code
        _BOUNDS,
        compute,
        plan,
    )

    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction(readonly=True):
            bounds = await conn.fetchrow(_BOUNDS, PORTFOLIO)
            p = plan(bounds, None, None)
            # plan() keeps an already stored range short; a full recompute is lo=first.
            p = type(p)(p.base_currency, p.first_day, p.horizon, p.first_day, p.horizon)
            start = time.perf_counter()
            points = await compute(conn, PORTFOLIO, p)
            elapsed = time.perf_counter() - start
            stored = {r["date"]: r for r in await conn.fetch(
                "SELECT date, mv, inflow, outflow FROM daily_series WHERE portfolio_id = $1", PORTFOLIO)}
    finally:
        await conn.close()
    differ = []
    for pt in points:
        row = stored.get(date.fromisoformat(pt.day))
        if row is None or (row["mv"], row["inflow"], row["outflow"]) != (pt.mv, pt.inflow, pt.outflow):
            differ.append((pt.day, None if row is None else row["mv"], pt.mv))
    extra = len(stored) - len(points)
    text = (f"full recompute in-process: {len(points)} points in {elapsed:.2f} s; "
            f"stored rows differing: {len(differ)}, stored rows not in it: {max(extra, 0)}")
    if differ:
        first = differ[0]
        text += f"\n  first difference {first[0]}: stored mv {first[1]} vs full recompute {first[2]}"
    return text


async def measure_http(api_url: str, n: int, warmup: int, headers: dict[str, str]) -> dict[str, list[float]]:
    base = f"/portfolios/{PORTFOLIO}"
    paths = {
        "performance?period=SI": [f"{base}/performance?period=SI"],
        "risk?period=SI": [f"{base}/risk?period=SI"],
        "performance+risk SI (back to back)": [f"{base}/performance?period=SI", f"{base}/risk?period=SI"],
        "performance?period=1Y": [f"{base}/performance?period=1Y"],
    }
    results: dict[str, list[float]] = {}
    async with httpx.AsyncClient(base_url=api_url, timeout=30.0, headers=headers) as client:
        for label, urls in paths.items():
            for _ in range(warmup):
                for url in urls:
                    (await client.get(url)).raise_for_status()
            samples = []
            for _ in range(n):
                t0 = time.perf_counter()
                for url in urls:
                    response = await client.get(url)
                    response.raise_for_status()
                samples.append((time.perf_counter() - t0) * 1000.0)
            results[label] = samples
        perf = (await client.get(f"{base}/performance?period=SI")).json()
        risk = (await client.get(f"{base}/risk?period=SI")).json()
    results["_sample"] = [perf, risk]  # type: ignore[assignment]
    return results


def timed(fn, n: int) -> tuple[list[float], object]:
    samples, out = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        samples.append((time.perf_counter() - t0) * 1000.0)
    return samples, out


async def measure_in_process(dsn: str, n: int) -> list[str]:
    lines = []
    conn = await asyncpg.connect(dsn)
    try:
        horizon = await conn.fetchval("SELECT horizon FROM market_horizon")
        first = await conn.fetchval("SELECT min(trade_date) FROM transactions WHERE portfolio_id = $1"
                                    " AND status = 'BOOKED'", PORTFOLIO)
        series_sql = ("SELECT date, mv, inflow, outflow FROM daily_series WHERE portfolio_id = $1 AND date <= $2"
                      " ORDER BY date")
        bench_sql = "SELECT price_date, price FROM prices WHERE security_id = $1 AND price_date <= $2 ORDER BY price_date"
        load_ms, fetched = [], None
        for _ in range(n):
            t0 = time.perf_counter()
            fetched = (await conn.fetch(series_sql, PORTFOLIO, horizon), await conn.fetch(bench_sql, BENCHMARK, horizon))
            load_ms.append((time.perf_counter() - t0) * 1000.0)
        rows, bench = fetched
    finally:
        await conn.close()
    lines.append(line("asyncpg: series + benchmark rows", load_ms, None) + f"  ({len(rows)} + {len(bench)} rows)")

    def to_arrays():
        f = lambda v: np.nan if v is None else float(v)
        return (np.array([r["date"] for r in rows], dtype="datetime64[D]"),
                np.array([f(r["mv"]) for r in rows]), np.array([f(r["inflow"]) for r in rows]),
                np.array([f(r["outflow"]) for r in rows]),
                np.array([r["price_date"] for r in bench], dtype="datetime64[D]"),
                np.array([float(r["price"]) for r in bench]))

    conv_ms, arrays = timed(to_arrays, n)
    dates, mv, inflow, outflow, bdates, bprices = arrays
    lines.append(line("Decimal rows -> float arrays", conv_ms, None))

    # Cheaper load shapes, for comparison: float8 in SQL (no Decimal at all), and
    # one row of arrays (no per-row objects either). Same rows, same answers.
    float_series = ("SELECT date, mv::float8, inflow::float8, outflow::float8 FROM daily_series"
                    " WHERE portfolio_id = $1 AND date <= $2 ORDER BY date")
    float_bench = ("SELECT price_date, price::float8 FROM prices WHERE security_id = $1 AND price_date <= $2"
                   " ORDER BY price_date")
    # Dates as day numbers: numpy turns a list of ints into datetime64 about 20x faster than date objects.
    array_series = ("SELECT array_agg(date - DATE '1970-01-01' ORDER BY date), array_agg(mv::float8 ORDER BY date),"
                    " array_agg(inflow::float8 ORDER BY date), array_agg(outflow::float8 ORDER BY date)"
                    " FROM daily_series WHERE portfolio_id = $1 AND date <= $2")
    array_bench = ("SELECT array_agg(price_date - DATE '1970-01-01' ORDER BY price_date),"
                   " array_agg(price::float8 ORDER BY price_date)"
                   " FROM prices WHERE security_id = $1 AND price_date <= $2")
    conn = await asyncpg.connect(dsn)
    try:
        float_ms, array_ms = [], []
        for _ in range(n):
            t0 = time.perf_counter()
            srows = await conn.fetch(float_series, PORTFOLIO, horizon)
            brows = await conn.fetch(float_bench, BENCHMARK, horizon)
            cols = list(zip(*srows))
            np.array(cols[0], dtype="datetime64[D]"), np.array(cols[1], dtype=np.float64)
            np.array(cols[2], dtype=np.float64), np.array(cols[3], dtype=np.float64)
            bcols = list(zip(*brows))
            np.array(bcols[0], dtype="datetime64[D]"), np.array(bcols[1], dtype=np.float64)
            float_ms.append((time.perf_counter() - t0) * 1000.0)
        for _ in range(n):
            t0 = time.perf_counter()
            a = await conn.fetchrow(array_series, PORTFOLIO, horizon)
            bb = await conn.fetchrow(array_bench, BENCHMARK, horizon)
            np.array(a[0], dtype=np.int64).astype("datetime64[D]"), np.array(a[1], dtype=np.float64)
            np.array(a[2], dtype=np.float64), np.array(a[3], dtype=np.float64)
            np.array(bb[0], dtype=np.int64).astype("datetime64[D]"), np.array(bb[1], dtype=np.float64)
            array_ms.append((time.perf_counter() - t0) * 1000.0)
        # Server side of each query: execution time and buffers (the rest is the client's).
        explained = []
        for label, sql, key in (("series rows", series_sql, PORTFOLIO), ("benchmark rows", bench_sql, BENCHMARK),
                                ("series ::float8", float_series, PORTFOLIO),
                                ("series float8[]", array_series, PORTFOLIO)):
            plan = [r[0] for r in await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", key, horizon)]
            top = plan[0].split("  (")[0].strip()
            execution = next((p.split(":")[1].strip() for p in plan if p.startswith("Execution Time")), "?")
            buffers = next((p.strip() for p in plan if p.strip().startswith("Buffers")), "")
            explained.append(f"{label}: {execution} ({top}; {buffers})")
        dead = await conn.fetchrow("SELECT n_live_tup, n_dead_tup, last_autovacuum FROM pg_stat_user_tables"
                                   " WHERE relname = 'daily_series'")
    finally:
        await conn.close()
    lines.append(line("alt: asyncpg ::float8 rows -> arrays", float_ms, None))
    lines.append(line("alt: asyncpg one row of int4[]/float8[] -> arrays", array_ms, None))
    lines.append("PostgreSQL execution time (EXPLAIN ANALYZE): " + "; ".join(explained))
    lines.append(f"daily_series: {dead['n_live_tup']} live rows, {dead['n_dead_tup']} dead, "
                 f"last autovacuum {dead['last_autovacuum']}")

    si_from, si_to = clamp_period(*resolve_period("SI", horizon), first)
    y1_from, y1_to = clamp_period(*resolve_period("1Y", horizon), first)
    r = daily_returns(mv, inflow, outflow)
    b = benchmark_returns(dates, bdates, bprices)
    timings = {
        "daily_returns": lambda: daily_returns(mv, inflow, outflow),
        "performance SI (TWR + MWR)": lambda: performance(dates, mv, inflow, outflow, r, si_from, si_to),
        "performance 1Y": lambda: performance(dates, mv, inflow, outflow, r, y1_from, y1_to),
        "benchmark_returns": lambda: benchmark_returns(dates, bdates, bprices),
        "risk_for_period SI (full set)": lambda: risk_for_period(dates, r, b, si_from, si_to),
        "all of it (SI perf + risk)": lambda: (
            performance(dates, mv, inflow, outflow, (rr := daily_returns(mv, inflow, outflow)), si_from, si_to),
            risk_for_period(dates, rr, benchmark_returns(dates, bdates, bprices), si_from, si_to)),
    }
    for label, fn in timings.items():
        samples, _ = timed(fn, n)
        lines.append(line(label, samples, None))

    # The API's own load path (SQLAlchemy over asyncpg), as the routes call it.
    try:
        from api.analytics import load_series
        from api.db import Database
        from api.queries.market import price_history

        database = Database(dsn)
        api_ms = []
        try:
            for _ in range(n):
                t0 = time.perf_counter()
                async with database.session() as session:
                    s = await load_series(session, PORTFOLIO, horizon)
                    await price_history(session, BENCHMARK, horizon)
                api_ms.append((time.perf_counter() - t0) * 1000.0)
        finally:
            await database.dispose()
        lines.append(line("API load path: load_series + price_history (SQLAlchemy)", api_ms, None)
                     + f"  ({len(s.rows)} rows)")
    except Exception as exc:  # noqa: BLE001 - the api package is being edited: report, do not fail the bench
        lines.append(f"API load path not measured: {type(exc).__name__}: {exc}")
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--securities", type=int, default=200)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--trades-per-month", type=int, default=4)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--progress-every", type=float, default=30.0)
    parser.add_argument("--keep", help="keep the stack's data in this directory (default: a temporary one)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    reference, timeline, counts = make_events(args.securities, args.years, args.trades_per_month)
    print(f"generated {len(timeline):,} events ({counts['prices']:,} prices over {counts['days']} weekdays "
          f"{counts['first_day']}..{counts['last_day']}, {counts['transactions']} transactions) "
          f"in {time.perf_counter() - t0:.1f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="folio-bench-") as tmp:
        data_dir = Path(args.keep) if args.keep else Path(tmp)
        # The series worker takes FOLIO_WORKER_WEB_PORT (default 6066) for the web
        # server the faust CLI turns on: give it a free one, so that another
        # stack on this machine (a test run) cannot make it exit.
        stack = Stack(data_dir, api_port=free_port(), extra_env={"FOLIO_WORKER_WEB_PORT": str(free_port())})
        t0 = time.perf_counter()
        try:
            await stack.start()
            pids = {name: child.pid for name, child in stack.supervisor.children.items()}
            print(f"stack started in {time.perf_counter() - t0:.1f} s; pids {pids}", flush=True)
            built = await build(stack, reference, timeline, counts, args.progress_every)
            # Half a million events held here would make every later full GC of
            # this process slow, and its in-process timings with it.
            published = len(timeline)
            del reference, timeline
            gc.collect()
            print()
            print(f"securities:                         {args.securities} + benchmark {BENCHMARK}")
            print(f"valuation dates (weekdays):         {counts['days']}")
            print(f"events published:                   {published:,} "
                  f"({counts['prices']:,} prices, {counts['transactions']} transactions)")
            print(f"publish time:                       {built['produced']:.1f} s "
                  f"({published / built['produced']:,.0f} events/s)")
            r = built["reached"]
            print("reached in PostgreSQL (1 s polls):  " + ", ".join(
                f"all {k} at {v:.0f} s" for k, v in sorted(r.items(), key=lambda kv: kv[1])))
            print(f"series built (sink + series idle):  {built['series_done']:.1f} s  "
                  f"({counts['prices'] / built['series_done']:,.0f} prices/s)")
            print(f"positions worker idle:              {built['worker_done']:.1f} s")
            print(f"everything idle:                    {built['idle']:.1f} s")
            print(f"daily_series rows:                  {built['rows']} (expected {counts['days']}; "
                  f"{built['null_mv']} with mv null)")
            print(f"during the build: {built['machine']}")
            print(check_against_full_recompute.__doc__.strip())
            print("  " + await check_against_full_recompute(stack.dsn))
            print()

            rest = snapshot()
            await asyncio.sleep(5.0)
            print(f"at rest (5 s, nothing asked): {usage(rest, snapshot(), stack.data_dir)}")
            print()
            machine_before = snapshot()
            results = await measure_http(stack.api_url, args.requests, args.warmup, stack.api_headers)
            machine = usage(machine_before, snapshot(), stack.data_dir)
            perf, risk = results.pop("_sample")
            print(f"HTTP, one keep-alive client, sequential, after {args.warmup} warm-ups each "
                  f"(target p95 <= {TARGET_MS:.0f} ms):")
            for label, samples in results.items():
                print("  " + line(label, samples))
            print(f"  during the requests: {machine}")
            print(f"  sample: SI twr {perf.get('twr')}, mwr {perf.get('mwr_annualized')}, "
                  f"volatility {risk.get('volatility')}, beta {risk.get('beta')}, var {risk.get('var')}")
            print()
            print("In-process split (same machine, stack still running idle):")
            for text in await measure_in_process(stack.dsn, args.requests):
                print("  " + text)
        finally:
            await stack.stop()


if __name__ == "__main__":
    asyncio.run(main())
