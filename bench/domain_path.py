"""CPU per transaction of the worker's domain path, in-process, no Kafka (issue 9).

The same calls the positions worker makes per event (streams/apply.py:
`decode_event` → `TxFields.from_event` → `core.ledger.apply_transaction`,
portfolio definitions through `define_portfolio`) over a `TableLedgerStore`
on in-memory key-value tables, so state is decoded from and encoded to the
worker's real bytes. Like the worker, a batch's state is read once and
written back once per dirty key (`--batch`, 500 by default).

Each batch is run stage by stage so that the clock is read per batch, not
per event: decode every message, then `from_event`, then read (decode) the
state the batch touches through the store's own getters, then apply, then
encode the dirty records. Stage order changes nothing: the decode stages do
not depend on state, and the reads only fill the store's cache that
`apply_transaction` would fill itself.

Run: .venv/bin/python bench/domain_path.py [--portfolios 20] [--securities 50] [--depth 10]
Another tree's code (same script): PYTHONPATH=/tmp/old-tree .venv/bin/python bench/domain_path.py
(the script's own tree is appended to sys.path, so PYTHONPATH wins).
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))

from core.fx import FxBook  # noqa: E402
from core.ledger import Rejected, apply_transaction, define_portfolio  # noqa: E402
from core.transaction import TxFields  # noqa: E402
from schemas.decode import Rejection, decode_event  # noqa: E402
from streams.table_store import TABLES, DictKeyValue, TableLedgerStore  # noqa: E402

START = date(2020, 1, 1)


def generate(path: Path, portfolios: int, securities: int, depth: int) -> int:
    """A JSONL file of [topic, key, value] in date order: each portfolio's
    definition and a deposit, then `depth` rounds of one trade per position
    (keys interleaved as in a real stream: every position once per round);
    every 5th trade of a position a SELL of part of what it holds, every 10th
    round a DIVIDEND of each position and a DEPOSIT per portfolio."""
    lines = 0
    with path.open("w") as out:
        def emit(topic: str, key: str, value: dict) -> None:
            nonlocal lines
            out.write(json.dumps([topic, key, json.dumps(value, separators=(",", ":"))]) + "\n")
            lines += 1

        n = 0
        for p in range(portfolios):
            pid = f"P{p:04d}"
            emit("portfolios", pid, {"portfolio_id": pid, "name": f"Book {p}", "base_currency": "USD",
                                     "cost_method": "FIFO", "open_date": START.isoformat()})
            emit("transactions", pid, {"transaction_id": f"{pid}-D0", "portfolio_id": pid, "type": "DEPOSIT",
                                       "trade_date": START.isoformat(), "amount": "100000000", "currency": "USD"})
        for r in range(depth):
            day = (START + timedelta(days=1 + r)).isoformat()
            for p in range(portfolios):
                pid = f"P{p:04d}"
                for s in range(securities):
                    n += 1
                    sell = r % 5 == 4
                    emit("transactions", pid, {
                        "transaction_id": f"{pid}-T{n}", "portfolio_id": pid, "type": "SELL" if sell else "BUY",
                        "trade_date": day, "settlement_date": day, "security_id": f"SEC{s:03d}",
                        "quantity": "15" if sell else "10", "price": f"{50 + (r * 7 + s) % 23}.{(r + s) % 100:02d}",
                        "fees": "4.95", "currency": "USD"})
                    if r % 10 == 9:
                        n += 1
                        emit("transactions", pid, {
                            "transaction_id": f"{pid}-T{n}", "portfolio_id": pid, "type": "DIVIDEND",
                            "trade_date": day, "security_id": f"SEC{s:03d}", "amount": "12.34", "currency": "USD"})
                if r % 10 == 9:
                    n += 1
                    emit("transactions", pid, {"transaction_id": f"{pid}-T{n}", "portfolio_id": pid,
                                               "type": "DEPOSIT", "trade_date": day, "amount": "5000",
                                               "currency": "USD"})
    return lines


def load(path: Path) -> list[tuple[str, bytes, bytes]]:
    messages = []
    with path.open() as f:
        for line in f:
            topic, key, value = json.loads(line)
            messages.append((topic, key.encode(), value.encode()))
    return messages


STAGES = ("decode", "from_event", "state decode", "apply", "state encode", "write")


class Run:
    """The tables of one partition and the CPU seconds of each stage."""

    def __init__(self) -> None:
        self.kvs = {name: DictKeyValue() for name in TABLES}
        self.fx = FxBook()
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self.transactions = 0
        self.rejected = 0

    def batch(self, messages: list[tuple[str, bytes, bytes]], offset: int) -> None:
        clock = time.process_time
        seconds = self.seconds
        t0 = clock()
        decoded = [decode_event(topic, key, raw) for topic, key, raw in messages]
        t1 = clock()
        items = [e if topic == "portfolios" or isinstance(e, Rejection) else TxFields.from_event(e)
                 for (topic, _, _), e in zip(messages, decoded)]
        t2 = clock()
        store = TableLedgerStore(self.kvs)
        for item in items:
            if type(item) is TxFields:
                store.get_portfolio(item.portfolio_id)
                store.get_tx(item.portfolio_id, item.transaction_id)
                if item.security_id:
                    store.get_position(item.portfolio_id, item.security_id)
                if item.currency:
                    store.get_cash(item.portfolio_id, item.currency)
        t3 = clock()
        rate = self.fx.rate
        for i, ((topic, _, _), item) in enumerate(zip(messages, items)):
            if isinstance(item, Rejection):
                self.rejected += 1
            elif topic == "portfolios":
                define_portfolio(store, item.model_dump(mode="json"), offset + i)
            else:
                self.transactions += 1
                if isinstance(apply_transaction(store, item, offset + i, rate), Rejected):
                    self.rejected += 1
        t4 = clock()
        changes = store.changes()
        t5 = clock()
        for name, records in changes.items():
            self.kvs[name].write(records)
        t6 = clock()
        for stage, (a, b) in zip(STAGES, ((t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5), (t5, t6))):
            seconds[stage] += b - a


def run(messages: list[tuple[str, bytes, bytes]], batch: int) -> Run:
    state = Run()
    for start in range(0, len(messages), batch):
        state.batch(messages[start:start + batch], start)
    return state


def report(state: Run, label: str) -> None:
    n = state.transactions
    total = sum(state.seconds.values())
    parts = "  ".join(f"{stage} {state.seconds[stage] / n * 1e6:5.2f}" for stage in STAGES)
    print(f"{label:14s} µs CPU per transaction: {parts}  | total {total / n * 1e6:6.2f}"
          f"  ({n} transactions, {state.rejected} rejected)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portfolios", type=int, default=20)
    parser.add_argument("--securities", type=int, default=50)
    parser.add_argument("--depth", type=int, nargs="+", default=[10],
                        help="trades per position (several: one run each)")
    parser.add_argument("--batch", type=int, default=500, help="events per write-back (the worker's batch)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per depth; the fastest is shown")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the top N functions (cProfile)")
    args = parser.parse_args()

    import schemas
    print(f"code: {Path(schemas.__file__).resolve().parents[1]}")
    with tempfile.TemporaryDirectory() as tmp:
        for depth in args.depth:
            path = Path(tmp) / f"domain-{depth}.jsonl"
            generate(path, args.portfolios, args.securities, depth)
            messages = load(path)
            best = min((run(messages, args.batch) for _ in range(args.repeat)),
                       key=lambda s: sum(s.seconds.values()))
            report(best, f"depth {depth}")
            if args.profile:
                profiler = cProfile.Profile()
                profiler.runcall(run, messages, args.batch)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)


if __name__ == "__main__":
    main()
