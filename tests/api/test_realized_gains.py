"""GET /portfolios/{id}/realized-gains: closed lots by close date, filters, pages, CSV."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest


@pytest.fixture
async def client(make_client, api_database_url, rows):
    await rows.portfolio("P1", base_currency="EUR")
    await rows.portfolio("P2")
    # S1 (2023-12-20) closed two lots of AAPL; S2 (2024-03-01) one of SAP in USD at 0.9; A1 an AVCO pool.
    await rows.realized_lot("P1", "S1", 0, "AAPL", "B1", date(2023, 1, 2), date(2023, 12, 20),
                            quantity="10", proceeds="1198", cost="1000")
    await rows.realized_lot("P1", "S1", 1, "AAPL", "B2", date(2023, 6, 1), date(2023, 12, 20),
                            quantity="5", proceeds="599", cost="550")
    await rows.realized_lot("P1", "S2", 0, "SAP", "B3", date(2024, 1, 2), date(2024, 3, 1),
                            quantity="2.5", proceeds="300.10", cost="310.35", fx="0.9")
    await rows.realized_lot("P1", "A1", 0, "MSFT", None, None, date(2024, 5, 2),
                            quantity="1", proceeds="400", cost="350")
    await rows.realized_lot("P2", "Z1", 0, "AAPL", "B9", date(2024, 1, 2), date(2024, 2, 2),
                            quantity="1", proceeds="1", cost="1")
    return await make_client(database_url=api_database_url)


def _rows(body: dict) -> list[tuple]:
    return [(i["transaction_id"], i["lot_transaction_id"], i["open_date"], i["close_date"], i["holding_days"],
             i["quantity"], i["gain_local"], i["gain_base"]) for i in body["items"]]


async def test_closed_lots_are_listed_by_close_date_with_holding_days_and_gains(client):
    body = (await client.get("/portfolios/P1/realized-gains")).json()
    assert (body["total"], body["base_currency"]) == (4, "EUR")
    assert _rows(body) == [
        # 2023-01-02 → 2023-12-20 is 352 days; 2023-06-01 → 2023-12-20 is 202
        ("S1", "B1", "2023-01-02", "2023-12-20", 352, "10", "198", "198"),
        ("S1", "B2", "2023-06-01", "2023-12-20", 202, "5", "49", "49"),
        # (300.10 − 310.35) × 0.9 = −9.225; 2024-01-02 → 2024-03-01 is 59 days (leap year)
        ("S2", "B3", "2024-01-02", "2024-03-01", 59, "2.5", "-10.25", "-9.225"),
        ("A1", None, None, "2024-05-02", None, "1", "50", "50")]
    assert body["items"][2]["proceeds_base"] == "270.090"


async def test_year_dates_and_security_narrow_the_report_and_pages_keep_the_total(client):
    by_year = (await client.get("/portfolios/P1/realized-gains", params={"year": 2023})).json()
    assert [i["lot_transaction_id"] for i in by_year["items"]] == ["B1", "B2"]
    window = (await client.get("/portfolios/P1/realized-gains", params={"from": "2024-03-01",
                                                                         "to": "2024-03-31"})).json()
    assert [i["transaction_id"] for i in window["items"]] == ["S2"]
    sap = (await client.get("/portfolios/P1/realized-gains", params={"security_id": "SAP"})).json()
    assert (sap["total"], sap["items"][0]["transaction_id"]) == (1, "S2")
    page = (await client.get("/portfolios/P1/realized-gains", params={"limit": 1, "offset": 1})).json()
    assert (page["total"], _rows(page)[0][:2]) == (4, ("S1", "B2"))


async def test_the_report_is_csv_on_request(client):
    response = await client.get("/portfolios/P1/realized-gains", params={"year": 2024},
                                headers={"Accept": "text/csv"})
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["transaction_id"], r["gain_base"], r["holding_days"]) for r in table] == [
        ("S2", "-9.225", "59"), ("A1", "50", "")]


async def test_an_unknown_portfolio_is_a_404_and_another_portfolios_lots_never_show(client):
    assert (await client.get("/portfolios/NOPE/realized-gains")).status_code == 404
    assert _rows((await client.get("/portfolios/P2/realized-gains")).json())[0][0] == "Z1"


@pytest.mark.parametrize("params, field", [({"from": "2024-02-01", "to": "2024-01-01"}, "from"),
                                           ({"year": 2023, "from": "2024-01-01"}, "year"),
                                           ({"year": "last"}, "year"),
                                           ({"to": "9999-12-31"}, "to")])
async def test_an_impossible_period_is_a_422_naming_the_parameter(client, params, field):
    response = await client.get("/portfolios/P1/realized-gains", params=params)
    assert response.status_code == 422
    assert field in str(response.json()["detail"][0]["loc"])


@pytest.mark.parametrize("params, field", [({"security_id": "A\x00B"}, "security_id"),
                                           ({"security_id": "x" * 10_000}, "security_id"),
                                           ({"year": 0}, "year"), ({"year": 10000}, "year"),
                                           ({"year": "1e99"}, "year"), ({"from": "0001-01-01"}, "from"),
                                           ({"limit": 10**9}, "limit"), ({"offset": -1}, "offset")])
async def test_hostile_parameters_are_a_422_naming_them(client, params, field):
    response = await client.get("/portfolios/P1/realized-gains", params=params)
    assert response.status_code == 422, response.text[:300]
    assert field in str(response.json()["detail"][0]["loc"])
