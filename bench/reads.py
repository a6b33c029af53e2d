"""Read cost: requests/s, latency and Folio's CPU per request of the live and analytics reads, driven by wrk.

    apt-get install -y wrk
    .venv/bin/python bench/reads.py [--securities 50] [--seconds 10] [--connections 1 20 100]

Starts a fresh stack (tansu, PostgreSQL, positions worker, sink, series
worker, API) and builds one USD portfolio through the real pipeline with
bench/analytics.py's generator: `--securities` positions bought on the first
day, a few trades a month, and a closing price for every security and the
benchmark on every weekday of one year. Then, for each connection count,
`wrk` (Debian's; a Python load generator would be the bottleneck on this box)
drives each endpoint for `--seconds` on loopback with the API key:
`/health/live` (the HTTP stack's floor), live positions, `/valuation` and
`/performance?period=SI`. Per cell: requests/s, p50/p99 as wrk reports them,
and the CPU every Folio process used (API, workers, sink, broker, PostgreSQL
and its backends; not wrk, not this script) divided by the requests served,
with the split by process. Prints figures, asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from analytics import PORTFOLIO, make_events  # bench/analytics.py
from cpu_usage import _name, _ours, snapshot  # bench/cpu_usage.py

from folio.devenv.broker import free_port
from folio.devenv.stack import Stack
from folio.produce import produce_events

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def endpoints() -> dict[str, str]:
    return {"health/live": "/health/live",
            "live positions": f"/portfolios/{PORTFOLIO}/positions",
            "valuation": f"/portfolios/{PORTFOLIO}/valuation",
            "performance SI": f"/portfolios/{PORTFOLIO}/performance?period=SI"}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * _UNITS[unit]


def run_wrk(url: str, headers: dict[str, str], connections: int, seconds: float) -> tuple[dict, int]:
    """(wrk's figures, wrk's pid)."""
    argv = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", url]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = process.communicate()
    figures = {"requests": int(re.search(r"(\d+) requests in", out)[1]),
               "per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
               "p50": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)[1]),
               "p99": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)[1]),
               "errors": sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))}
    return figures, process.pid


def folio_cpu(before, after, data_dir: Path, exclude: set[int]) -> dict[str, float]:
    """CPU seconds per Folio process name between two snapshots."""
    ours = (_ours(after, data_dir) | _ours(before, data_dir)) - exclude - {os.getpid()}
    used: dict[str, float] = {}
    for pid in ours:
        if pid not in after.per_pid:
            continue
        spent = after.per_pid[pid][1] - (before.per_pid[pid][1] if pid in before.per_pid else 0.0)
        if spent > 0:
            name = _name(after.per_pid[pid][2])
            used[name] = used.get(name, 0.0) + spent
    return used


async def build(stack: Stack, securities: int) -> dict:
    reference, timeline, counts = make_events(securities, 1, 4)
    await produce_events(stack.bootstrap, reference)
    await stack.wait_idle(timeout=300)
    await produce_events(stack.bootstrap, timeline)
    await stack.wait_idle(timeout=3600)
    return counts


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--securities", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 20, 100])
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    with tempfile.TemporaryDirectory(prefix="folio-bench-") as tmp:
        stack = Stack(Path(tmp), api_port=free_port(), extra_env={"FOLIO_WORKER_WEB_PORT": str(free_port())})
        await stack.start()
        try:
            counts = await build(stack, args.securities)
            print(f"portfolio {PORTFOLIO}: {args.securities} positions, {counts['prices']:,} prices over "
                  f"{counts['days']} days, {counts['transactions']} transactions")
            async with stack.client() as client:
                for path in endpoints().values():
                    answer = await client.get(path)
                    assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
            print(f"{'endpoint':<16} {'conns':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>10}  split")
            for connections in args.connections:
                for name, path in endpoints().items():
                    before = snapshot()
                    figures, wrk_pid = await asyncio.to_thread(run_wrk, stack.api_url + path, stack.api_headers,
                                                               connections, args.seconds)
                    used = folio_cpu(before, snapshot(), stack.data_dir, {wrk_pid})
                    per_request = 1000 * sum(used.values()) / max(1, figures["requests"])
                    split = ", ".join(f"{k} {1000 * v / max(1, figures['requests']):.2f}"
                                      for k, v in sorted(used.items(), key=lambda kv: -kv[1])[:4])
                    errors = f"  ({figures['errors']} non-2xx!)" if figures["errors"] else ""
                    print(f"{name:<16} {connections:>5} {figures['per_s']:>8,.0f} {figures['p50']:>8.2f} "
                          f"{figures['p99']:>8.2f} {per_request:>10.2f}  {split}{errors}", flush=True)
        finally:
            await stack.stop()


if __name__ == "__main__":
    asyncio.run(main())
