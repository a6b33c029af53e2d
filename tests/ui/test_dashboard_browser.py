"""The dashboard as a person uses it, in a real headless Chromium against a whole stack
(real broker, PostgreSQL, worker, sink, API) holding the demo book.

It signs in with the link `folio up` prints, checks that the address no longer
holds the key, reads the portfolio list and a portfolio's page and compares
every figure with the API's JSON (the exact decimal text, and the text shown,
rounded here with Python's Decimal), publishes a BUY through the API and waits
for the table and the allocation chart to change without a reload (by the
position stream when the API has one, else by polling: the test checks which),
then buys a security that has no price and sees "no price", never 0.

Screenshots go under the pytest basetemp; FOLIO_UPDATE_SCREENSHOTS=1 also
writes them to docs/screenshots/ (the README's pictures).
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import httpx

from folio.up import _load_demo
from tests.ui.chromium import Chromium

PORTFOLIO = "DEMO-GROWTH"
LAST_DAY = "2026-11-20"  # the demo's last weekday (folio/demo.py)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

READ_TABLE = """[...document.querySelectorAll('#positions-table tbody tr')].map(tr => [tr.dataset.security,
  Object.fromEntries([...tr.querySelectorAll('td')].map(td => [td.dataset.field,
    {value: td.querySelector('[data-value]') ? td.querySelector('[data-value]').dataset.value : null,
     text: td.textContent}]))])"""
READ_TOTALS = """Object.fromEntries([...document.querySelectorAll('#totals-body dd')].map(dd => [dd.dataset.field,
  {value: dd.querySelector('[data-value]').dataset.value, text: dd.textContent}]))"""
READ_LIST = """[...document.querySelectorAll('#portfolio-list tbody tr')].map(tr => [tr.dataset.portfolio,
  Object.fromEntries([...tr.querySelectorAll('td[data-field]')].map(td => [td.dataset.field, td.textContent]))])"""
READ_REALIZED = """document.getElementById('realized-table') &&
  [...document.querySelectorAll('#realized-table tbody tr')].map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent))"""
SIGN_IN_FORM = "!!document.querySelector('main form[action=\"/ui/session\"]')"
ROW_ORDER = "[...document.querySelectorAll('#positions-table tbody tr')].map(tr => tr.dataset.security)"
ALLOCATION_CHART = "document.getElementById('allocation-chart') ? document.getElementById('allocation-chart').outerHTML : ''"


def shown(text: str | None, places: int | None = None, missing: str = "unknown") -> str:
    """What the page should show for an API decimal: grouped, rounded half-even to `places`."""
    if text is None:
        return missing
    value = Decimal(text)
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return f"{value:,}"


def expected_row(p: dict) -> dict[str, tuple[str | None, str]]:
    """(data-value, text) per cell of a position's row, from the API's item."""
    missing = {"ok": "ok", "missing_price": "no price", "missing_fx": "no FX"}[p["valuation_status"]]
    return {
        "security_id": (None, p["security_id"]),
        "quantity": (p["quantity"], shown(p["quantity"])),
        "avg_cost_local": (p["avg_cost_local"] or "", shown(p["avg_cost_local"], 4, "—")),
        "currency": (None, p["currency"] or "—"),
        "price": (p["price"] or "", shown(p["price"], None, missing)),
        "mv_base": (p["mv_base"] or "", shown(p["mv_base"], 2, missing)),
        "unrealized_base": (p["unrealized_base"] or "", shown(p["unrealized_base"], 2, missing)),
        "weight": (None if p["weight"] is None else repr(p["weight"]),
                   missing if p["weight"] is None else f"{p['weight'] * 100:.2f}%"),
        "valuation_status": (None, missing),
    }


def page_rows(table: list) -> dict[str, dict[str, tuple[str | None, str]]]:
    return {security: {field: (cell["value"], cell["text"]) for field, cell in cells.items()}
            for security, cells in table}


async def get(client: httpx.AsyncClient, path: str, **params) -> dict:
    answer = await client.get(path, params=params)
    assert answer.status_code == 200, (path, answer.text)
    return answer.json()


async def settled(read, done, timeout: float = 60.0):
    """`read()`'s value once `done(value)` holds (the page re-reads the API every few seconds),
    or its last value after `timeout`, for the assertion to show."""
    deadline = time.monotonic() + timeout
    while True:
        found = await read()
        if done(found) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def assert_page_shows_the_apis_figures(browser: Chromium, client: httpx.AsyncClient) -> dict:
    positions = (await get(client, f"/portfolios/{PORTFOLIO}/positions"))["positions"]
    want = {p["security_id"]: expected_row(p) for p in positions}
    table = await settled(lambda: browser.evaluate(READ_TABLE), lambda t: page_rows(t) == want)
    assert page_rows(table) == want
    valuation = await get(client, f"/portfolios/{PORTFOLIO}/valuation")
    totals = await settled(lambda: browser.evaluate(READ_TOTALS),
                           lambda t: t.get("total_base", {}).get("value") == (valuation["total_base"] or ""))
    for field in ("total_base", "mv_base", "cash_base", "cost_base", "unrealized_base", "realized_base",
                  "income_base"):
        assert totals[field]["value"] == (valuation[field] or ""), field
        assert totals[field]["text"] == shown(valuation[field], 2, "incomplete: a price or FX rate is missing"), field
    return {p["security_id"]: p for p in positions}


async def wait_for_quantity(browser: Chromium, security: str, quantity: str) -> None:
    await browser.wait_for(
        f"(document.querySelector('#positions-table tr[data-security=\"{security}\"] td[data-field=quantity] "
        f"[data-value]') || {{}}).dataset?.value === {json.dumps(quantity)}",
        timeout=90, what=f"the table shows {security} quantity {quantity}")


async def test_a_person_signs_in_reads_a_portfolio_and_sees_a_new_trade_arrive_without_reloading(
        start_stack, browser: Chromium, tmp_path_factory):
    stack = await start_stack()
    await _load_demo(stack)
    shots = tmp_path_factory.getbasetemp() / "screenshots"

    # Without a session the page asks for a key; the form signs in, "Sign out" signs out.
    await browser.navigate(f"{stack.api_url}/ui/")
    await browser.wait_for(SIGN_IN_FORM, what="the sign-in form")
    await browser.evaluate(f"document.querySelector('input[name=key]').value = {json.dumps(stack.admin_key)}; "
                           "document.querySelector('form[action=\"/ui/session\"]').requestSubmit()")
    await browser.wait_for("document.body && document.body.dataset.ready === '#/'", what="signed in by the form")
    await browser.evaluate("document.querySelector('#sign-out button').click()")
    await browser.wait_for(SIGN_IN_FORM, what="signed out")

    # Sign in with the link folio up prints; the key leaves the address bar at once.
    await browser.navigate(f"{stack.api_url}/ui/?token={stack.admin_key}")
    await browser.wait_for("document.body && document.body.dataset.ready === '#/'", what="the list page loaded")
    assert await browser.evaluate("location.href") == f"{stack.api_url}/ui/"
    assert stack.admin_key not in await browser.evaluate("location.href + document.cookie + history.length")
    page_id = await browser.evaluate("window.folioPageId")

    async with stack.client() as client:
        # The list: each portfolio's total value and day change, as the API's figures say.
        listed = dict(await browser.evaluate(READ_LIST))
        assert set(listed) == {"DEMO-GROWTH", "DEMO-INCOME"}
        for pid, cells in listed.items():
            valuation = await get(client, f"/portfolios/{pid}/valuation")
            series = (await get(client, f"/portfolios/{pid}/timeseries", limit=1000))["items"]
            before, day = series[-2], series[-1]
            gain = Decimal(day["mv"]) + Decimal(day["outflow"]) - Decimal(before["mv"]) - Decimal(day["inflow"])
            assert cells["total_base"] == shown(valuation["total_base"], 2)
            assert cells["day_gain"] == shown(str(gain), 2)
            assert cells["day_return"] == f"{day['r'] * 100:.2f}%"
        await browser.screenshot(shots / "dashboard-list.png")

        # A portfolio's page, opened from the list: positions and totals equal the API's answers.
        await browser.evaluate(f"document.querySelector('a[href=\"#/portfolio/{PORTFOLIO}\"]').click()")
        await browser.wait_for(f"document.body.dataset.ready === '#/portfolio/{PORTFOLIO}'",
                               what="the portfolio page loaded")
        held = await assert_page_shows_the_apis_figures(browser, client)
        assert await browser.evaluate("!!document.querySelector('#performance-chart path.line.portfolio')")
        # Realized gains: the latest closed lots, as the API lists them (newest first), gains to the cent.
        report = await get(client, f"/portfolios/{PORTFOLIO}/realized-gains", limit=1000)
        rows = await browser.wait_for(READ_REALIZED, what="the realized gains table")
        latest = report["items"][::-1][:len(rows)]
        assert rows and [r[:3] for r in rows] == [[i["close_date"], i["security_id"], i["transaction_id"]]
                                                 for i in latest]
        assert [r[-1] for r in rows] == [shown(i["gain_base"], 2) for i in latest]
        await browser.screenshot(shots / "dashboard-portfolio.png")

        # Sortable: a header click orders by that column's exact decimals, a second click reverses.
        by_value = sorted(held, key=lambda s: Decimal(held[s]["mv_base"]))
        for want in (by_value, by_value[::-1]):
            await browser.evaluate("document.querySelector('#positions-table th[data-sort=mv_base]').click()")
            assert await browser.evaluate(ROW_ORDER) == want

        # A BUY published through the API reaches the open page: the table and the chart change.
        chart_before = await browser.evaluate(ALLOCATION_CHART)
        aapl = held["AAPL"]
        answer = await client.post("/ingest/transactions", json=[{
            "transaction_id": "UI-BUY-1", "portfolio_id": PORTFOLIO, "type": "BUY", "trade_date": LAST_DAY,
            "security_id": "AAPL", "quantity": "9", "price": aapl["price"], "fees": "1.50", "currency": "USD"}])
        assert answer.status_code == 202, answer.text
        bought = Decimal(aapl["quantity"]) + 9
        await wait_for_quantity(browser, "AAPL", format(bought, "f"))
        await browser.wait_for(f"({ALLOCATION_CHART}) !== {json.dumps(chart_before)} && ({ALLOCATION_CHART}) !== ''",
                               timeout=60, what="the allocation chart changed")
        await stack.wait_idle()
        await browser.wait_for("document.querySelector('#transactions-table tr[data-transaction=\"UI-BUY-1\"]') "
                               "!== null", timeout=60, what="the BUY is among the recent transactions")
        assert (await assert_page_shows_the_apis_figures(browser, client))["AAPL"]["quantity"] == format(bought, "f")

        # A security without any price: shown as "no price", and the total as unknown, never 0.
        answer = await client.post("/ingest/instruments", json=[
            {"security_id": "UI-NEW", "name": "Not yet priced", "currency": "USD", "asset_class": "EQUITY"}])
        assert answer.status_code == 202, answer.text
        await stack.wait_idle()
        answer = await client.post("/ingest/transactions", json=[{
            "transaction_id": "UI-BUY-2", "portfolio_id": PORTFOLIO, "type": "BUY", "trade_date": LAST_DAY,
            "security_id": "UI-NEW", "quantity": "5", "price": "10", "currency": "USD"}])
        assert answer.status_code == 202, answer.text
        await wait_for_quantity(browser, "UI-NEW", "5")
        await stack.wait_idle()
        await browser.wait_for("document.querySelector('#totals-body dd[data-field=total_base]').textContent"
                               ".startsWith('incomplete')", timeout=60, what="the total says it is incomplete")
        held = await assert_page_shows_the_apis_figures(browser, client)
        assert held["UI-NEW"]["valuation_status"] == "missing_price" and held["UI-NEW"]["mv_base"] is None
        row = page_rows(await browser.evaluate(READ_TABLE))["UI-NEW"]
        assert (row["price"][1], row["mv_base"][1], row["valuation_status"][1]) == ("no price",) * 3

        # By the position stream when the API has one, else by re-reading the REST answers.
        async with client.stream("GET", f"/portfolios/{PORTFOLIO}/stream") as stream:
            has_stream = stream.status_code == 200
        assert await browser.evaluate("document.getElementById('live').textContent") == (
            "live: streaming" if has_stream else "live: polling every few seconds")

    # All of it on the page loaded at sign-in: nothing reloaded it.
    assert await browser.evaluate("window.folioPageId") == page_id
    assert not browser.console, browser.console
    if os.environ.get("FOLIO_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for shot in shots.iterdir():
            shutil.copy(shot, SCREENSHOTS / shot.name)
