"""GET /dead-letters: counts by reason and the letters, filtered and paged."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest


@pytest.fixture
async def letters(rows):
    await rows.dead_letter("transactions", 1, "invalid_event", key="P1", field="quantity", transaction_id="T1",
                           raw_value='{"transaction_id": "T1"}', detail="quantity: must be > 0 for BUY")
    await rows.dead_letter("transactions", 2, "unknown_portfolio", key="P9", transaction_id="T2")
    await rows.dead_letter("prices", 3, "key_mismatch", key="MSFT")
    await rows.dead_letter("transactions", 4, "invalid_event", key="P1", field="trade_date")
    await rows.dead_letter("transactions", 5, "invalid_event", partition=1, key="P2", field="currency")
    return rows


async def test_dead_letters_are_counted_by_reason_and_listed_oldest_first(letters, db_client):
    response = await db_client.get("/dead-letters")

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 5
    assert body["by_reason"] == {"invalid_event": 3, "key_mismatch": 1, "unknown_portfolio": 1}
    assert body["by_state"] == {"open": 5}
    assert [(d["source_topic"], d["offset"]) for d in body["items"]] == [
        ("transactions", 1), ("transactions", 2), ("prices", 3), ("transactions", 4), ("transactions", 5)]
    assert body["items"][0] == {
        "source_topic": "transactions", "partition": 0, "offset": 1, "key": "P1",
        "raw_value": '{"transaction_id": "T1"}', "reason": "invalid_event", "field": "quantity",
        "transaction_id": "T1", "detail": "quantity: must be > 0 for BUY",
        "dead_lettered_at": datetime(2024, 1, 2, 12, 0, 1, tzinfo=timezone.utc).isoformat().replace("+00:00", "Z"),
        "raw_encoding": "utf-8", "raw_size": None, "raw_sha256": None, "raw_truncated": False, "key_encoding": "utf-8",
        "state": "open", "attempts": 1, "redrive_id": None, "redriven_at": None, "resolved_at": None,
        "last_failed_at": None,
    }


async def test_dead_letters_filter_by_source_topic_and_reason(letters, db_client):
    by_topic = (await db_client.get("/dead-letters", params={"source_topic": "transactions"})).json()
    by_reason = (await db_client.get("/dead-letters", params={"reason": "invalid_event", "limit": 2})).json()

    assert (by_topic["total"], by_topic["by_reason"]) == (4, {"invalid_event": 3, "unknown_portfolio": 1})
    assert (by_reason["total"], by_reason["by_reason"]) == (3, {"invalid_event": 3})
    assert [d["offset"] for d in by_reason["items"]] == [1, 4]


async def test_no_dead_letters_is_an_empty_answer(rows, db_client):
    response = await db_client.get("/dead-letters")

    body = response.json()
    assert (body["total"], body["by_reason"], body["items"]) == (0, {}, [])


async def test_each_letter_shows_its_state_and_attempts_and_they_are_counted_by_state(rows, db_client):
    await rows.dead_letter("transactions", 1, "unknown_portfolio", key="P1")
    await rows.dead_letter("transactions", 2, "invalid_event", key="P1", state="failed_again", attempts=2,
                           redrive_id="R1")
    await rows.dead_letter("transactions", 3, "unknown_portfolio", key="P1", state="resolved", redrive_id="R1")

    body = (await db_client.get("/dead-letters")).json()
    failed = (await db_client.get("/dead-letters", params={"state": "failed_again"})).json()

    assert body["by_state"] == {"failed_again": 1, "open": 1, "resolved": 1}
    assert [(d["offset"], d["state"], d["attempts"], d["redrive_id"]) for d in body["items"]] == [
        (1, "open", 1, None), (2, "failed_again", 2, "R1"), (3, "resolved", 1, "R1")]
    assert (failed["total"], failed["by_reason"], [d["offset"] for d in failed["items"]]) == (
        1, {"invalid_event": 1}, [2])


async def test_an_unknown_state_is_422_naming_the_parameter(rows, db_client):
    response = await db_client.get("/dead-letters", params={"state": "closed"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "state"
