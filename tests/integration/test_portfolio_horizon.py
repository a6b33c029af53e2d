"""One portfolio's data never changes another portfolio's figures or periods.

Prices and FX rates move the shared market horizon; a portfolio's own
transactions extend only its own valuation dates, and cancelling a
forward-dated one takes those dates away again.
"""
from __future__ import annotations

import json

import httpx

from folio.produce import Event, produce_events
from tests.integration.test_series_recompute import _rows, price, tx, two_books  # noqa: F401 (fixture)

PERIODS = ["SI", "YTD", "MTD", "1M", "1Y"]


def cancellation(pid: str, tid: str, version: int) -> Event:
    value = {"transaction_id": tid, "portfolio_id": pid, "version": version, "status": "CANCELLED"}
    return Event("transactions", pid.encode(), json.dumps(value).encode())


async def figures(client: httpx.AsyncClient, pid: str) -> dict:
    found = {"series": (await client.get(f"/portfolios/{pid}/timeseries")).raise_for_status().json()["items"]}
    for period in PERIODS:
        found[f"performance {period}"] = (await client.get(
            f"/portfolios/{pid}/performance", params={"period": period})).raise_for_status().json()
        found[f"risk {period}"] = (await client.get(
            f"/portfolios/{pid}/risk", params={"period": period})).raise_for_status().json()
    return found


def dates_of(rows: dict, pid: str) -> list[str]:
    return sorted(day for p, day in rows if p == pid)


WEEK = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]


async def test_a_forward_dated_trade_of_one_portfolio_leaves_another_untouched_and_its_cancellation_repairs_it(
        two_books):
    stack = two_books
    async with stack.client(timeout=30) as client:
        rows_before = await _rows(stack.dsn)
        a_before, b_before = await figures(client, "PA"), await figures(client, "PB")
        assert dates_of(rows_before, "PB") == WEEK  # the market horizon: Y's and X's last price, Friday
        assert b_before["performance YTD"]["to"] == "2024-01-05"

        # PA deposits on 2024-03-01, eight weeks past the last market date.
        await produce_events(stack.bootstrap, [tx("PA", "A9", "DEPOSIT", "2024-03-01", amount="100")])
        await stack.wait_idle()
        rows_forward = await _rows(stack.dsn)
        a_forward, b_forward = await figures(client, "PA"), await figures(client, "PB")

        # PB: not a row rewritten (same xmin), not a figure or period moved.
        assert {k: v for k, v in rows_forward.items() if k[0] == "PB"} == {
            k: v for k, v in rows_before.items() if k[0] == "PB"}
        assert b_forward == b_before
        # PA: its own dates now run to its deposit: weekdays 01-08 .. 03-01 added, 1300 + 100 on 03-01
        # (10 X at Friday's 130, no cash: the BUY spent the 1000 deposited).
        assert dates_of(rows_forward, "PA")[-1] == "2024-03-01"
        assert len(dates_of(rows_forward, "PA")) == 5 + 40
        assert rows_forward[("PA", "2024-03-01")][0] == "1400"
        assert a_forward["performance YTD"]["to"] == "2024-03-01"
        assert a_forward["performance MTD"]["from"] == "2024-03-01"

        # Amended back to 2024-01-10: PA's dates end there (01-08 .. 01-10 past the market's Friday).
        await produce_events(stack.bootstrap, [tx("PA", "A9", "DEPOSIT", "2024-01-10", amount="100", version=2)])
        await stack.wait_idle()
        rows_amended = await _rows(stack.dsn)
        a_amended = await figures(client, "PA")
        assert dates_of(rows_amended, "PA") == [*WEEK, "2024-01-08", "2024-01-09", "2024-01-10"]
        assert rows_amended[("PA", "2024-01-10")][0] == "1400"
        assert a_amended["performance YTD"]["to"] == "2024-01-10"
        assert await figures(client, "PB") == b_before

        # Cancelling it takes PA's dates past the market horizon away again.
        await produce_events(stack.bootstrap, [cancellation("PA", "A9", 3)])
        await stack.wait_idle()
        rows_cancelled = await _rows(stack.dsn)
        a_cancelled, b_cancelled = await figures(client, "PA"), await figures(client, "PB")

    assert dates_of(rows_cancelled, "PA") == WEEK
    assert {k: v[0] for k, v in rows_cancelled.items()} == {k: v[0] for k, v in rows_before.items()}
    assert a_cancelled == a_before
    assert b_cancelled == b_before


async def test_a_new_market_date_still_extends_every_portfolio(two_books):
    stack = two_books
    await produce_events(stack.bootstrap, [price("Y", "2024-01-08", "101")])
    await stack.wait_idle()
    rows = await _rows(stack.dsn)

    assert dates_of(rows, "PA")[-1] == dates_of(rows, "PB")[-1] == "2024-01-08"
    # PA: 10 X at Friday's 130; PB: 5 Y at 101.
    assert (rows[("PA", "2024-01-08")][0], rows[("PB", "2024-01-08")][0]) == ("1300", "505")
