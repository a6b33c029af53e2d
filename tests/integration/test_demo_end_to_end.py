"""`folio up --demo` loads a book whose figures are those of an independent model, on every endpoint.

Positions, lots, realized P&L and cash (live, and as of the last demo day from
PostgreSQL) are compared with tests/support/ledger_model.py replaying
folio/demo.py's events; the valuation total with the model's holdings valued at
the demo's last closes and FX rates; a few figures are checked by hand.
"""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import httpx

from folio.demo import demo_events
from folio.up import _load_demo
from tests.integration.api_reads import cash, positions, transactions
from tests.support.ledger_model import Figures, figure_differences, model_figures, replay_events

PORTFOLIOS = ("DEMO-GROWTH", "DEMO-INCOME")
LAST_DAY = "2026-11-20"  # the demo's last weekday (folio/demo.py: START + DAYS)


async def api_figures(client: httpx.AsyncClient, as_of: str | None = None) -> Figures:
    figures = Figures(lots={}, realized={}, cash={})
    for pid in PORTFOLIOS:
        for sid, p in (await positions(client, pid, as_of)).items():
            if p["lots"]:
                figures.lots[(pid, sid)] = [(lot["transaction_id"], lot["open_date"], lot["quantity"],
                                             lot["cost_local"], lot["cost_base"]) for lot in p["lots"]]
            if Decimal(p["realized_local"]) or Decimal(p["realized_base"]):
                figures.realized[(pid, sid)] = (p["realized_local"], p["realized_base"])
        figures.cash.update({(pid, ccy): amount for ccy, amount in (await cash(client, pid, as_of)).items()})
    return figures


def model_total_base(figures: Figures, fx, pid: str, base: str, last_close: dict[str, Fraction],
                     currency_of: dict[str, str]) -> Fraction:
    """Securities at the last close plus cash, in base currency at the last day's rates."""
    total = Fraction(0)
    for (p, sid), lots in figures.lots.items():
        if p == pid:
            quantity = sum(Fraction(q) for _, _, q, _, _ in lots)
            total += quantity * last_close[sid] * fx(currency_of[sid], base, LAST_DAY)
    for (p, ccy), amount in figures.cash.items():
        if p == pid:
            total += amount * fx(ccy, base, LAST_DAY)
    return total


async def test_the_demo_book_has_the_models_figures_on_every_endpoint(start_stack):
    events = demo_events()
    model, fx = replay_events(events)
    expected = model_figures(model)
    assert expected.lots and expected.realized and expected.cash  # the model has something to compare

    stack = await start_stack()
    await _load_demo(stack)
    async with stack.client(timeout=30) as client:
        live = await api_figures(client)
        differences = figure_differences(expected, live)
        assert not differences, "live:\n" + "\n".join(differences[:20])
        stored = await api_figures(client, as_of=LAST_DAY)
        differences = figure_differences(expected, stored)
        assert not differences, f"as of {LAST_DAY}:\n" + "\n".join(differences[:20])

        # By hand: the book opens with a deposit of 1,000,000 in base currency and closes
        # with a 250 fee; every transaction of the file is there, once.
        for pid, base in (("DEMO-GROWTH", "USD"), ("DEMO-INCOME", "EUR")):
            booked = await transactions(client, pid)
            assert len(booked) == sum(1 for e in events if e["topic"] == "transactions" and e["key"] == pid)
            assert {c: Decimal(a) for c, a in booked[f"{pid}-0001"]["cash"].items()} == {base: Decimal(1000000)}
            last = max(booked)
            assert {c: Decimal(a) for c, a in booked[last]["cash"].items()} == {base: Decimal(-250)}

        last_close = {e["value"]["security_id"]: Fraction(e["value"]["price"]) for e in events
                      if e["topic"] == "prices" and e["value"]["price_date"] == LAST_DAY}
        currency_of = {e["value"]["security_id"]: e["value"]["currency"] for e in events
                       if e["topic"] == "instruments"}

        async def get(path: str, **params) -> dict:
            response = await client.get(path, params=params)
            assert response.status_code == 200, (path, response.text)
            return response.json()

        for pid, base in (("DEMO-GROWTH", "USD"), ("DEMO-INCOME", "EUR")):
            valuation = await get(f"/portfolios/{pid}/valuation")
            assert valuation["complete"]
            want = model_total_base(expected, fx, pid, base, last_close, currency_of)
            assert abs(Fraction(valuation["total_base"]) - want) < Fraction(1, 10**6), (pid, valuation, float(want))
            positions_now = (await get(f"/portfolios/{pid}/positions"))["positions"]
            assert all(p["valuation_status"] == "ok" for p in positions_now)
            assert float(valuation["income_base"]) > 0  # the demo pays dividends
            series = await get(f"/portfolios/{pid}/timeseries", limit=1000)
            assert series["total"] > 300  # more than a year of weekdays
            assert all(item["mv"] is not None for item in series["items"])
            assert series["items"][-1]["date"] == LAST_DAY
            assert abs(Fraction(series["items"][-1]["mv"]) - want) < Fraction(1, 10**6)  # MV on the last day
            for period in ("MTD", "YTD", "1Y", "SI"):
                perf = await get(f"/portfolios/{pid}/performance", period=period)
                assert perf["twr"] is not None and perf["mwr_annualized"] is not None, (pid, period, perf)
            si = await get(f"/portfolios/{pid}/performance", period="SI")
            assert si["twr_annualized"] is not None  # SI spans more than 366 days
            risk = await get(f"/portfolios/{pid}/risk", period="1Y")
            assert all(risk[f] is not None for f in ("volatility", "sharpe", "sortino", "max_drawdown", "beta",
                                                       "alpha", "tracking_error", "information_ratio", "var",
                                                       "cvar")), risk
            for by in ("asset_class", "sector", "currency", "country", "security"):
                allocation = await get(f"/portfolios/{pid}/allocation", by=by)
                assert allocation["complete"]
                assert abs(sum(b["weight"] for b in allocation["buckets"]) - 1) < 1e-9
