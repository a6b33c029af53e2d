"""A caller scoped to P1 learns nothing about P2: not its existence, its rows, or its dead letters."""
from __future__ import annotations

from datetime import date

import pytest

from api.auth.settings import AuthSettings
from tests.api.auth.test_access_matrix import ENDPOINTS, P2_READS, answer, seed
from tests.api.live_state import live_answer, lot, position

ENV_KEYS = "k-read=read,k-read-p1=read:P1,k-write-p1=write:P1"
SCOPED = {"Authorization": "Bearer k-read-p1"}
UNSCOPED = {"Authorization": "Bearer k-read"}


@pytest.fixture
async def client(make_client, api_database_url, rows, start_worker_stub, fake_publisher):
    await seed(rows)
    await rows.dead_letter("prices", 10, "invalid_event", key="AAPL")
    await rows.dead_letter("instruments", 11, "invalid_event", key="AAPL")
    await rows.dead_letter("transactions", 12, "unknown_portfolio", key="P2", state="redriven")
    worker = start_worker_stub({pid: live_answer(pid, positions=[
        position(pid, "AAPL", lot("T1", "2024-01-02", 1, "10", "1502.50"))]) for pid in ("P1", "P2")})
    client = await make_client(database_url=api_database_url, worker_url=worker, publisher=fake_publisher,
                               auth=AuthSettings(api_keys=ENV_KEYS))
    client.published = fake_publisher.published
    return client


@pytest.mark.parametrize("endpoint", P2_READS)
async def test_a_p1_key_gets_for_p2_exactly_the_answer_of_a_portfolio_that_does_not_exist(client, endpoint):
    path = ENDPOINTS[endpoint][1]
    nope = path.replace("/P2", "/P-NOPE")

    async def get(where: str, headers: dict[str, str]):
        return await answer(client, "GET", where, None, headers)

    p2 = await get(path, SCOPED)
    nope_scoped = await get(nope, SCOPED)
    nope_unscoped = await get(nope, UNSCOPED)
    p2_unscoped = await get(path, UNSCOPED)

    assert p2_unscoped.status_code == 200  # P2 is there: only the scope hides it
    assert p2.status_code == nope_scoped.status_code == nope_unscoped.status_code == 404
    assert p2.text.replace("P2", "P-NOPE") == nope_scoped.text


async def test_a_p1_key_lists_only_p1_and_counts_only_p1(client):
    scoped = (await client.get("/portfolios", headers=SCOPED)).json()
    unscoped = (await client.get("/portfolios", headers=UNSCOPED)).json()

    assert [p["portfolio_id"] for p in scoped["items"]] == ["P1"] and scoped["total"] == 1
    assert [p["portfolio_id"] for p in unscoped["items"]] == ["P1", "P2"] and unscoped["total"] == 2


async def test_a_p1_key_sees_only_p1s_dead_letters_and_counts_and_no_market_data_letters(client):
    scoped = (await client.get("/dead-letters", headers=SCOPED)).json()
    unscoped = (await client.get("/dead-letters", headers=UNSCOPED)).json()

    assert [(d["source_topic"], d["key"]) for d in scoped["items"]] == [("transactions", "P1")]
    assert (scoped["total"], scoped["by_reason"], scoped["by_state"]) == (1, {"invalid_event": 1}, {"open": 1})
    assert unscoped["total"] == 5
    assert unscoped["by_reason"] == {"invalid_event": 4, "unknown_portfolio": 1}
    for query in ("?source_topic=prices", "?source_topic=instruments", "?reason=unknown_portfolio",
                  "?state=redriven"):
        filtered = (await client.get("/dead-letters" + query, headers=SCOPED)).json()
        assert (filtered["total"], filtered["items"], filtered["by_state"]) == (0, [], {}), query


def buy(transaction_id: str, portfolio_id: str) -> dict:
    return {"transaction_id": transaction_id, "portfolio_id": portfolio_id, "type": "BUY",
            "trade_date": "2024-01-02", "security_id": "AAPL", "quantity": "1", "price": "1", "currency": "USD"}


async def test_a_p1_write_key_posting_one_p2_item_among_p1_items_is_refused_naming_it_and_nothing_is_published(
        client):
    items = [buy("T1", "P1"), buy("T2", "P1"), buy("T3", "P2"), buy("T4", "P1")]

    response = await client.post("/ingest/transactions", json=items, headers={"Authorization": "Bearer k-write-p1"})

    assert response.status_code == 403
    assert [(d["item"], d["field"], d["reason"]) for d in response.json()["detail"]] == [
        (2, "portfolio_id", "out_of_scope")]
    assert client.published == []
