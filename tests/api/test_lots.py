"""GET /portfolios/{id}/positions/{security_id}/lots: open lots, live or from PostgreSQL."""
from __future__ import annotations

from datetime import date

from tests.api.live_state import live_answer, lot, position


def p1_live() -> dict:
    return live_answer("P1", positions=[
        position("P1", "AAPL", lot("T2", "2024-01-05", 7, "5", "800.00", "720.00"),
                 lot("T1", "2024-01-02", 3, "10", "1502.50", "1352.25"),
                 lot("T5", "2024-01-05", 5, "1", "161")),
        position("P1", "DIVONLY", listed=False),
    ])


async def test_live_lots_come_in_open_date_then_arrival_order(make_client, start_worker_stub):
    client = await make_client(worker_url=start_worker_stub({"P1": p1_live()}))

    response = await client.get("/portfolios/P1/positions/AAPL/lots")

    assert response.status_code == 200
    body = response.json()
    assert (body["portfolio_id"], body["security_id"], body["source"], body["total"]) == ("P1", "AAPL", "live", 3)
    assert body["lots"] == [
        {"transaction_id": "T1", "open_date": "2024-01-02", "quantity": "10", "cost_local": "1502.50",
         "cost_base": "1352.25"},
        {"transaction_id": "T5", "open_date": "2024-01-05", "quantity": "1", "cost_local": "161",
         "cost_base": "161"},
        {"transaction_id": "T2", "open_date": "2024-01-05", "quantity": "5", "cost_local": "800.00",
         "cost_base": "720.00"},
    ]


async def test_lots_of_a_security_the_portfolio_never_traded_are_404(make_client, start_worker_stub):
    client = await make_client(worker_url=start_worker_stub({"P1": p1_live()}))

    unknown = await client.get("/portfolios/P1/positions/MSFT/lots")
    unlisted = await client.get("/portfolios/P1/positions/DIVONLY/lots")
    no_portfolio = await client.get("/portfolios/NOPE/positions/AAPL/lots")

    assert (unknown.status_code, unlisted.status_code, no_portfolio.status_code) == (404, 404, 404)


async def test_lots_from_the_database_on_request(rows, make_client, api_database_url):
    await rows.portfolio("P1")
    await rows.position("P1", "AAPL", quantity="15", cost_local="2302.50")
    await rows.lot("P1", "AAPL", "T2", date(2024, 1, 5), quantity="5", cost_local="800.00", arrival=7)
    await rows.lot("P1", "AAPL", "T1", date(2024, 1, 2), quantity="10", cost_local="1502.50", arrival=3)
    client = await make_client(database_url=api_database_url)

    response = await client.get("/portfolios/P1/positions/AAPL/lots", params={"source": "db"})
    unknown = await client.get("/portfolios/P1/positions/MSFT/lots", params={"source": "db"})

    assert response.status_code == 200
    assert response.json()["source"] == "db"
    assert [(lot["transaction_id"], lot["quantity"]) for lot in response.json()["lots"]] == [("T1", "10"), ("T2", "5")]
    assert unknown.status_code == 404


async def test_an_unknown_source_is_422_naming_source(make_client):
    client = await make_client()

    response = await client.get("/portfolios/P1/positions/AAPL/lots", params={"source": "cache"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "source"
