"""What a back-dated trade costs in a deep position, by how many trades follow its date (issue 9).

    .venv/bin/python bench/backdate.py [--trades 1000] [--after 10 900] [--repeats 20]

In-process, no Kafka: the worker's own calls (`core.ledger.apply_transaction`
over a `TableLedgerStore`) on real RocksDB databases, one per table, opened
as Faust opens them (raw mode), with the worker's write path (one
WriteBatch per table per batch). One USD portfolio, one security, `--trades`
BUY and SELL trades (FIFO; a SELL every 4th trade, never short) booked in
date order, one every second calendar day from 2020-01-02, in batches of 500.
Then one BUY dated on a day between two trades such that exactly `--after`
trades follow it is applied as a batch of its own, and its CPU is timed
(`time.process_time`: the ledger's replay, encoding the changed records, the
RocksDB writes), on a freshly built position each repeat; median of the
repeats. Also: an in-order trade at the end, the same way, and the records
each writes. The replay starts from the latest earlier day that keeps its
lots (core.day_lots: the first changed day of a month here), so up to about
a month of trades before the date (here at most 15) is booked again too,
without being written. Prints figures, asserts nothing.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))

from rocksdict import Options, Rdict  # noqa: E402

from core.fx import FxBook  # noqa: E402
from core.ledger import apply_transaction, define_portfolio  # noqa: E402
from core.transaction import TxFields  # noqa: E402
from streams.table_store import TABLES, RocksKeyValue, TableLedgerStore  # noqa: E402

START = date(2020, 1, 2)
DEFINITION = {"portfolio_id": "P1", "name": "Deep", "base_currency": "USD", "cost_method": "FIFO",
              "open_date": "2020-01-01"}


def trade(i: int, kind: str, quantity: int, day: date, price: str = "100") -> TxFields:
    return TxFields(f"T{i:06d}", "P1", 1, "BOOKED", kind, day.isoformat(), None, "SEC", Decimal(quantity),
                    Decimal(price), None, Decimal(0), "USD", None)


class Partition:
    """One partition's tables on RocksDB, written batch by batch as the worker writes them."""

    def __init__(self, directory: Path) -> None:
        self.dbs = {name: Rdict(str(directory / name), options=Options(raw_mode=True)) for name in TABLES}
        self.kvs = {name: RocksKeyValue(db) for name, db in self.dbs.items()}
        self.fx = FxBook()
        self.arrival = 0

    def batch(self, items: list) -> dict[str, int]:
        """Apply `items` (definitions or TxFields) as one batch; records written per table."""
        store = TableLedgerStore(self.kvs)
        for item in items:
            if isinstance(item, dict):
                define_portfolio(store, item, self.arrival)
            else:
                apply_transaction(store, item, self.arrival, self.fx.rate)
            self.arrival += 1
        changes = store.changes()
        for name, records in changes.items():
            self.kvs[name].write(records)
        return {name: len(records) for name, records in changes.items()}

    def close(self) -> None:
        for db in self.dbs.values():
            db.close()


def build(directory: Path, trades: int) -> Partition:
    partition = Partition(directory)
    items: list = [DEFINITION]
    held = 0
    for i in range(trades):
        day = START + timedelta(days=2 * i)
        if i % 4 == 3 and held >= 15:
            items.append(trade(i, "SELL", 15, day, "110"))
            held -= 15
        else:
            items.append(trade(i, "BUY", 10, day, str(100 + i % 7)))
            held += 10
    for start in range(0, len(items), 500):
        partition.batch(items[start:start + 500])
    return partition


def timed(partition: Partition, tx: TxFields) -> tuple[float, dict[str, int]]:
    t0 = time.process_time()
    written = partition.batch([tx])
    return time.process_time() - t0, written


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trades", type=int, default=1000)
    parser.add_argument("--after", type=int, nargs="+", default=[10, 900])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    cases = [("in order, at the end", 0, START + timedelta(days=2 * args.trades))]
    # A day between trade n-k-1 and trade n-k (trades fall on every second day): k trades follow it.
    cases += [(f"back-dated, {k} trades after it", k, START + timedelta(days=2 * (args.trades - k) - 1))
              for k in args.after]
    print(f"one position of {args.trades} trades (one every second day from {START}, FIFO, a SELL every 4th); "
          f"median CPU of {args.repeats} repeats, each on a freshly built position")
    print(f"{'case':<32} {'trade date':>10} {'CPU ms':>8} {'µs per trade after':>19}  records written")
    for label, after, day in cases:
        samples, written = [], {}
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory(prefix="folio-backdate-") as tmp:
                partition = build(Path(tmp), args.trades)
                before_days = len(list(partition.kvs["days"].keys(b"", b"\xff")))
                seconds, written = timed(partition, trade(10**6, "BUY", 1, day, "99"))
                partition.close()
            samples.append(seconds)
        cpu = statistics.median(samples) * 1e3
        days_rewritten = written.get("days", 0)
        per_after = f"{cpu * 1e3 / after:,.1f}" if after else "-"
        print(f"{label:<32} {day.isoformat():>10} {cpu:8.2f} {per_after:>19}  "
              f"{sum(written.values())} ({', '.join(f'{k} {v}' for k, v in sorted(written.items()))}; "
              f"days on file before: {before_days})")


if __name__ == "__main__":
    main()
