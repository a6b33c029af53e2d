"""GET /portfolios/{id}/position-history."""
from __future__ import annotations

from datetime import date

import pytest


@pytest.fixture
async def history(rows):
    await rows.portfolio("P1")
    await rows.history("P1", "AAPL", date(2024, 1, 2), quantity="10", cost_local="1502.50", cost_base="1352.25")
    await rows.history("P1", "MSFT", date(2024, 1, 3), quantity="4", cost_local="1480")
    await rows.history("P1", "AAPL", date(2024, 1, 5), quantity="15", cost_local="2302.50")
    await rows.history("P1", "AAPL", date(2024, 1, 10), quantity="5", cost_local="800.00", realized_local="197.50")
    return rows


async def entries(client, **params) -> tuple[int, list[tuple[str, str]]]:
    response = await client.get("/portfolios/P1/position-history", params=params)
    assert response.status_code == 200, response.text
    return response.json()["total"], [(r["date"], r["security_id"]) for r in response.json()["items"]]


async def test_history_rows_come_by_date_with_their_figures(history, db_client):
    response = await db_client.get("/portfolios/P1/position-history")

    body = response.json()
    assert body["total"] == 4
    assert body["items"][0] == {"security_id": "AAPL", "date": "2024-01-02", "quantity": "10",
                                "cost_local": "1502.50", "cost_base": "1352.25", "realized_local": "0",
                                "realized_base": "0"}
    assert [(r["date"], r["security_id"]) for r in body["items"]] == [
        ("2024-01-02", "AAPL"), ("2024-01-03", "MSFT"), ("2024-01-05", "AAPL"), ("2024-01-10", "AAPL")]


async def test_history_filters_by_security_and_dates_and_pages(history, db_client):
    assert await entries(db_client, security_id="AAPL") == (
        3, [("2024-01-02", "AAPL"), ("2024-01-05", "AAPL"), ("2024-01-10", "AAPL")])
    assert await entries(db_client, **{"from": "2024-01-03", "to": "2024-01-05"}) == (
        2, [("2024-01-03", "MSFT"), ("2024-01-05", "AAPL")])
    assert await entries(db_client, limit=1, offset=3) == (4, [("2024-01-10", "AAPL")])


async def test_history_of_an_unknown_portfolio_is_404_and_bad_dates_422(history, db_client):
    unknown = await db_client.get("/portfolios/NOPE/position-history")
    bad = await db_client.get("/portfolios/P1/position-history", params={"to": "2024-1-5"})

    assert unknown.status_code == 404
    assert (bad.status_code, bad.json()["detail"][0]["field"]) == (422, "to")
