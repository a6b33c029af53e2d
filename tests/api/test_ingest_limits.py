"""POST /ingest/*: out-of-range strings, dates and decimals are a 422 naming the item and field."""
from __future__ import annotations

import json

from tests.api.test_ingest import buy


def deposit(transaction_id: str, **fields) -> dict:
    return {"transaction_id": transaction_id, "portfolio_id": "P1", "type": "DEPOSIT", "trade_date": "2024-01-02",
            "amount": "100", "currency": "USD", **fields}


async def post(client, path: str, body: str):
    return await client.post(path, content=body.encode(), headers={"content-type": "application/json"})


def named(response) -> list[tuple]:
    return [(d["item"], d["field"], d["reason"]) for d in response.json()["detail"]]


async def test_item1_a_nul_in_a_transaction_id_is_422_naming_the_item_and_field(make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)
    body = json.dumps([deposit("T1"), deposit("a\u0000b")])  # the JSON escape \u0000

    response = await post(client, "/ingest/transactions", body)

    assert response.status_code == 422
    assert named(response) == [(1, "transaction_id", "invalid_event")]
    assert fake_publisher.published == []


async def test_a_lone_surrogate_escape_is_422_naming_the_item_and_field(make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)
    body = '[{"security_id": "S\\ud800", "name": "x", "currency": "EUR"}]'

    response = await post(client, "/ingest/instruments", body)

    assert response.status_code == 422
    assert named(response) == [(0, "security_id", "invalid_event")]
    response.json()["detail"][0]["message"].encode("utf-8")


async def test_item3_deposits_at_extreme_dates_are_422_naming_each_item(make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)
    items = [deposit("D1", trade_date="9999-12-31"), deposit("D2"), deposit("D3", trade_date="0001-01-01")]

    response = await client.post("/ingest/transactions", json=items)

    assert response.status_code == 422
    assert named(response) == [(0, "trade_date", "invalid_event"), (2, "trade_date", "invalid_event")]
    assert fake_publisher.published == []


async def test_item4_huge_quantities_and_prices_are_422_naming_the_field(make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)
    items = [buy("T1", quantity="1e99"), buy("T2", quantity="9e98", price="9e98"), buy("T3", price="9e98")]

    response = await client.post("/ingest/transactions", json=items)

    assert response.status_code == 422
    assert named(response) == [(0, "quantity", "invalid_event"), (1, "quantity", "invalid_event"),
                               (2, "price", "invalid_event")]
    assert "1E+8" in response.json()["detail"][0]["message"]
