"""GET /portfolios/{id}/cash: live balances, or as of a date from booked cash effects."""
from __future__ import annotations

from datetime import date

import pytest

from tests.api.live_state import cash, live_answer


async def test_live_cash_lists_every_currency_a_transaction_moved(make_client, start_worker_stub):
    state = live_answer("P1", cash_states=[cash("P1", "USD", "-2302.50", movers=2), cash("P1", "EUR", "0", movers=1),
                                           cash("P1", "GBP", "0", movers=0)])
    client = await make_client(worker_url=start_worker_stub({"P1": state}))

    response = await client.get("/portfolios/P1/cash")

    assert response.status_code == 200
    body = response.json()
    assert (body["portfolio_id"], body["source"], body["as_of"], body["total"]) == ("P1", "live", None, 2)
    # No EUR rate, but a zero balance is worth 0 in any currency; USD is the base (rate 1).
    assert body["balances"] == [
        {"currency": "EUR", "amount": "0", "amount_base": "0", "fx": None, "valuation_status": "ok"},
        {"currency": "USD", "amount": "-2302.50", "amount_base": "-2302.50", "fx": "1", "valuation_status": "ok"}]


async def test_live_cash_of_a_portfolio_the_worker_does_not_know_is_404(make_client, start_worker_stub):
    client = await make_client(worker_url=start_worker_stub({}))

    assert (await client.get("/portfolios/NOPE/cash")).status_code == 404


@pytest.fixture
async def cash_ledger(rows):
    await rows.portfolio("P1")
    await rows.transaction("P1", "T0", type="DEPOSIT", trade_date=date(2024, 1, 1), amount="10000",
                           cash_effect={"USD": "10000"})
    await rows.transaction("P1", "T1", trade_date=date(2024, 1, 2), cash_effect={"USD": "-1502.50"})
    await rows.transaction("P1", "T2", trade_date=date(2024, 1, 3), cash_effect={"USD": "-800"})
    await rows.transaction("P1", "T3", trade_date=date(2024, 1, 3), currency="EUR", cash_effect={"EUR": "-1480"})
    await rows.transaction("P1", "T5", trade_date=date(2024, 1, 3), status="CANCELLED", version=2,
                           cash_effect={"USD": "-999"})
    await rows.transaction("P1", "T6", type="DIVIDEND", trade_date=date(2024, 1, 15), currency="EUR",
                           cash_effect={"EUR": "12.34"})
    await rows.transaction("P1", "G1", type="DEPOSIT", trade_date=date(2024, 1, 2), currency="GBP",
                           cash_effect={"GBP": "100"})
    await rows.transaction("P1", "G2", type="WITHDRAWAL", trade_date=date(2024, 1, 3), currency="GBP",
                           cash_effect={"GBP": "-100.00"})
    return rows


async def test_cash_as_of_a_date_sums_the_booked_cash_effects_traded_by_then(cash_ledger, db_client):
    response = await db_client.get("/portfolios/P1/cash", params={"as_of": "2024-01-03"})

    assert response.status_code == 200
    body = response.json()
    assert (body["source"], body["as_of"]) == ("db", "2024-01-03")
    assert body["balances"] == [
        {"currency": "EUR", "amount": "-1480", "amount_base": None, "fx": None, "valuation_status": "missing_fx"},
        {"currency": "GBP", "amount": "0", "amount_base": "0", "fx": None, "valuation_status": "ok"},
        {"currency": "USD", "amount": "7697.50", "amount_base": "7697.50", "fx": "1", "valuation_status": "ok"}]


async def test_cash_as_of_a_later_date_includes_later_flows(cash_ledger, db_client):
    response = await db_client.get("/portfolios/P1/cash", params={"as_of": "2024-01-15"})

    balances = {b["currency"]: b["amount"] for b in response.json()["balances"]}
    assert balances == {"EUR": "-1467.66", "GBP": "0", "USD": "7697.50"}


async def test_cash_as_of_before_the_first_transaction_is_empty(cash_ledger, db_client):
    response = await db_client.get("/portfolios/P1/cash", params={"as_of": "2023-12-31"})

    assert (response.json()["total"], response.json()["balances"]) == (0, [])


async def test_cash_as_of_for_an_unknown_portfolio_is_404_and_a_bad_date_422(cash_ledger, db_client):
    unknown = await db_client.get("/portfolios/NOPE/cash", params={"as_of": "2024-01-03"})
    bad = await db_client.get("/portfolios/P1/cash", params={"as_of": "03/01/2024"})

    assert unknown.status_code == 404
    assert (bad.status_code, bad.json()["detail"][0]["field"]) == (422, "as_of")
