"""Versions of what a live read answers, so that an unchanged answer costs a 304 instead of a rebuild.

A live read (streams.positions' `/live/portfolios/{id}/`) is a function of
the portfolio's table records and of the market this worker holds (prices, FX
rates, instruments) only. So:
- every write of a portfolio's records (a batch, or the completion of a
  crashed one) bumps that portfolio's counter, from the partition's
  transaction, right after its RocksDB write;
- every market update bumps the market counter;
- the epoch, random per process, changes whenever tables may change without
  a write of this worker's own: at a rebalance (tables recover from the
  changelog, partitions come and go), and at a start.
The ETag is the triple; equal ETags from one worker mean equal answers, and
two workers (or two runs) never share an epoch. Counters only grow within an
epoch. A portfolio's counter is kept as long as the process runs: one small
int per portfolio this worker has written.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterable


class LiveVersions:
    def __init__(self) -> None:
        self.epoch = secrets.token_hex(8)
        self.market = 0
        self._portfolios: dict[str, int] = {}

    def written(self, portfolio_ids: Iterable[str]) -> None:
        for portfolio_id in set(portfolio_ids):
            self._portfolios[portfolio_id] = self._portfolios.get(portfolio_id, 0) + 1

    def market_moved(self) -> None:
        self.market += 1

    def tables_reloaded(self) -> None:
        self.epoch = secrets.token_hex(8)

    def etag(self, portfolio_id: str) -> str:
        return f'"{self.epoch}.{self._portfolios.get(portfolio_id, 0)}.{self.market}"'
