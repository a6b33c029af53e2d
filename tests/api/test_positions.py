"""GET /portfolios/{id}/positions: live from the worker, or as of a date from PostgreSQL."""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from core.market import MarketData
from tests.api.live_state import cash, live_answer, lot, position

NULL_VALUATION = {"price": None, "price_date": None, "fx": None, "mv_local": None, "mv_base": None,
                  "unrealized_local": None, "unrealized_base": None, "weight": None, "valuation_status": "missing_price"}
# A closed position needs no market data: worth 0, status ok (SPEC §2; scenarios README).
CLOSED = {**NULL_VALUATION, "mv_local": "0", "mv_base": "0", "unrealized_local": "0", "unrealized_base": "0",
          "valuation_status": "ok"}


@pytest.fixture
async def history(rows):
    """P1 in USD: AAPL bought 10 @150.25 (Jan 2), 5 @160 (Jan 5), 10 sold @170 FIFO (Jan 10);
    MSFT (EUR) 4 @370 at 1.1 (Jan 3); IBM 2 for 300 sold for 320 (Jan 4); a dividend-only
    security (not listed); TSLA first bought Jan 20."""
    await rows.portfolio("P1")
    await rows.position("P1", "AAPL", quantity="5", cost_local="800.00", realized_local="197.50")
    await rows.history("P1", "AAPL", date(2024, 1, 2), quantity="10", cost_local="1502.50")
    await rows.history("P1", "AAPL", date(2024, 1, 5), quantity="15", cost_local="2302.50")
    await rows.history("P1", "AAPL", date(2024, 1, 10), quantity="5", cost_local="800.00", realized_local="197.50")
    await rows.position("P1", "MSFT", currency="EUR", quantity="4", cost_local="1480", cost_base="1628.00")
    await rows.history("P1", "MSFT", date(2024, 1, 3), quantity="4", cost_local="1480", cost_base="1628.00")
    await rows.position("P1", "IBM", quantity="0", cost_local="0", realized_local="20")
    await rows.history("P1", "IBM", date(2024, 1, 3), quantity="2", cost_local="300")
    await rows.history("P1", "IBM", date(2024, 1, 4), quantity="0", cost_local="0", realized_local="20")
    await rows.position("P1", "DIVONLY", listed=False)
    await rows.history("P1", "DIVONLY", date(2024, 1, 3), quantity="0", cost_local="0")
    await rows.position("P1", "TSLA", quantity="1", cost_local="250")
    await rows.history("P1", "TSLA", date(2024, 1, 20), quantity="1", cost_local="250")
    return rows


async def test_positions_as_of_a_date_are_each_listed_positions_latest_history_row(history, db_client):
    response = await db_client.get("/portfolios/P1/positions", params={"as_of": "2024-01-06"})

    assert response.status_code == 200
    body = response.json()
    assert (body["portfolio_id"], body["as_of"], body["source"], body["total"]) == ("P1", "2024-01-06", "db", 3)
    assert body["positions"] == [
        {"security_id": "AAPL", "currency": "USD", "quantity": "15", "cost_local": "2302.50",
         "cost_base": "2302.50", "avg_cost_local": "153.50", "realized_local": "0", "realized_base": "0",
         **NULL_VALUATION},
        {"security_id": "IBM", "currency": "USD", "quantity": "0", "cost_local": "0", "cost_base": "0",
         "avg_cost_local": None, "realized_local": "20", "realized_base": "20", **CLOSED},
        {"security_id": "MSFT", "currency": "EUR", "quantity": "4", "cost_local": "1480", "cost_base": "1628.00",
         "avg_cost_local": "370", "realized_local": "0", "realized_base": "0", **NULL_VALUATION},
    ]


async def test_a_sale_shows_from_its_trade_date_on(history, db_client):
    before = await db_client.get("/portfolios/P1/positions", params={"as_of": "2024-01-09"})
    on = await db_client.get("/portfolios/P1/positions", params={"as_of": "2024-01-10"})

    def aapl(response):
        return next(p for p in response.json()["positions"] if p["security_id"] == "AAPL")

    assert (aapl(before)["quantity"], aapl(before)["realized_local"]) == ("15", "0")
    assert (aapl(on)["quantity"], aapl(on)["cost_local"], aapl(on)["avg_cost_local"],
            aapl(on)["realized_local"]) == ("5", "800.00", "160.00", "197.50")


async def test_positions_as_of_a_date_before_any_trade_are_empty(history, db_client):
    response = await db_client.get("/portfolios/P1/positions", params={"as_of": "2023-12-31"})

    assert response.status_code == 200
    assert (response.json()["total"], response.json()["positions"]) == (0, [])


async def test_positions_as_of_are_paginated_with_their_total(history, db_client):
    response = await db_client.get("/portfolios/P1/positions",
                                   params={"as_of": "2024-12-31", "limit": 2, "offset": 1})

    assert response.json()["total"] == 4
    assert [p["security_id"] for p in response.json()["positions"]] == ["IBM", "MSFT"]


@pytest.mark.parametrize("as_of", ["2024-1-6", "yesterday", "2024-02-30", "1704499200"])
async def test_an_invalid_as_of_is_422_naming_as_of(history, db_client, as_of):
    response = await db_client.get("/portfolios/P1/positions", params={"as_of": as_of})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "as_of"


async def test_positions_as_of_for_an_unknown_portfolio_are_404(history, db_client):
    response = await db_client.get("/portfolios/NOPE/positions", params={"as_of": "2024-01-06"})

    assert response.status_code == 404


# --- live -------------------------------------------------------------------

def p1_live() -> dict:
    return live_answer("P1", positions=[
        position("P1", "MSFT", lot("T3", "2024-01-03", 4, "4", "1480", "1628.00"), currency="EUR"),
        position("P1", "AAPL", lot("T2", "2024-01-05", 7, "5", "800.00"), lot("T1", "2024-01-02", 3, "10", "1502.50")),
        position("P1", "IBM", realized_local="20"),
        position("P1", "DIVONLY", listed=False),
    ], cash_states=[cash("P1", "USD", "-2302.50", movers=2)])


async def test_live_positions_sum_the_lots_of_each_listed_position(make_client, start_worker_stub):
    client = await make_client(worker_url=start_worker_stub({"P1": p1_live()}))

    response = await client.get("/portfolios/P1/positions")

    assert response.status_code == 200
    body = response.json()
    assert (body["portfolio_id"], body["as_of"], body["source"], body["total"]) == ("P1", None, "live", 3)
    assert body["positions"] == [
        {"security_id": "AAPL", "currency": "USD", "quantity": "15", "cost_local": "2302.50",
         "cost_base": "2302.50", "avg_cost_local": "153.50", "realized_local": "0", "realized_base": "0",
         **NULL_VALUATION},
        {"security_id": "IBM", "currency": "USD", "quantity": "0", "cost_local": "0", "cost_base": "0",
         "avg_cost_local": None, "realized_local": "20", "realized_base": "20", **CLOSED, "weight": 0.0},
        {"security_id": "MSFT", "currency": "EUR", "quantity": "4", "cost_local": "1480", "cost_base": "1628.00",
         "avg_cost_local": "370", "realized_local": "0", "realized_base": "0", **NULL_VALUATION},
    ]


async def test_live_positions_are_valued_at_the_latest_price_and_rate_the_worker_holds(make_client, start_worker_stub):
    market = MarketData()
    market.prices.put("AAPL", "2024-01-10", Decimal("150"))
    market.prices.put("AAPL", "2024-01-11", Decimal("160"))
    market.prices.put("MSFT", "2024-01-11", Decimal("400"))
    market.fx_book.put("EUR", "USD", "2024-01-11", Decimal("1.2"))
    state = p1_live()
    client = await make_client(worker_url=start_worker_stub({"P1": live_answer(
        "P1", positions=state["positions"], cash_states=state["cash"], market=market)}))

    aapl, ibm, msft = (await client.get("/portfolios/P1/positions")).json()["positions"]

    # AAPL 15 × 160 = 2400, cost 2302.50 → +97.50. MSFT 4 × 400 = 1600 EUR × 1.2 = 1920 USD,
    # unrealized 1600 − 1480 = 120 EUR, 1920 − 1628 = 292 USD. Total value 2400 + 1920 + 0 − 2302.50
    # (cash) = 2017.50: weights 2400/2017.5 and 1920/2017.5.
    assert (aapl["price"], aapl["price_date"], aapl["fx"], aapl["mv_local"], aapl["mv_base"],
            aapl["unrealized_base"], aapl["valuation_status"]) == ("160", "2024-01-11", "1", "2400", "2400",
                                                                    "97.50", "ok")
    assert (msft["mv_local"], msft["mv_base"], msft["unrealized_local"], msft["unrealized_base"]) == (
        "1600", "1920.0", "120", "292.00")
    assert aapl["weight"] == pytest.approx(2400 / 2017.5, rel=1e-12)
    assert msft["weight"] == pytest.approx(1920 / 2017.5, rel=1e-12)
    assert (ibm["mv_base"], ibm["valuation_status"]) == ("0", "ok")


async def test_a_position_without_a_rate_keeps_its_local_figures_and_says_missing_fx(make_client, start_worker_stub):
    market = MarketData()
    market.prices.put("MSFT", "2024-01-11", Decimal("400"))
    state = live_answer("P1", positions=[position("P1", "MSFT", lot("T3", "2024-01-03", 4, "4", "1480", "1628.00"),
                                                  currency="EUR")], market=market)
    client = await make_client(worker_url=start_worker_stub({"P1": state}))

    [msft] = (await client.get("/portfolios/P1/positions")).json()["positions"]

    assert (msft["mv_local"], msft["unrealized_local"], msft["mv_base"], msft["unrealized_base"],
            msft["valuation_status"]) == ("1600", "120", None, None, "missing_fx")


async def test_a_short_position_has_negative_quantity_and_cost(make_client, start_worker_stub):
    short = live_answer("P1", positions=[position("P1", "AAPL", lot("T1", "2024-01-02", 1, "-3", "-509.97"))])
    client = await make_client(worker_url=start_worker_stub({"P1": short}))

    [aapl] = (await client.get("/portfolios/P1/positions")).json()["positions"]

    assert (aapl["quantity"], aapl["cost_local"], aapl["avg_cost_local"]) == ("-3", "-509.97", "169.99")


async def test_live_positions_need_no_database(make_client, start_worker_stub):
    client = await make_client(database_url="postgresql://nobody@127.0.0.1:9/none",
                               worker_url=start_worker_stub({"P1": p1_live()}))

    response = await client.get("/portfolios/P1/positions")

    assert response.status_code == 200


async def test_live_positions_of_a_portfolio_the_worker_does_not_know_are_404(make_client, start_worker_stub):
    client = await make_client(worker_url=start_worker_stub({"P1": p1_live()}))

    response = await client.get("/portfolios/NOPE/positions")

    assert response.status_code == 404


async def test_live_positions_are_503_when_the_worker_is_unreachable(make_client):
    client = await make_client(worker_url="http://127.0.0.1:9")

    response = await client.get("/portfolios/P1/positions")

    assert response.status_code == 503
    assert response.json()["service"] == "worker"
    assert "unreachable" in response.json()["detail"]


async def test_live_positions_are_503_when_the_worker_fails(make_client, start_worker_stub):
    client = await make_client(worker_url=start_worker_stub(status={"P1": 500}))

    response = await client.get("/portfolios/P1/positions")

    assert response.status_code == 503
    assert "HTTP 500" in response.json()["detail"]


async def test_positions_as_csv_are_one_row_per_position_with_the_jsons_figures(history, db_client):
    response = await db_client.get("/portfolios/P1/positions", params={"as_of": "2024-01-06"},
                                   headers={"Accept": "text/csv"})
    assert (response.headers["content-type"], response.headers["x-total-count"]) == ("text/csv; charset=utf-8", "3")
    header, *positions = csv.reader(io.StringIO(response.text))
    as_json = (await db_client.get("/portfolios/P1/positions", params={"as_of": "2024-01-06"})).json()["positions"]
    assert header[:4] == ["security_id", "quantity", "cost_local", "cost_base"]
    assert [dict(zip(header, row)) for row in positions] == [
        {name: "" if value is None else str(value) for name, value in p.items()} for p in as_json]
    assert positions[2][:4] == ["MSFT", "4", "1480", "1628.00"]
