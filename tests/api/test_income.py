"""GET /portfolios/{id}/income: booked income per year, security and currency, pages, CSV."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest


@pytest.fixture
async def client(make_client, api_database_url, rows):
    await rows.portfolio("P1", base_currency="USD")
    await rows.portfolio("P2")
    await rows.transaction("P1", "D1", type="DIVIDEND", security_id="SAP", trade_date=date(2023, 6, 1),
                           amount="100.00", fees="15.00", currency="EUR", fx_applied="1.10")
    await rows.transaction("P1", "D2", type="DIVIDEND", security_id="SAP", trade_date=date(2024, 6, 1),
                           amount="40", currency="EUR", fx_applied="1.05")
    await rows.transaction("P1", "D3", type="DIVIDEND", security_id="SAP", trade_date=date(2024, 7, 1),
                           amount="999", currency="EUR", status="CANCELLED", version=2)
    await rows.transaction("P1", "W1", type="TAX", security_id="AAPL", trade_date=date(2024, 2, 1),
                           amount="12.50", currency="USD")
    await rows.transaction("P1", "X1", type="TAX", trade_date=date(2024, 2, 1), amount="77", currency="USD")
    await rows.transaction("P1", "I1", type="INTEREST", trade_date=date(2024, 3, 1), amount="3.25",
                           currency="USD")
    await rows.transaction("P1", "B1", type="BUY", security_id="SAP", trade_date=date(2024, 3, 1),
                           quantity="1", price="10", currency="EUR", fx_applied="1.1")
    await rows.transaction("P2", "D9", type="DIVIDEND", security_id="SAP", trade_date=date(2024, 6, 1),
                           amount="5", currency="EUR")
    return await make_client(database_url=api_database_url)


async def test_income_is_summed_per_year_security_and_currency_from_booked_versions_only(client):
    body = (await client.get("/portfolios/P1/income")).json()
    assert (body["total"], body["base_currency"]) == (4, "USD")
    assert [(i["year"], i["security_id"], i["currency"], i["gross"], i["fees"], i["tax_withheld"], i["net"],
             i["net_base"]) for i in body["items"]] == [
        # 85.00 × 1.10 = 93.5; the cancelled D3 counts nothing; a TAX without a security is no income's
        (2023, "SAP", "EUR", "100.00", "15.00", "0", "85.00", "93.5000"),
        (2024, "AAPL", "USD", "0", "0", "12.50", "-12.50", "-12.50"),
        (2024, "SAP", "EUR", "40", "0", "0", "40", "42.00"),
        (2024, None, "USD", "3.25", "0", "0", "3.25", "3.25")]


async def test_year_and_from_to_narrow_the_report_and_pages_keep_the_total(client):
    assert (await client.get("/portfolios/P1/income", params={"year": 2023})).json()["total"] == 1
    narrowed = (await client.get("/portfolios/P1/income", params={"year": 2024, "from": "2024-03-01"})).json()
    assert [(i["security_id"]) for i in narrowed["items"]] == ["SAP", None]
    page = (await client.get("/portfolios/P1/income", params={"limit": 1, "offset": 3})).json()
    assert (page["total"], [i["security_id"] for i in page["items"]]) == (4, [None])


@pytest.mark.parametrize("params, field", [({"from": "2024-02-01", "to": "2024-01-01"}, "from"),
                                           ({"year": 2023, "from": "2024-01-01"}, "year"),
                                           ({"year": "soon"}, "year")])
async def test_an_impossible_period_is_a_422_naming_the_parameter(client, params, field):
    response = await client.get("/portfolios/P1/income", params=params)
    assert response.status_code == 422
    assert field in str(response.json()["detail"][0]["loc"])


async def test_an_unknown_portfolio_is_a_404(client):
    assert (await client.get("/portfolios/NOPE/income")).status_code == 404


async def test_income_as_csv_keeps_a_negative_net_numeric_and_exact(client):
    response = await client.get("/portfolios/P1/income", params={"year": 2024},
                                headers={"Accept": "text/csv, application/json;q=0.5"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["x-total-count"] == "3"
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0] == ["year", "security_id", "currency", "gross", "fees", "tax_withheld", "net", "net_base",
                        "transactions"]
    assert table[1] == ["2024", "AAPL", "USD", "0", "0", "12.50", "-12.50", "-12.50", "1"]
