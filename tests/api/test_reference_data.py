"""GET /instruments, /instruments/{id}, /prices and /fx-rates: filters, pages, 404, 422, CSV, scope."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from api.auth.settings import AuthSettings


@pytest.fixture
async def reference(rows):
    await rows.portfolio("P1")
    await rows.portfolio("P2")
    await rows.instrument("AAPL", name="Apple", currency="USD", isin="US0378331005", asset_class="EQUITY",
                          sector="Tech", country="US")
    await rows.instrument("BUND", name="=HYPERLINK(\"http://x\")", currency="EUR", asset_class="BOND")
    await rows.instrument("SAP", name="SAP", currency="EUR", asset_class="EQUITY")
    for day, price in ((date(2024, 1, 2), "150.25"), (date(2024, 1, 3), "151.10"), (date(2024, 1, 4), "149.9")):
        await rows.price("AAPL", day, price)
    await rows.price("SAP", date(2024, 1, 3), "120.000001", currency="EUR")
    await rows.fx("EUR", "USD", date(2024, 1, 2), "1.0950")
    await rows.fx("EUR", "USD", date(2024, 1, 3), "1.1012")
    await rows.fx("GBP", "USD", date(2024, 1, 3), "1.27")
    return rows


@pytest.fixture
async def client(make_client, api_database_url, reference):
    return await make_client(database_url=api_database_url)


async def test_instruments_are_listed_by_id_with_total_and_filters(client):
    everything = (await client.get("/instruments")).json()
    assert everything["total"] == 3
    assert [i["security_id"] for i in everything["items"]] == ["AAPL", "BUND", "SAP"]
    assert everything["items"][0] == {"security_id": "AAPL", "name": "Apple", "currency": "USD",
                                      "isin": "US0378331005", "asset_class": "EQUITY", "sector": "Tech",
                                      "country": "US"}
    page = (await client.get("/instruments", params={"limit": 1, "offset": 1})).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1)
    assert [i["security_id"] for i in page["items"]] == ["BUND"]
    equities_in_eur = (await client.get("/instruments", params={"asset_class": "EQUITY", "currency": "EUR"})).json()
    assert (equities_in_eur["total"], [i["security_id"] for i in equities_in_eur["items"]]) == (1, ["SAP"])


async def test_one_instrument_is_read_by_id_and_an_unknown_one_is_a_404_naming_it(client):
    assert (await client.get("/instruments/SAP")).json()["currency"] == "EUR"
    missing = await client.get("/instruments/NOPE")
    assert missing.status_code == 404
    assert "NOPE" in missing.json()["detail"]


async def test_prices_are_exact_decimal_strings_within_an_inclusive_range(client):
    found = (await client.get("/prices", params={"security_id": "AAPL", "from": "2024-01-03",
                                                  "to": "2024-01-04"})).json()
    assert found["total"] == 2
    assert found["items"] == [
        {"security_id": "AAPL", "price_date": "2024-01-03", "price": "151.10", "currency": None},
        {"security_id": "AAPL", "price_date": "2024-01-04", "price": "149.9", "currency": None}]
    all_prices = (await client.get("/prices", params={"limit": 2})).json()
    assert (all_prices["total"], len(all_prices["items"])) == (4, 2)
    assert (await client.get("/prices", params={"offset": 3})).json()["items"][0]["price"] == "120.000001"


async def test_fx_rates_filter_by_pair_and_date(client):
    found = (await client.get("/fx-rates", params={"from_currency": "EUR", "to_currency": "USD",
                                                    "from": "2024-01-03"})).json()
    assert found["total"] == 1
    assert found["items"] == [{"from_currency": "EUR", "to_currency": "USD", "rate_date": "2024-01-03",
                               "rate": "1.1012"}]
    assert (await client.get("/fx-rates", params={"to_currency": "USD"})).json()["total"] == 3


@pytest.mark.parametrize("path", ["/prices", "/fx-rates"])
async def test_a_reversed_date_range_is_a_422_naming_from(client, path):
    response = await client.get(path, params={"from": "2024-01-05", "to": "2024-01-04"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "from"


async def test_a_malformed_currency_filter_is_a_422_naming_it(client):
    response = await client.get("/fx-rates", params={"from_currency": "eur"})
    assert response.status_code == 422
    assert "from_currency" in response.text


async def test_instruments_as_csv_carry_a_header_the_page_in_headers_and_no_runnable_formula(client):
    response = await client.get("/instruments", params={"limit": 2}, headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (response.headers["x-total-count"], response.headers["x-limit"], response.headers["x-offset"]) \
        == ("3", "2", "0")
    table = list(csv.reader(io.StringIO(response.text)))
    assert table == [
        ["security_id", "name", "currency", "isin", "asset_class", "sector", "country"],
        ["AAPL", "Apple", "USD", "US0378331005", "EQUITY", "Tech", "US"],
        ["BUND", "'=HYPERLINK(\"http://x\")", "EUR", "", "BOND", "", ""]]


async def test_prices_as_csv_write_decimals_exactly_as_the_json_does(client):
    response = await client.get("/prices", params={"security_id": "AAPL"}, headers={"Accept": "text/csv"})
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0] == ["security_id", "price_date", "price", "currency"]
    assert [row[2] for row in table[1:]] == ["150.25", "151.10", "149.9"]


async def test_a_key_scoped_to_p1_reads_reference_data_but_not_p2s_income(make_client, api_database_url, reference):
    client = await make_client(database_url=api_database_url, auth=AuthSettings(api_keys="k=read:P1"))
    headers = {"Authorization": "Bearer k"}
    assert (await client.get("/instruments", headers=headers)).json()["total"] == 3
    assert (await client.get("/prices", headers=headers)).status_code == 200
    assert (await client.get("/fx-rates", headers=headers)).status_code == 200
    assert (await client.get("/portfolios/P1/income", headers=headers)).status_code == 200
    outside = await client.get("/portfolios/P2/income", headers=headers)
    assert outside.status_code == 404
    assert outside.json() == {"detail": "unknown portfolio 'P2'"}
    assert (await client.get("/instruments")).status_code == 401


@pytest.mark.parametrize("path, params", [
    ("/prices", {"from": "2024-02-30"}), ("/prices", {"to": "yesterday"}), ("/prices", {"security_id": ""}),
    ("/prices", {"security_id": "A\x00B"}), ("/fx-rates", {"to_currency": "USDX"}), ("/instruments", {"limit": 0}),
    ("/instruments", {"limit": 1001}), ("/instruments", {"offset": -1}), ("/instruments", {"currency": "usd"}),
])
async def test_bad_parameters_are_422_naming_them(client, path, params):
    response = await client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] in {"from", "to", *params}
