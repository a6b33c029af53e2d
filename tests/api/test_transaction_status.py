"""GET /portfolios/{id}/transactions/{transaction_id}: booked (with versions), cancelled,
dead-lettered (with the reason) or pending (accepted by ingest, not yet applied)."""
from __future__ import annotations

from datetime import date

import pytest

from api.errors import BrokerUnavailable
from tests.api.test_ingest import buy


async def test_a_booked_transaction_answers_its_version_history(rows, db_client):
    await rows.portfolio("P1")
    await rows.transaction("P1", "T1", version=2, security_id="AAPL", quantity="12", price="150.25")
    await rows.transaction_version("P1", "T1", 1, security_id="AAPL", quantity="10", price="150.25")
    await rows.transaction_version("P1", "T1", 2, security_id="AAPL", quantity="12", price="150.25")

    response = await db_client.get("/portfolios/P1/transactions/T1")

    assert response.status_code == 200
    body = response.json()
    assert (body["portfolio_id"], body["transaction_id"], body["status"], body["version"]) == ("P1", "T1", "booked", 2)
    assert [(v["version"], v["status"], v["quantity"], v["seen_at"]) for v in body["versions"]] == [
        (1, "BOOKED", "10", "2024-01-02T12:01:00Z"), (2, "BOOKED", "12", "2024-01-02T12:02:00Z")]
    assert (body["dead_letters"], body["pending_versions"]) == ([], [])


async def test_a_cancelled_transaction_answers_cancelled(rows, db_client):
    await rows.portfolio("P1")
    await rows.transaction("P1", "T1", version=2, status="CANCELLED", type=None, trade_date=None)
    await rows.transaction_version("P1", "T1", 1, quantity="10")
    await rows.transaction_version("P1", "T1", 2, status="CANCELLED", type=None, trade_date=None)

    body = (await db_client.get("/portfolios/P1/transactions/T1")).json()

    assert (body["status"], [v["status"] for v in body["versions"]]) == ("cancelled", ["BOOKED", "CANCELLED"])


async def test_a_dead_lettered_transaction_answers_the_reason_field_and_detail_of_its_letter(rows, db_client):
    await rows.dead_letter("transactions", 7, "invalid_event", key="P9", field="quantity", transaction_id="T1",
                           detail="quantity: must be > 0 for BUY", state="failed_again", attempts=2)
    await rows.dead_letter("transactions", 8, "invalid_event", key="P1", field="price", transaction_id="T1")

    response = await db_client.get("/portfolios/P9/transactions/T1")  # P9 is not even a known portfolio

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["version"], body["versions"]) == ("dead_lettered", None, [])
    assert [(d["reason"], d["field"], d["detail"], d["state"], d["attempts"], d["offset"])
            for d in body["dead_letters"]] == [
        ("invalid_event", "quantity", "quantity: must be > 0 for BUY", "failed_again", 2, 7)]


async def test_an_id_never_seen_is_404(rows, db_client):
    await rows.portfolio("P1")
    await rows.transaction("P1", "T1")

    response = await db_client.get("/portfolios/P1/transactions/T2")

    assert response.status_code == 404
    assert "T2" in response.json()["detail"]


async def test_an_accepted_transaction_is_pending_until_the_sink_sees_its_outcome(
        rows, make_client, api_database_url, fake_publisher):
    client = await make_client(database_url=api_database_url, publisher=fake_publisher)

    accepted = await client.post("/ingest/transactions", json=[buy("T1")])
    pending = await client.get("/portfolios/P1/transactions/T1")

    assert (accepted.status_code, accepted.json()["tracked"]) == (202, True)
    assert pending.status_code == 200
    assert (pending.json()["status"], pending.json()["pending_versions"]) == ("pending", [1])


async def test_a_new_version_accepted_after_a_booked_one_is_pending(
        rows, make_client, api_database_url, fake_publisher):
    await rows.portfolio("P1")
    await rows.transaction("P1", "T1", security_id="AAPL", quantity="10")
    await rows.transaction_version("P1", "T1", 1, security_id="AAPL", quantity="10")
    client = await make_client(database_url=api_database_url, publisher=fake_publisher)

    resent = await client.post("/ingest/transactions", json=[buy("T1")])  # a re-send: nothing new
    after_resend = (await client.get("/portfolios/P1/transactions/T1")).json()
    await client.post("/ingest/transactions", json=[buy("T1", version=2, quantity="12")])
    after_amendment = (await client.get("/portfolios/P1/transactions/T1")).json()

    assert resent.status_code == 202
    assert (after_resend["status"], after_resend["pending_versions"]) == ("booked", [])
    assert await rows.conn.fetchval("SELECT count(*) FROM ingest_receipts WHERE version = 1") == 0
    assert (after_amendment["status"], after_amendment["version"], after_amendment["pending_versions"]) == (
        "pending", 1, [2])


class _BrokerDown:
    async def publish(self, topic, messages):
        raise BrokerUnavailable("broker at 127.0.0.1:9 unavailable")


async def test_a_request_the_broker_refused_leaves_nothing_pending(rows, make_client, api_database_url):
    client = await make_client(database_url=api_database_url, publisher=_BrokerDown())

    refused = await client.post("/ingest/transactions", json=[buy("T1")])
    status = await client.get("/portfolios/P1/transactions/T1")

    assert (refused.status_code, status.status_code) == (503, 404)


async def test_ingest_still_publishes_when_postgresql_is_down_and_says_the_ids_are_not_tracked(
        make_client, fake_publisher):
    client = await make_client(database_url="postgresql://folio@127.0.0.1:9/folio", publisher=fake_publisher,
                               db_timeout=2.0)

    response = await client.post("/ingest/transactions", json=[buy("T1")])

    assert response.status_code == 202
    assert (response.json()["accepted"], response.json()["tracked"]) == (1, False)
    assert [key for _, key, _ in fake_publisher.published] == ["P1"]


@pytest.mark.parametrize("segment", ["prices", "portfolios"])
async def test_reference_data_is_not_tracked(make_client, fake_publisher, segment):
    client = await make_client(publisher=fake_publisher)
    item = ({"security_id": "AAPL", "price_date": "2024-01-02", "price": "1"} if segment == "prices" else
            {"portfolio_id": "P1", "name": "A", "base_currency": "EUR", "open_date": date(2024, 1, 1).isoformat()})

    response = await client.post(f"/ingest/{segment}", json=[item])

    assert (response.status_code, response.json()["tracked"]) == (202, None)
