"""POST /ingest/*: all-or-nothing validation, then one message per event."""
from __future__ import annotations

import json

from schemas.decode import decode_event


def buy(transaction_id: str, **fields) -> dict:
    return {"transaction_id": transaction_id, "portfolio_id": "P1", "type": "BUY", "trade_date": "2024-01-02",
            "security_id": "AAPL", "quantity": "10", "price": "150.25", "currency": "USD", **fields}


async def test_a_bad_transaction_among_good_ones_is_named_by_item_and_field_and_nothing_is_published(
        make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)
    items = [buy("T1"), buy("T2", quantity="-5"), buy("T3"), buy("T4", trade_date="2024-02-30")]

    response = await client.post("/ingest/transactions", json=items)

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [(d["item"], d["field"], d["reason"]) for d in detail] == [
        (1, "quantity", "invalid_event"), (3, "trade_date", "invalid_event")]
    assert all(d["message"] for d in detail)
    assert fake_publisher.published == []


async def test_valid_transactions_are_published_keyed_by_portfolio_and_answered_202_with_the_count(
        make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)

    response = await client.post("/ingest/transactions", json=[buy("T1"), buy("T2", portfolio_id="P2")])

    assert response.status_code == 202
    assert response.json() == {"accepted": 2}
    assert [(topic, key) for topic, key, _ in fake_publisher.published] == [
        ("transactions", "P1"), ("transactions", "P2")]


async def test_json_numbers_are_published_as_exact_decimal_strings(make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)
    body = b'[{"transaction_id": "T1", "portfolio_id": "P1", "type": "BUY", "trade_date": "2024-01-02",' \
           b' "security_id": "AAPL", "quantity": 3, "price": 0.1000,' \
           b' "fees": 1.10, "currency": "USD", "extra": "ignored"}]'

    response = await client.post("/ingest/transactions", content=body,
                                 headers={"content-type": "application/json"})

    assert response.status_code == 202
    [(_, _, value)] = fake_publisher.published
    published = json.loads(value)
    assert published["price"] == "0.1000"
    assert published["fees"] == "1.10"
    assert published["quantity"] == "3"
    assert "extra" not in published


async def test_every_published_value_decodes_back_to_the_same_event_under_its_key(make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)
    cancellation = {"transaction_id": "T9", "portfolio_id": "P1", "version": 2, "status": "CANCELLED"}

    response = await client.post("/ingest/transactions", json=[buy("T1", fx_rate="1.0845"), cancellation])

    assert response.status_code == 202
    for topic, key, value in fake_publisher.published:
        decoded = decode_event(topic, key, value)
        assert decoded.transaction_id in {"T1", "T9"}
    assert decode_event("transactions", "P1", fake_publisher.published[1][2]).status == "CANCELLED"


async def test_items_may_come_wrapped_in_an_items_object(make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)
    portfolio = {"portfolio_id": "P1", "name": "Growth", "base_currency": "EUR", "open_date": "2024-01-01"}

    response = await client.post("/ingest/portfolios", json={"items": [portfolio]})

    assert response.status_code == 202
    assert response.json() == {"accepted": 1}
    [(topic, key, value)] = fake_publisher.published
    assert (topic, key) == ("portfolios", "P1")
    assert json.loads(value)["cost_method"] == "FIFO"


async def test_fx_rates_are_published_to_fx_rates_keyed_by_their_pair(make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)
    rate = {"from_currency": "EUR", "to_currency": "USD", "rate_date": "2024-01-02", "rate": "1.0945"}

    response = await client.post("/ingest/fx-rates", json=[rate])

    assert response.status_code == 202
    assert [(t, k) for t, k, _ in fake_publisher.published] == [("fx_rates", "EUR/USD")]


async def test_prices_and_instruments_are_keyed_by_security(make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)

    prices = await client.post("/ingest/prices", json=[{"security_id": "AAPL", "price_date": "2024-01-02",
                                                        "price": "185.64"}])
    instruments = await client.post("/ingest/instruments", json=[{"security_id": "AAPL", "name": "Apple",
                                                                  "currency": "USD"}])

    assert (prices.status_code, instruments.status_code) == (202, 202)
    assert [(t, k) for t, k, _ in fake_publisher.published] == [("prices", "AAPL"), ("instruments", "AAPL")]


async def test_an_item_that_is_not_an_object_is_named_with_no_field(make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)

    response = await client.post("/ingest/prices", json=[42])

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"item": 0, "field": None, "reason": "invalid_event", "message": "value is a JSON number, not an object"}]


async def test_a_malformed_json_body_is_422_and_nothing_is_published(make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)

    response = await client.post("/ingest/transactions", content=b'[{"transaction_id": ',
                                 headers={"content-type": "application/json"})

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["reason"] == "invalid_json" and problem["item"] is None
    assert fake_publisher.published == []


async def test_a_body_that_is_neither_a_list_nor_items_is_422(make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)

    response = await client.post("/ingest/portfolios", json={"portfolio_id": "P1"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["reason"] == "invalid_body"


async def test_an_empty_list_is_accepted_with_nothing_published(make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)

    response = await client.post("/ingest/prices", json=[])

    assert (response.status_code, response.json()) == (202, {"accepted": 0})
    assert fake_publisher.published == []


async def test_an_unreachable_broker_answers_503_naming_the_broker(make_client):
    client = await make_client(kafka_bootstrap="127.0.0.1:9", broker_timeout=3.0)

    response = await client.post("/ingest/prices", json=[{"security_id": "AAPL", "price_date": "2024-01-02",
                                                         "price": "185.64"}])

    assert response.status_code == 503
    assert response.json()["service"] == "broker"
    assert "127.0.0.1:9" in response.json()["detail"]


async def test_the_app_starts_and_stops_with_the_broker_down_and_ingestion_says_503(make_client):
    client = await make_client(kafka_bootstrap="127.0.0.1:9", broker_timeout=2.0)
    app = client.app

    async with app.router.lifespan_context(app):
        live = await client.get("/health/live")
        ingest = await client.post("/ingest/portfolios", json=[
            {"portfolio_id": "P1", "name": "Growth", "base_currency": "EUR", "open_date": "2024-01-01"}])

    assert live.status_code == 200
    assert ingest.status_code == 503
