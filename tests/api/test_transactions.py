"""GET /portfolios/{id}/transactions: filters, sorting, pages, and booked figures."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest


@pytest.fixture
async def ledger(rows):
    """P1's book. T4, a sale dated Jan 10, arrived before T2 and T3, which share
    Jan 3 (T2 arrived first); T5 is cancelled; P2 has a transaction of its own."""
    await rows.portfolio("P1")
    await rows.portfolio("P2")
    await rows.transaction("P1", "T0", type="DEPOSIT", trade_date=date(2024, 1, 1), amount="10000",
                           arrival=1, cash_effect={"USD": "10000"})
    await rows.transaction("P1", "T1", security_id="AAPL", trade_date=date(2024, 1, 2), quantity="10",
                           price="150.25", arrival=2, cash_effect={"USD": "-1502.50"})
    await rows.transaction("P1", "T4", type="SELL", security_id="AAPL", trade_date=date(2024, 1, 10),
                           quantity="10", price="170", arrival=3, realized_local="197.50",
                           cash_effect={"USD": "1700"})
    await rows.transaction("P1", "T2", security_id="AAPL", trade_date=date(2024, 1, 3), quantity="5",
                           price="160", arrival=4, cash_effect={"USD": "-800"})
    await rows.transaction("P1", "T3", security_id="MSFT", trade_date=date(2024, 1, 3), quantity="4",
                           price="370", currency="EUR", fx_rate="1.1", fx_applied="1.1", arrival=5,
                           cash_effect={"EUR": "-1480"})
    await rows.transaction("P1", "T5", security_id="AAPL", trade_date=date(2024, 1, 4), quantity="1",
                           price="155", version=2, status="CANCELLED", arrival=6, cash_effect={})
    await rows.transaction("P1", "T6", type="DIVIDEND", security_id="MSFT", trade_date=date(2024, 1, 15),
                           amount="12.34", currency="EUR", fx_applied="1.09", arrival=7,
                           cash_effect={"EUR": "12.34"})
    await rows.transaction("P2", "X1", security_id="AAPL", trade_date=date(2024, 1, 2), quantity="1",
                           price="150", cash_effect={"USD": "-150"})
    return rows


async def ids(client, **params) -> tuple[int, list[str]]:
    response = await client.get("/portfolios/P1/transactions", params=params)
    assert response.status_code == 200, response.text
    return response.json()["total"], [t["transaction_id"] for t in response.json()["items"]]


async def test_booked_transactions_come_by_trade_date_then_arrival(ledger, db_client):
    assert await ids(db_client) == (6, ["T0", "T1", "T2", "T3", "T4", "T6"])


async def test_a_transaction_carries_its_event_fields_realized_pnl_cash_effect_and_applied_rate(ledger, db_client):
    response = await db_client.get("/portfolios/P1/transactions", params={"type": "SELL"})

    [sale] = response.json()["items"]
    assert sale == {
        "transaction_id": "T4", "portfolio_id": "P1", "version": 1, "status": "BOOKED", "type": "SELL",
        "trade_date": "2024-01-10", "settlement_date": None, "security_id": "AAPL", "quantity": "10",
        "price": "170", "amount": None, "fees": "0", "currency": "USD", "fx_rate": None, "fx_rate_applied": "1",
        "arrival": 3, "realized_local": "197.50", "realized_base": "197.50", "cash_effect": {"USD": "1700"},
    }


async def test_cancelled_transactions_are_shown_only_on_request(ledger, db_client):
    assert await ids(db_client, status="CANCELLED") == (1, ["T5"])
    assert await ids(db_client, status="ALL") == (7, ["T0", "T1", "T2", "T3", "T5", "T4", "T6"])


async def test_transactions_filter_by_type_security_and_trade_dates(ledger, db_client):
    assert await ids(db_client, type="BUY") == (3, ["T1", "T2", "T3"])
    assert await ids(db_client, security_id="AAPL") == (3, ["T1", "T2", "T4"])
    assert await ids(db_client, **{"from": "2024-01-03", "to": "2024-01-10"}) == (3, ["T2", "T3", "T4"])
    assert await ids(db_client, type="DIVIDEND", security_id="AAPL") == (0, [])


async def test_transactions_sort_by_date_or_id_either_way(ledger, db_client):
    assert await ids(db_client, sort="-trade_date") == (6, ["T6", "T4", "T3", "T2", "T1", "T0"])
    assert await ids(db_client, sort="transaction_id") == (6, ["T0", "T1", "T2", "T3", "T4", "T6"])
    assert await ids(db_client, sort="-transaction_id") == (6, ["T6", "T4", "T3", "T2", "T1", "T0"])


async def test_transactions_are_paged_and_the_total_counts_every_match(ledger, db_client):
    assert await ids(db_client, limit=2, offset=2) == (6, ["T2", "T3"])
    assert await ids(db_client, limit=2, offset=6) == (6, [])
    assert await ids(db_client, type="BUY", limit=1, offset=1) == (3, ["T2"])


@pytest.mark.parametrize(("params", "field"), [
    ({"sort": "price"}, "sort"),
    ({"type": "GIFT"}, "type"),
    ({"status": "PENDING"}, "status"),
    ({"from": "2024-13-01"}, "from"),
    ({"to": "tomorrow"}, "to"),
    ({"from": "2024-02-01", "to": "2024-01-01"}, "from"),
    ({"limit": 0}, "limit"),
])
async def test_invalid_parameters_are_422_naming_the_parameter(ledger, db_client, params, field):
    response = await db_client.get("/portfolios/P1/transactions", params=params)

    assert response.status_code == 422
    assert [d["field"] for d in response.json()["detail"]] == [field]


async def test_transactions_of_an_unknown_portfolio_are_404(ledger, db_client):
    response = await db_client.get("/portfolios/NOPE/transactions")

    assert response.status_code == 404


async def test_transactions_as_csv_are_the_json_items_with_the_cash_effect_as_json(ledger, db_client):
    response = await db_client.get("/portfolios/P1/transactions", params={"type": "SELL"},
                                   headers={"Accept": "text/csv"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["x-total-count"] == "1"
    header, sale = list(csv.reader(io.StringIO(response.text)))
    assert dict(zip(header, sale)) == {
        "transaction_id": "T4", "portfolio_id": "P1", "version": "1", "status": "BOOKED", "type": "SELL",
        "trade_date": "2024-01-10", "settlement_date": "", "security_id": "AAPL", "quantity": "10",
        "price": "170", "amount": "", "fees": "0", "currency": "USD", "fx_rate": "", "fx_rate_applied": "1",
        "arrival": "3", "realized_local": "197.50", "realized_base": "197.50", "cash_effect": '{"USD":"1700"}',
    }


async def test_a_single_transactions_status_ignores_a_csv_accept_header(ledger, db_client):
    response = await db_client.get("/portfolios/P1/transactions/T4", headers={"Accept": "text/csv"})
    assert (response.status_code, response.json()["status"]) == (200, "booked")
