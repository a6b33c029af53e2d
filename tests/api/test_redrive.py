"""POST /dead-letters/redrive: `folio dlq redrive` for admins over HTTP.
(Its audit row: tests/api/test_audit.py.)"""
from __future__ import annotations

import json
import logging

import pytest

from api.auth.settings import AuthSettings
from folio.dlq import DEAD_LETTERS_TOPIC, redrive_run
from folio.produce import publish
from folio.topics import PACKAGED_TOPICS_FILE, apply_topics, load_topics

KEYS = "k-read=read,k-write=write,k-admin=admin"


def letter(offset: int, raw_value: str) -> tuple[str, bytes]:
    """A dead letter of P1's transaction at `offset` (key, value)."""
    return "P1", json.dumps({"source_topic": "transactions", "partition": 0, "offset": offset, "key": "P1",
                             "raw_value": raw_value, "reason": "invalid_json", "detail": "rejected"}).encode()


@pytest.fixture
async def folio_broker(start_broker) -> str:
    """A fresh broker with Folio's topics: its dead letters are this test's alone."""
    bootstrap = start_broker()
    await apply_topics(bootstrap, load_topics(PACKAGED_TOPICS_FILE))
    return bootstrap


async def test_a_redrive_over_http_and_one_from_the_cli_share_progress(make_client, folio_broker):
    bootstrap = folio_broker
    await publish(bootstrap, DEAD_LETTERS_TOPIC, [letter(3, "a"), letter(4, "b")])
    client = await make_client(kafka_bootstrap=bootstrap, auth=AuthSettings(api_keys=KEYS))

    first = await client.post("/dead-letters/redrive", headers={"X-API-Key": "k-admin"})
    await publish(bootstrap, DEAD_LETTERS_TOPIC, [letter(5, "c")])
    from_cli = await redrive_run(bootstrap)
    again = await client.post("/dead-letters/redrive", headers={"X-API-Key": "k-admin"})

    assert first.status_code == 202
    assert (first.json()["published"], first.json()["refused"]) == (2, [])
    assert first.json()["redrive_id"].startswith("R-")
    assert (from_cli.published, from_cli.letters) == (1, [("transactions", 0, 5)])
    assert (again.status_code, again.json()["published"]) == (202, 0)


async def test_a_redrive_needs_the_admin_role(make_client):
    client = await make_client(auth=AuthSettings(api_keys=KEYS))

    answers = [await client.post("/dead-letters/redrive", headers={"X-API-Key": k}) for k in ("k-read", "k-write")]

    assert [a.status_code for a in answers] == [403, 403]
    assert (await client.post("/dead-letters/redrive")).status_code == 401


async def test_a_redrive_with_the_broker_down_is_503_naming_the_broker(make_client):
    client = await make_client(kafka_bootstrap="127.0.0.1:9")

    response = await client.post("/dead-letters/redrive")

    assert response.status_code == 503
    assert response.json()["service"] == "broker"
    assert "127.0.0.1:9" in response.json()["detail"]


async def test_a_redrive_with_postgresql_down_is_503_and_the_attempt_is_logged_on_the_audit_logger(
        make_client, folio_broker, caplog):
    await publish(folio_broker, DEAD_LETTERS_TOPIC, [letter(3, "a")])
    client = await make_client(kafka_bootstrap=folio_broker, database_url="postgresql://folio@127.0.0.1:9/folio")
    caplog.set_level(logging.WARNING, logger="folio.audit")

    response = await client.post("/dead-letters/redrive")

    assert (response.status_code, response.json()["service"]) == (503, "database")
    [logged] = [r for r in caplog.records if r.name == "folio.audit"]
    record = json.loads(logged.getMessage().split(": ", 1)[1])
    assert (record["action"], record["endpoint"], record["detail"]) == (
        "dead_letters.redrive", "POST /dead-letters/redrive", {"error": "redrive not recorded: ConnectionRefusedError"})
