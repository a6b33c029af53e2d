"""The scenarios' market figures from the pure domain: valuation, allocation and the daily series.

Each scenario is replayed in file order (ledger + market data); every
portfolio is then valued at the scenario's as_of and its series computed from
its first effective transaction, and compared with expected.json within the
scenarios' tolerances (PX-EDGE's nulls included).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from core.allocation import ALLOCATION_KEYS, allocate
from core.series import (
    Holding,
    cash_moves_of,
    compute_series,
    flow_of_record,
    valuation_dates,
)
from core.valuation import PortfolioValuation, PositionInput, income_of, value_portfolio
from tests.core.factories import days
from tests.support.replay import Replayed, replayed
from tests.support.scenario import Mismatches, load_expected, scenario_params



@dataclass
class Book:
    """One portfolio's inputs to valuation and the series, taken from a replay."""

    base_currency: str
    positions: list[PositionInput]
    cash: dict[str, Decimal]
    holdings: list[Holding]
    records: list  # effective TxRecords

    @property
    def first_transaction_date(self) -> str:
        return min(r.fields.trade_date for r in self.records)


def book_of(run: Replayed, pid: str) -> Book:
    store, market = run.store, run.market
    states = [s for (p, _), s in store.positions.items() if p == pid]
    return Book(
        base_currency=store.get_portfolio(pid).base_currency,
        positions=[PositionInput.from_state(s, market.instrument_currency(s.security_id, s.currency))
                   for s in states if s.listed],
        cash={c.currency: c.balance for (p, _), c in store.cash.items() if p == pid and c.movers > 0},
        holdings=[Holding.from_days(s, days(store, s), market.instrument_currency(s.security_id, s.currency))
                  for s in states],
        records=[r for (p, _), r in store.txs.items() if p == pid and r.effective],
    )


def value_book(run: Replayed, book: Book, on: str | None) -> PortfolioValuation:
    return value_portfolio(book.positions, book.cash, book.base_currency, run.market, on,
                           income_base=income_of(book.records))


def series_of(run: Replayed, book: Book, as_of: str):
    days = valuation_dates(book.first_transaction_date, as_of, (r.fields.trade_date for r in book.records))
    moves = [m for r in book.records for m in cash_moves_of(r.fields.trade_date, r.cash)]
    flows = [f for r in book.records
             if (f := flow_of_record(r, run.market.instrument_currency(r.fields.security_id or "", r.fields.currency)))]
    return compute_series(book.base_currency, days, book.holdings, moves, flows, run.market)


CASES = scenario_params(per_portfolio=True)


@pytest.mark.parametrize("name,pid", CASES)
def test_positions_cash_and_totals_match_expected_at_as_of(name, pid):
    expected = load_expected(name)
    exp = expected["portfolios"][pid]
    run = replayed(name)
    book = book_of(run, pid)
    assert book.first_transaction_date == exp["first_transaction_date"]
    valued = value_book(run, book, expected["as_of"])
    m = Mismatches()

    got = {v.security_id: v for v in valued.positions}
    assert set(got) == set(exp["positions"])
    for sid, pos in exp["positions"].items():
        value = got[sid]
        for f in ("price", "fx", "mv_local", "mv_base", "unrealized_local", "unrealized_base"):
            m.dec(f"{pid}/{sid}.{f}", pos[f], getattr(value, f))
        for f in ("price_date", "valuation_status"):
            if pos[f] != getattr(value, f):
                m.append(f"{pid}/{sid}.{f}: expected {pos[f]!r}, got {getattr(value, f)!r}")

    cash = {c.currency: c for c in valued.cash}
    assert set(cash) == set(exp["cash_valuation"])
    for ccy, cv in exp["cash_valuation"].items():
        for f in ("balance", "fx", "mv_base"):
            m.dec(f"{pid} cash {ccy}.{f}", cv[f], getattr(cash[ccy], f))
        if cv["valuation_status"] != cash[ccy].valuation_status:
            m.append(f"{pid} cash {ccy}.valuation_status: {cv['valuation_status']} vs {cash[ccy].valuation_status}")

    totals = exp["valuation"]
    for f in ("securities_mv_base", "cash_mv_base", "total_mv_base", "known_securities_mv_base",
              "known_cash_mv_base"):
        m.dec(f"{pid} valuation.{f}", totals[f], getattr(valued, f))
    if totals["complete"] != valued.complete:
        m.append(f"{pid} valuation.complete: expected {totals['complete']}, got {valued.complete}")
    assert not m, "\n".join(m[:40]) + f"\n({len(m)} mismatches)"


@pytest.mark.parametrize("name,pid", CASES)
def test_allocation_by_every_key_matches_expected_at_as_of(name, pid):
    expected = load_expected(name)
    exp = expected["portfolios"][pid]["allocation"]
    run = replayed(name)
    valued = value_book(run, book_of(run, pid), expected["as_of"])
    m = Mismatches()
    for by in ALLOCATION_KEYS:
        allocation = allocate(valued.positions, valued.cash, run.market.instrument, by)
        got = allocation.weights()
        if set(got) != set(exp[by]):
            m.append(f"{pid} allocation by {by}: expected {sorted(exp[by])}, got {sorted(got)}")
            continue
        for bucket, weight in exp[by].items():
            m.num(f"{pid} allocation {by}/{bucket}", weight, got[bucket])
        if allocation.complete != exp["complete"]:
            m.append(f"{pid} allocation by {by}: complete {allocation.complete}, expected {exp['complete']}")
    assert not m, "\n".join(m[:40]) + f"\n({len(m)} mismatches)"


@pytest.mark.parametrize("name,pid", CASES)
def test_daily_series_matches_expected_from_first_transaction_to_as_of(name, pid):
    expected = load_expected(name)
    exp = expected["portfolios"][pid]["timeseries"]
    run = replayed(name)
    series = series_of(run, book_of(run, pid), expected["as_of"])
    assert [p.day for p in series] == [row["date"] for row in exp]
    m = Mismatches()
    for point, row in zip(series, exp):
        m.dec(f"{pid} {row['date']} mv", row["mv"], point.mv)
        m.dec(f"{pid} {row['date']} in", row["in"], point.inflow)
        m.dec(f"{pid} {row['date']} out", row["out"], point.outflow)
    assert not m, "\n".join(m[:40]) + f"\n({len(m)} mismatches)"


@pytest.mark.parametrize("name,pid", CASES)
def test_series_recomputed_over_a_sub_range_equals_the_full_series_there(name, pid):
    expected = load_expected(name)
    run = replayed(name)
    book = book_of(run, pid)
    full = series_of(run, book, expected["as_of"])
    days = [p.day for p in full]
    lo, hi = len(days) // 3, 2 * len(days) // 3
    sub_days = days[lo:hi]
    end = sub_days[-1]
    holdings = [Holding(h.security_id, h.currency, [(d, q) for d, q in h.history if d <= end]) for h in book.holdings]
    moves = [m for r in book.records if r.fields.trade_date <= end for m in cash_moves_of(r.fields.trade_date, r.cash)]
    flows = [f for r in book.records if r.fields.trade_date <= end
             if (f := flow_of_record(r, run.market.instrument_currency(r.fields.security_id or "", r.fields.currency)))]
    assert compute_series(book.base_currency, sub_days, holdings, moves, flows, run.market) == full[lo:hi]


@pytest.mark.parametrize("name", scenario_params())
def test_valuing_at_the_latest_equals_valuing_at_as_of_when_nothing_is_dated_later(name):
    expected = load_expected(name)
    run = replayed(name)
    for pid in expected["portfolios"]:
        book = book_of(run, pid)
        latest, at = value_book(run, book, None), value_book(run, book, expected["as_of"])
        assert latest.positions == at.positions
        assert latest.cash == at.cash
        assert latest.total_mv_base == at.total_mv_base
