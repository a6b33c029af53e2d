"""Live reads with several positions workers listed: any reachable one serves (it routes to the owner)."""
from __future__ import annotations

from tests.api.live_state import live_answer, lot, position

UNREACHABLE = "http://127.0.0.1:9"


def p1_live() -> dict:
    return live_answer("P1", positions=[position("P1", "AAPL", lot("T1", "2024-01-02", 3, "10", "1502.50"))])


async def test_live_reads_go_to_the_next_listed_worker_when_one_is_unreachable(make_client, start_worker_stub):
    client = await make_client(worker_url=f"{UNREACHABLE},{start_worker_stub({'P1': p1_live()})}")

    response = await client.get("/portfolios/P1/positions")

    assert response.status_code == 200
    assert [p["quantity"] for p in response.json()["positions"]] == ["10"]


async def test_live_reads_are_503_naming_every_worker_when_none_is_reachable(make_client):
    client = await make_client(worker_url=f"{UNREACHABLE},http://127.0.0.1:10")

    response = await client.get("/portfolios/P1/positions")

    assert response.status_code == 503
    assert "127.0.0.1:9" in response.json()["detail"] and "127.0.0.1:10" in response.json()["detail"]


async def test_a_worker_that_answers_is_not_skipped_even_with_an_error(make_client, start_worker_stub):
    # A rebalancing worker's 503 is the answer: the next worker would be rebalancing too.
    client = await make_client(worker_url=f"{start_worker_stub(status={'P1': 503})},"
                                          f"{start_worker_stub({'P1': p1_live()})}")

    response = await client.get("/portfolios/P1/positions")

    assert response.status_code == 503
    assert "HTTP 503" in response.json()["detail"]


async def test_readiness_asks_the_next_listed_worker_when_one_is_unreachable(make_client, start_worker_stub):
    client = await make_client(worker_url=f"{UNREACHABLE},{start_worker_stub()}")

    response = await client.get("/health/ready")

    assert response.json()["checks"]["worker"] == "ok"
