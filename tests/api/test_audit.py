"""The audit log: every accepted write leaves one row (who, what, from where),
readable by admins at GET /audit; a write PostgreSQL cannot audit is logged."""
from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timezone

import pytest

from api.auth.settings import AuthSettings
from folio.dlq import DEAD_LETTERS_TOPIC
from folio.produce import publish
from tests.api.test_redrive import folio_broker, letter  # noqa: F401 - fixture: a broker with Folio's topics

WRITE, ADMIN = "k1", "k2"
KEYS = f"{WRITE}=write,{ADMIN}=admin"
CLOSED_PORT_DATABASE = "postgresql://folio@127.0.0.1:9/folio"  # discard port: nothing answers


def env_key_name(key: str) -> str:
    """How the audit log names a FOLIO_API_KEYS key: env- and its fingerprint (computed here on its own)."""
    return "env-" + hashlib.sha256(key.encode()).hexdigest()[:8]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def buy(transaction_id: str) -> dict:
    return {"transaction_id": transaction_id, "portfolio_id": "P1", "type": "BUY", "trade_date": "2024-01-02",
            "security_id": "AAPL", "quantity": "10", "price": "150.25", "currency": "USD"}


def seen(entry: dict) -> tuple:
    return (entry["actor"], entry["auth_method"], entry["role"], entry["action"], entry["endpoint"],
            entry["item_count"], entry["ids"], entry["client"], entry["detail"])


async def test_a_sequence_of_writes_is_read_back_newest_first_with_who_what_and_from_where(
        make_client, fake_publisher, api_database_url, rows, folio_broker, tmp_path):
    await publish(folio_broker, DEAD_LETTERS_TOPIC, [letter(7, '{"transaction_id": "T9"')])
    client = await make_client(database_url=api_database_url, publisher=fake_publisher, kafka_bootstrap=folio_broker,
                               auth=AuthSettings(api_keys=KEYS, keys_file=tmp_path / "keys.json"))

    two = await client.post("/ingest/transactions", json=[buy("T1"), buy("T2")], headers=bearer(WRITE))
    price = await client.post("/ingest/prices", json=[{"security_id": "AAPL", "price_date": "2024-01-02",
                                                       "price": "185.64"}], headers=bearer(WRITE))
    refused = await client.post("/ingest/transactions", json=[buy("T3") | {"quantity": "-5"}],
                                headers=bearer(WRITE))
    created = await client.post("/keys", json={"name": "ops-reader", "role": "read", "portfolios": ["P1"]},
                                headers=bearer(ADMIN))
    revoked = await client.delete("/keys/ops-reader", headers=bearer(ADMIN))
    redrive = await client.post("/dead-letters/redrive", headers=bearer(ADMIN))

    assert [two.status_code, price.status_code, refused.status_code, created.status_code, revoked.status_code,
            redrive.status_code] == [202, 202, 422, 201, 204, 202]
    assert (two.json()["audited"], price.json()["audited"], created.json()["audited"],
            revoked.headers["Folio-Audited"], redrive.json()["audited"]) == (True, True, True, "true", True)
    redrive_id = redrive.json()["redrive_id"]
    assert (redrive.json()["published"], redrive.json()["refused"]) == (1, [])

    log = await client.get("/audit", headers=bearer(ADMIN))

    assert log.status_code == 200
    body = log.json()
    writer, admin = env_key_name(WRITE), env_key_name(ADMIN)
    assert (body["total"], body["limit"], body["offset"]) == (5, 100, 0)
    assert [seen(e) for e in body["items"]] == [
        (admin, "api_key", "admin", "dead_letters.redrive", "POST /dead-letters/redrive", 1,
         [{"source_topic": "transactions", "partition": 0, "offset": 7}], "127.0.0.1", {"redrive_id": redrive_id}),
        (admin, "api_key", "admin", "keys.revoke", "DELETE /keys/ops-reader", 1, ["ops-reader"], "127.0.0.1", None),
        (admin, "api_key", "admin", "keys.create", "POST /keys", 1, ["ops-reader"], "127.0.0.1",
         {"role": "read", "portfolios": ["P1"]}),
        (writer, "api_key", "write", "ingest", "POST /ingest/prices", 1,
         [{"security_id": "AAPL", "price_date": "2024-01-02"}], "127.0.0.1", None),
        (writer, "api_key", "write", "ingest", "POST /ingest/transactions", 2,
         [{"portfolio_id": "P1", "transaction_id": "T1", "version": 1},
          {"portfolio_id": "P1", "transaction_id": "T2", "version": 1}], "127.0.0.1", None),
    ]
    ats = [datetime.fromisoformat(e["at"]) for e in body["items"]]
    assert ats == sorted(ats, reverse=True)
    assert created.json()["key"] not in log.text  # the key itself is never recorded


async def test_the_audit_log_is_for_admins_only(make_client, api_database_url, rows):
    client = await make_client(database_url=api_database_url, auth=AuthSettings(api_keys=KEYS))

    assert (await client.get("/audit", headers=bearer(WRITE))).status_code == 403
    anonymous = await client.get("/audit")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")


async def test_with_postgresql_unreachable_an_ingest_is_published_and_its_audit_record_is_logged_whole(
        make_client, fake_publisher, caplog):
    client = await make_client(database_url=CLOSED_PORT_DATABASE, publisher=fake_publisher,
                               auth=AuthSettings(api_keys=KEYS))
    caplog.set_level(logging.WARNING, logger="folio.audit")

    response = await client.post("/ingest/transactions", json=[buy("T1")], headers=bearer(WRITE))

    assert response.status_code == 202
    assert (response.json()["tracked"], response.json()["audited"]) == (False, False)
    assert len(fake_publisher.published) == 1
    [logged] = [r for r in caplog.records if r.name == "folio.audit"]
    assert logged.levelno == logging.WARNING
    record = json.loads(logged.getMessage().split(": ", 1)[1])
    assert record == {"actor": env_key_name(WRITE), "auth_method": "api_key", "role": "write", "action": "ingest",
                      "endpoint": "POST /ingest/transactions", "item_count": 1,
                      "ids": [{"portfolio_id": "P1", "transaction_id": "T1", "version": 1}],
                      "client": "127.0.0.1", "detail": None}


async def test_a_refused_ingest_leaves_no_audit_row(make_client, fake_publisher, api_database_url, rows):
    client = await make_client(database_url=api_database_url, publisher=fake_publisher)

    response = await client.post("/ingest/transactions", json=[buy("T1") | {"trade_date": "2024-02-30"}])

    assert response.status_code == 422
    assert await rows.conn.fetchval("SELECT count(*) FROM audit_log") == 0


async def test_with_auth_off_writes_are_audited_as_anonymous(make_client, fake_publisher, api_database_url, rows):
    client = await make_client(database_url=api_database_url, publisher=fake_publisher)

    await client.post("/ingest/fx-rates", json=[{"from_currency": "EUR", "to_currency": "USD",
                                                 "rate_date": "2024-01-02", "rate": "1.0950"}])

    [row] = await rows.conn.fetch("SELECT actor, auth_method, role, endpoint, ids FROM audit_log")
    assert (row["actor"], row["auth_method"], row["role"], row["endpoint"], json.loads(row["ids"])) == (
        "anonymous", "none", "admin", "POST /ingest/fx-rates",
        [{"from_currency": "EUR", "to_currency": "USD", "rate_date": "2024-01-02"}])


# --- GET /audit: filters and pages ---------------------------------------------------

async def _entry(rows, at: str, actor: str, action: str = "ingest") -> None:
    await rows.conn.execute(
        "INSERT INTO audit_log (at, actor, auth_method, role, action, endpoint, item_count, ids, client)"
        " VALUES ($1, $2, 'api_key', 'write', $3, 'POST /ingest/prices', 0, '[]', '10.0.0.1')",
        datetime.fromisoformat(at), actor, action)


@pytest.fixture
async def audit_rows(rows):
    await _entry(rows, "2026-03-01T09:00:00+00:00", "alice")
    await _entry(rows, "2026-03-01T23:30:00+00:00", "bob", "keys.create")
    await _entry(rows, "2026-03-02T00:00:00+00:00", "alice", "dead_letters.redrive")
    await _entry(rows, "2026-03-03T12:00:00+00:00", "alice")
    return rows


async def _actions_at(db_client, **params) -> list[tuple[str, str, str]]:
    response = await db_client.get("/audit", params=params)
    assert response.status_code == 200, response.text
    return [(e["at"], e["actor"], e["action"]) for e in response.json()["items"]]


async def test_audit_filters_by_actor_and_action(db_client, audit_rows):
    assert await _actions_at(db_client, actor="alice", action="ingest") == [
        ("2026-03-03T12:00:00Z", "alice", "ingest"), ("2026-03-01T09:00:00Z", "alice", "ingest")]
    assert await _actions_at(db_client, action="keys.create") == [("2026-03-01T23:30:00Z", "bob", "keys.create")]


async def test_audit_dates_take_whole_utc_days_and_date_times_are_inclusive_instants(db_client, audit_rows):
    assert [a for _, a, _ in await _actions_at(db_client, **{"from": "2026-03-01", "to": "2026-03-01"})] == [
        "bob", "alice"]
    assert [at for at, _, _ in await _actions_at(db_client, **{"from": "2026-03-01T23:30:00Z",
                                                                "to": "2026-03-02T00:00:00+00:00"})] == [
        "2026-03-02T00:00:00Z", "2026-03-01T23:30:00Z"]
    # 01:00 in Paris is midnight UTC: only the entry at exactly that instant and later.
    assert len(await _actions_at(db_client, **{"from": "2026-03-02T01:00:00+01:00"})) == 2


async def test_the_last_representable_day_is_an_open_end(db_client, audit_rows):
    assert len(await _actions_at(db_client, to="9999-12-31")) == 4


async def test_audit_pages_count_every_match(db_client, audit_rows):
    response = await db_client.get("/audit", params={"limit": 2, "offset": 1})

    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (4, 2, 1)
    assert [e["at"] for e in body["items"]] == ["2026-03-02T00:00:00Z", "2026-03-01T23:30:00Z"]


@pytest.mark.parametrize("params, field", [
    ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
    ({"from": "2026-03-02T00:00:01Z", "to": "2026-03-02T00:00:00Z"}, "from"),
    ({"to": "yesterday"}, "to"),
    ({"from": "2026-02-30"}, "from"),
    ({"from": "0001-01-01T00:00:00+01:00"}, "from"),
    ({"to": "9999-12-31T23:59:59-01:00"}, "to"),
])
async def test_a_bad_or_reversed_period_is_422_naming_the_parameter(db_client, audit_rows, params, field):
    response = await db_client.get("/audit", params=params)

    assert response.status_code == 422
    assert [d["field"] for d in response.json()["detail"]] == [field]
