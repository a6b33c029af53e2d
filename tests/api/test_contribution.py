"""GET /portfolios/{id}/contribution: positions' returns and contributions, against a hand calculation."""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

PERIOD = {"from": "2024-01-01", "to": "2024-01-10"}  # 10 days


@pytest.fixture
async def client(make_client, api_database_url, rows):
    """Base USD. Before the period: 1000 USD deposited, 10 SAP transferred in (worth 10 × 100 EUR
    × 1.1 = 1100 USD at the start). Within it: BUY 5 AAPL @ 100 (3rd), a 20 EUR SAP dividend booked
    at 1.1 (5th), DEPOSIT 200 (6th), SELL 2 AAPL @ 110 (8th). At the end: 3 AAPL @ 120 = 360,
    10 SAP @ 105 EUR × 1.2 = 1260, cash 920 USD + 20 EUR × 1.2 = 24."""
    await rows.portfolio("P1", base_currency="USD", open_date=date(2023, 11, 1))
    await rows.position("P1", "AAPL", quantity="3", cost_local="300", realized_local="20")
    await rows.position("P1", "SAP", currency="EUR", quantity="10", cost_local="900", cost_base="990")
    await rows.history("P1", "SAP", date(2023, 11, 1), quantity="10", cost_local="900", cost_base="990")
    await rows.history("P1", "AAPL", date(2024, 1, 3), quantity="5", cost_local="500")
    await rows.history("P1", "AAPL", date(2024, 1, 8), quantity="3", cost_local="300", realized_local="20")
    await rows.transaction("P1", "T0", type="TRANSFER_IN", security_id="SAP", trade_date=date(2023, 11, 1),
                           quantity="10", price="90", currency="EUR", fx_applied="1.1")
    await rows.transaction("P1", "D0", type="DEPOSIT", trade_date=date(2023, 12, 1), amount="1000",
                           cash_effect={"USD": "1000"})
    await rows.transaction("P1", "B1", type="BUY", security_id="AAPL", trade_date=date(2024, 1, 3),
                           quantity="5", price="100", cash_effect={"USD": "-500"})
    await rows.transaction("P1", "DV", type="DIVIDEND", security_id="SAP", trade_date=date(2024, 1, 5),
                           amount="20", currency="EUR", fx_applied="1.1", cash_effect={"EUR": "20"})
    await rows.transaction("P1", "D1", type="DEPOSIT", trade_date=date(2024, 1, 6), amount="200",
                           cash_effect={"USD": "200"})
    await rows.transaction("P1", "S1", type="SELL", security_id="AAPL", trade_date=date(2024, 1, 8),
                           quantity="2", price="110", cash_effect={"USD": "220"})
    await rows.price("SAP", date(2023, 12, 29), "100", currency="EUR")
    await rows.price("SAP", date(2024, 1, 9), "105", currency="EUR")
    await rows.price("AAPL", date(2024, 1, 10), "120")
    await rows.fx("EUR", "USD", date(2023, 12, 29), "1.1")
    await rows.fx("EUR", "USD", date(2024, 1, 10), "1.2")
    await rows.series("P1", date(2024, 1, 6), "2300", inflow="200")
    return await make_client(database_url=api_database_url)


async def test_each_positions_gain_return_and_contribution_equal_the_hand_calculation(client):
    body = (await client.get("/portfolios/P1/contribution", params=PERIOD)).json()
    # Portfolio: 2564 − 2100 − 200 = 264 over 2100 + 200 × 5/10 = 2200: 12 %.
    assert [Decimal(body[k]) for k in ("start_value_base", "end_value_base", "external_flows_base")] == [
        2100, 2564, 200]
    assert Decimal(body["gain_base"]) == 264 and body["return"] == pytest.approx(0.12)
    items = {i["security_id"]: i for i in body["items"]}
    # AAPL: 360 − (500 − 220) = 80 over 500 × 8/10 − 220 × 2/10 = 356.
    aapl = items["AAPL"]
    assert [Decimal(aapl[k]) for k in ("start_mv_base", "end_mv_base", "net_flows_base", "gain_base")] == [
        0, 360, 280, 80]
    assert (aapl["return"], aapl["contribution"]) == (pytest.approx(80 / 356), pytest.approx(80 / 2200))
    # SAP: 1260 − 1100 + 22 (the dividend left it) = 182 over 1100 − 22 × 5/10 = 1089.
    sap = items["SAP"]
    assert (Decimal(sap["net_flows_base"]), Decimal(sap["gain_base"])) == (-22, 182)
    assert (sap["return"], sap["contribution"]) == (pytest.approx(182 / 1089), pytest.approx(182 / 2200))
    # Cash: the 20 EUR came in at 22 USD and is worth 24.
    assert (Decimal(body["cash_gain_base"]), body["cash_contribution"]) == (2, pytest.approx(2 / 2200))
    assert aapl["contribution"] + sap["contribution"] + body["cash_contribution"] == pytest.approx(body["return"])


async def test_a_position_without_a_price_at_the_end_is_unknown_not_zero(client, rows):
    await rows.position("P1", "NOPX", quantity="1", cost_local="10")
    await rows.history("P1", "NOPX", date(2024, 1, 9), quantity="1", cost_local="10")
    body = (await client.get("/portfolios/P1/contribution", params=PERIOD)).json()
    nopx = next(i for i in body["items"] if i["security_id"] == "NOPX")
    assert (nopx["end_mv_base"], nopx["gain_base"], nopx["contribution"]) == (None, None, None)
    assert (body["end_value_base"], body["return"], body["cash_contribution"]) == (None, None, None)


async def test_the_report_pages_and_answers_csv(client):
    page = (await client.get("/portfolios/P1/contribution", params={**PERIOD, "limit": 1, "offset": 1})).json()
    assert (page["total"], [i["security_id"] for i in page["items"]]) == (2, ["SAP"])
    response = await client.get("/portfolios/P1/contribution", params=PERIOD, headers={"Accept": "text/csv"})
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["security_id"], r["gain_base"]) for r in table][0][0] == "AAPL"
    assert Decimal(table[1]["gain_base"]) == 182


@pytest.mark.parametrize("params, field", [({"period": "YTD", "from": "2024-01-01"}, "period"),
                                           ({"from": "2024-02-01", "to": "2024-01-01"}, "from"),
                                           ({"period": "FOREVER"}, "period")])
async def test_a_bad_period_is_a_422_naming_it(client, params, field):
    response = await client.get("/portfolios/P1/contribution", params=params)
    assert response.status_code == 422
    assert field in str(response.json()["detail"][0]["loc"])


@pytest.mark.parametrize("params, field", [({"from": "0001-01-01", "to": "2024-01-10"}, "from"),
                                           ({"to": "9999-12-31"}, "to"), ({"period": "\x00"}, "period"),
                                           ({"from": "2024-01-01\x00"}, "from"), ({"limit": "many"}, "limit")])
async def test_hostile_parameters_are_a_422_naming_them(client, params, field):
    response = await client.get("/portfolios/P1/contribution", params=params)
    assert response.status_code == 422, response.text[:300]
    assert field in str(response.json()["detail"][0]["loc"])
