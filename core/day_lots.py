"""Which end-of-day states keep their lots: where a replay from a later date may start.

A replay (a back-dated, amended or cancelled trade) starts from the latest
end-of-day state before its date that keeps its lots, and books the trades
after it. Keeping the lots in every day's state stored a position's open lots
once more with every in-order trade: at a few hundred open lots that was most
of the changelog (13 of 14 kB per transaction at 1,000 trades per position,
bench/throughput.py --depth), and the bytes grew with the position's age. So
a day keeps them when they are few, or when it is the position's first
changed day of its calendar month: their bytes are paid about once a month,
and a replay starts at most a month of trades before its date.

The rule reads only the effective order (the day, the changed day before it,
the lots at its end), never the order of arrival, so every order of the same
events stores the same records.
"""
from __future__ import annotations

from collections.abc import Sized

FEW_LOTS = 4  # a state this small costs no more than the rule's bookkeeping: always kept


def keeps_lots(day: str, previous_day: str | None, lots: Sized) -> bool:
    """Whether the end state of `day` (ISO date) keeps its lots; `previous_day`: the position's changed day before it."""
    return previous_day is None or previous_day[:7] != day[:7] or len(lots) <= FEW_LOTS
