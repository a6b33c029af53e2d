"""POST /ingest/*: all-or-nothing validation, then one message per event."""
from __future__ import annotations

import json

import pytest

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
    assert response.json()["accepted"] == 2
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
    assert response.json()["accepted"] == 1
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

    assert (response.status_code, response.json()["accepted"], response.json()["ids"]) == (202, 0, [])
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


# --- duplicate ids within one request (issue 7, item 7) -----------------------

async def test_two_items_with_the_same_transaction_id_are_422_naming_both_items_and_nothing_is_published(
        make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)
    deposit = {"portfolio_id": "P1", "type": "DEPOSIT", "trade_date": "2024-01-02", "currency": "USD"}
    items = [{**deposit, "transaction_id": "T1", "amount": "500"}, buy("T2"),
             {**deposit, "transaction_id": "T1", "amount": "700"}]

    response = await client.post("/ingest/transactions", json=items)

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert (problem["item"], problem["items"], problem["field"], problem["reason"]) == (
        2, [0, 2], "transaction_id", "duplicate_id")
    assert "T1" in problem["message"]
    assert fake_publisher.published == []


async def test_versions_of_one_transaction_in_increasing_order_are_one_ordered_sequence(
        make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)
    cancellation = {"transaction_id": "T1", "portfolio_id": "P1", "version": 3, "status": "CANCELLED"}

    response = await client.post("/ingest/transactions",
                                 json=[buy("T1"), buy("T1", version=2, quantity="12"), cancellation])

    assert response.status_code == 202
    assert [json.loads(v)["version"] for _, _, v in fake_publisher.published] == [1, 2, 3]


async def test_a_version_not_above_an_earlier_item_of_the_same_id_is_422_on_version(make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)

    response = await client.post("/ingest/transactions", json=[buy("T1", version=2), buy("T1", version=1)])

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert (problem["item"], problem["items"], problem["field"], problem["reason"]) == (
        1, [0, 1], "version", "duplicate_id")
    assert fake_publisher.published == []


async def test_the_same_transaction_id_in_two_portfolios_is_two_transactions(make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)

    response = await client.post("/ingest/transactions", json=[buy("T1"), buy("T1", portfolio_id="P2")])

    assert response.status_code == 202


@pytest.mark.parametrize(("segment", "first", "second", "field"), [
    ("portfolios", {"portfolio_id": "P1", "name": "A", "base_currency": "EUR", "open_date": "2024-01-01"},
     {"portfolio_id": "P1", "name": "B", "base_currency": "EUR", "open_date": "2024-01-01"}, "portfolio_id"),
    ("instruments", {"security_id": "AAPL", "name": "Apple", "currency": "USD"},
     {"security_id": "AAPL", "name": "Apple Inc.", "currency": "USD"}, "security_id"),
    ("prices", {"security_id": "AAPL", "price_date": "2024-01-02", "price": "185.64"},
     {"security_id": "AAPL", "price_date": "2024-01-02", "price": "185.00"}, "price_date"),
    ("fx-rates", {"from_currency": "EUR", "to_currency": "USD", "rate_date": "2024-01-02", "rate": "1.09"},
     {"from_currency": "EUR", "to_currency": "USD", "rate_date": "2024-01-02", "rate": "1.10"}, "rate_date"),
])
async def test_a_reference_item_repeating_an_earlier_id_is_422_naming_both_items(
        make_client, fake_publisher, segment, first, second, field):
    client = await make_client(publisher=fake_publisher)

    response = await client.post(f"/ingest/{segment}", json=[first, second])

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert (problem["item"], problem["items"], problem["field"], problem["reason"]) == (
        1, [0, 1], field, "duplicate_id")
    assert fake_publisher.published == []


async def test_prices_of_one_security_on_different_dates_and_inverse_fx_pairs_are_distinct(
        make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)

    prices = await client.post("/ingest/prices", json=[
        {"security_id": "AAPL", "price_date": "2024-01-02", "price": "185.64"},
        {"security_id": "AAPL", "price_date": "2024-01-03", "price": "184.25"}])
    rates = await client.post("/ingest/fx-rates", json=[
        {"from_currency": "EUR", "to_currency": "USD", "rate_date": "2024-01-02", "rate": "1.09"},
        {"from_currency": "USD", "to_currency": "EUR", "rate_date": "2024-01-02", "rate": "0.92"}])

    assert (prices.status_code, rates.status_code) == (202, 202)


# --- the 202 answer names what was accepted ------------------------------------

async def test_the_202_answer_lists_the_accepted_ids_in_request_order(make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher)

    transactions = await client.post("/ingest/transactions", json=[buy("T1"), buy("T2", version=2)])
    prices = await client.post("/ingest/prices", json=[
        {"security_id": "AAPL", "price_date": "2024-01-02", "price": "185.64"}])
    rates = await client.post("/ingest/fx-rates", json=[
        {"from_currency": "EUR", "to_currency": "USD", "rate_date": "2024-01-02", "rate": "1.09"}])

    assert transactions.json()["accepted"] == 2
    assert transactions.json()["ids"] == [
        {"portfolio_id": "P1", "transaction_id": "T1", "version": 1},
        {"portfolio_id": "P1", "transaction_id": "T2", "version": 2}]
    assert prices.json()["ids"] == [{"security_id": "AAPL", "price_date": "2024-01-02"}]
    assert rates.json()["ids"] == [{"from_currency": "EUR", "to_currency": "USD", "rate_date": "2024-01-02"}]


# --- body size limit ------------------------------------------------------------

@pytest.mark.parametrize("segment", ["portfolios", "instruments", "transactions", "prices", "fx-rates"])
async def test_a_body_longer_than_the_limit_by_its_content_length_is_413_on_every_ingest_endpoint(
        make_client, fake_publisher, segment):
    client = await make_client(publisher=fake_publisher, max_body_bytes=1000)
    items = [buy(f"T{n}") for n in range(20)]  # about 3 kB

    response = await client.post(f"/ingest/{segment}", json=items)

    assert response.status_code == 413
    assert "1000" in response.json()["detail"]
    assert fake_publisher.published == []


async def test_a_streamed_body_without_content_length_is_cut_off_at_the_limit_with_413(
        make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher, max_body_bytes=1000)
    chunk = json.dumps(buy("T1")).encode()
    sent = []

    async def body():
        yield b"["
        for n in range(100):
            sent.append(n)
            yield (b"," if n else b"") + chunk
        yield b"]"

    response = await client.post("/ingest/transactions", content=body(),
                                 headers={"content-type": "application/json"})

    assert response.status_code == 413
    assert fake_publisher.published == []
    assert len(sent) < 100  # the API stopped reading, it did not buffer the whole body


async def test_a_body_at_the_limit_is_read(make_client, fake_publisher):
    body = json.dumps([buy("T1")]).encode()
    client = await make_client(publisher=fake_publisher, max_body_bytes=len(body))

    response = await client.post("/ingest/transactions", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 202
