"""GET /portfolios and /portfolios/{id} from PostgreSQL."""
from __future__ import annotations

from datetime import date


async def test_portfolios_are_listed_by_id_a_page_at_a_time_with_the_total(rows, db_client):
    for pid in ("P3", "P1", "P2"):
        await rows.portfolio(pid)

    first = await db_client.get("/portfolios", params={"limit": 2})
    second = await db_client.get("/portfolios", params={"limit": 2, "offset": 2})

    assert first.status_code == 200
    assert first.json()["total"] == 3
    assert [p["portfolio_id"] for p in first.json()["items"]] == ["P1", "P2"]
    assert [p["portfolio_id"] for p in second.json()["items"]] == ["P3"]


async def test_a_portfolio_is_read_by_id(rows, db_client):
    await rows.portfolio("P1", name="Growth", base_currency="EUR", cost_method="HIFO",
                         open_date=date(2023, 6, 1), benchmark_id="SPY")

    response = await db_client.get("/portfolios/P1")

    assert response.status_code == 200
    assert response.json() == {"portfolio_id": "P1", "name": "Growth", "base_currency": "EUR",
                               "cost_method": "HIFO", "open_date": "2023-06-01", "benchmark_id": "SPY"}


async def test_an_unknown_portfolio_is_404(rows, db_client):
    response = await db_client.get("/portfolios/NOPE")

    assert response.status_code == 404
    assert "NOPE" in response.json()["detail"]


async def test_a_limit_over_1000_is_422_naming_limit(rows, db_client):
    response = await db_client.get("/portfolios", params={"limit": 1001})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "limit"


async def test_a_negative_offset_is_422_naming_offset(rows, db_client):
    response = await db_client.get("/portfolios", params={"offset": -1})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "offset"


async def test_an_id_with_a_nul_character_is_422_not_a_server_error(rows, db_client):
    response = await db_client.get("/portfolios/P%001")

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "portfolio_id"
