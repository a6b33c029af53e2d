"""A corrected price, a back-dated transaction and a new market date rewrite
exactly the daily-series dates they affect, for exactly the portfolios they affect.

PostgreSQL's `xmin` of a row changes whenever the row is rewritten, so comparing
it before and after shows which dates were recomputed, not only which values moved.
"""
from __future__ import annotations

import json

import asyncpg
import httpx
import numpy as np
import pytest

from folio.produce import Event, produce_events


def _event(topic: str, key: str, **value) -> Event:
    return Event(topic, key.encode(), json.dumps(value).encode())


def portfolio(pid: str) -> Event:
    return _event("portfolios", pid, portfolio_id=pid, name=pid, base_currency="USD", cost_method="FIFO",
                  open_date="2024-01-01")


def price(security_id: str, day: str, value: str) -> Event:
    return _event("prices", security_id, security_id=security_id, price_date=day, price=value)


def tx(pid: str, tid: str, kind: str, day: str, **fields) -> Event:
    return _event("transactions", pid, transaction_id=tid, portfolio_id=pid, type=kind, trade_date=day,
                  currency="USD", **fields)


async def _rows(dsn: str) -> dict[tuple[str, str], tuple[str, int]]:
    conn = await asyncpg.connect(dsn)
    try:
        found = await conn.fetch("SELECT portfolio_id, date, mv, xmin::text::bigint AS version FROM daily_series")
    finally:
        await conn.close()
    return {(r["portfolio_id"], r["date"].isoformat()): (str(r["mv"]), r["version"]) for r in found}


def _rewritten(before: dict, after: dict) -> set[tuple[str, str]]:
    return {key for key in after if key not in before or before[key][1] != after[key][1]}


async def _analytics(client: httpx.AsyncClient, pid: str) -> tuple[list[float], dict, dict]:
    series = (await client.get(f"/portfolios/{pid}/timeseries")).raise_for_status().json()["items"]
    perf = (await client.get(f"/portfolios/{pid}/performance", params={"period": "SI"})).raise_for_status().json()
    risk = (await client.get(f"/portfolios/{pid}/risk", params={"period": "SI"})).raise_for_status().json()
    return [item["r"] for item in series], perf, risk


@pytest.fixture
async def two_books(start_stack):
    """PA: deposit 1000 and buy 10 X @100 on Mon 2024-01-01; X closes 100, 110, 120, –, 130 (Mon–Fri).
    PB: deposit 500 and buy 5 Y @100; Y closes 100 on Monday and Friday."""
    stack = await start_stack()
    await produce_events(stack.bootstrap, [
        portfolio("PA"), portfolio("PB"),
        price("X", "2024-01-01", "100"), price("X", "2024-01-02", "110"), price("X", "2024-01-03", "120"),
        price("X", "2024-01-05", "130"), price("Y", "2024-01-01", "100"), price("Y", "2024-01-05", "100"),
    ])
    await stack.wait_idle()
    await produce_events(stack.bootstrap, [
        tx("PA", "A1", "DEPOSIT", "2024-01-01", amount="1000"),
        tx("PA", "A2", "BUY", "2024-01-01", security_id="X", quantity="10", price="100"),
        tx("PB", "B1", "DEPOSIT", "2024-01-01", amount="500"),
        tx("PB", "B2", "BUY", "2024-01-01", security_id="Y", quantity="5", price="100"),
    ])
    await stack.wait_idle()
    return stack


async def test_a_corrected_past_price_rewrites_only_the_dates_that_used_it(two_books):
    stack = two_books
    async with stack.client(timeout=30) as client:
        before = await _rows(stack.dsn)
        r_before, perf_before, risk_before = await _analytics(client, "PA")

        await produce_events(stack.bootstrap, [price("X", "2024-01-03", "90")])  # corrects 120
        await stack.wait_idle()
        after = await _rows(stack.dsn)
        r_after, perf_after, risk_after = await _analytics(client, "PA")

    # MV by hand: 10 X + 0 cash. Before 1000, 1100, 1200, 1200 (Thu: Wed's price), 1300.
    assert [before[("PA", f"2024-01-0{d}")][0] for d in range(1, 6)] == ["1000", "1100", "1200", "1200", "1300"]
    # The 90 stands for Wednesday and Thursday (Friday has its own price): 900, 900.
    assert [after[("PA", f"2024-01-0{d}")][0] for d in range(1, 6)] == ["1000", "1100", "900", "900", "1300"]
    assert _rewritten(before, after) == {("PA", "2024-01-03"), ("PA", "2024-01-04")}

    # r_t = (MV_t + Out_t)/(MV_t−1 + In_t) − 1: Monday 1000/(0 + 1000) − 1 = 0.
    expected_before = [0.0, 0.1, 1200 / 1100 - 1, 0.0, 1300 / 1200 - 1]
    expected_after = [0.0, 0.1, 900 / 1100 - 1, 0.0, 1300 / 900 - 1]
    assert r_before == pytest.approx(expected_before, rel=1e-12, abs=1e-15)
    assert r_after == pytest.approx(expected_after, rel=1e-12, abs=1e-15)
    # TWR telescopes to 1300/1000 − 1 either way; the path (and so the risk) changed.
    assert perf_before["twr"] == pytest.approx(0.3, rel=1e-12)
    assert perf_after["twr"] == pytest.approx(0.3, rel=1e-12)
    assert risk_before["volatility"] == pytest.approx(np.std(expected_before, ddof=1) * np.sqrt(252), rel=1e-9)
    assert risk_after["volatility"] == pytest.approx(np.std(expected_after, ddof=1) * np.sqrt(252), rel=1e-9)
    # Wealth peaks at 1.1 (Tuesday) and falls to 0.9 (Wednesday): 0.9/1.1 − 1.
    assert risk_after["max_drawdown"] == pytest.approx(0.9 / 1.1 - 1, rel=1e-9)


async def test_a_back_dated_deposit_rewrites_its_portfolio_from_its_date_on(two_books):
    stack = two_books
    before = await _rows(stack.dsn)

    await produce_events(stack.bootstrap, [tx("PA", "A3", "DEPOSIT", "2024-01-04", amount="100")])
    await stack.wait_idle()
    after = await _rows(stack.dsn)

    assert _rewritten(before, after) == {("PA", "2024-01-04"), ("PA", "2024-01-05")}
    # 10 X at 120 (Wed's price) + 100 cash = 1300 on Thursday; 1300 + 100 = 1400 on Friday.
    assert (after[("PA", "2024-01-04")][0], after[("PA", "2024-01-05")][0]) == ("1300", "1400")
    async with stack.client(timeout=30) as client:
        items = (await client.get("/portfolios/PA/timeseries", params={"from": "2024-01-04"})).json()["items"]
    # Thursday: (1300 + 0)/(1200 + 100) − 1 = 0; Friday: 1400/1300 − 1.
    assert [(i["date"], i["inflow"], i["r"]) for i in items] == [
        ("2024-01-04", "100", 0.0), ("2024-01-05", "0", pytest.approx(1400 / 1300 - 1, rel=1e-12))]


async def test_a_new_market_date_appends_a_date_to_every_portfolio_and_rewrites_nothing_else(two_books):
    stack = two_books
    before = await _rows(stack.dsn)

    await produce_events(stack.bootstrap, [price("X", "2024-01-08", "140")])
    await stack.wait_idle()
    after = await _rows(stack.dsn)

    assert _rewritten(before, after) == {("PA", "2024-01-08"), ("PB", "2024-01-08")}
    # PA: 10 × 140; PB: 5 × 100 (Friday's Y price) + 0 cash.
    assert (after[("PA", "2024-01-08")][0], after[("PB", "2024-01-08")][0]) == ("1400", "500")


async def test_series_rebuild_restores_a_lost_series_with_the_same_values(two_books):
    from folio.series import rebuild

    stack = two_books
    before = await _rows(stack.dsn)
    conn = await asyncpg.connect(stack.dsn)
    try:
        await conn.execute("DELETE FROM daily_series WHERE portfolio_id = 'PA'")
    finally:
        await conn.close()

    assert await rebuild(stack.bootstrap, ["PA"]) == 1
    await stack.wait_idle()
    after = await _rows(stack.dsn)

    assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()}
    assert _rewritten(before, after) == {("PA", f"2024-01-0{d}") for d in range(1, 6)}
