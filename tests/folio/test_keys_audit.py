"""`folio keys create|revoke`: the keys file, and an audit row when PostgreSQL is reachable."""
from __future__ import annotations

import asyncio
import json
import socket

import pytest

from api.auth.api_keys import KeyFile
from folio.cli import main
from tests.sink.conftest import db, sink_database_url  # noqa: F401 - fixtures: a migrated, emptied database


@pytest.fixture
def folio_keys(tmp_path, monkeypatch, capsys):
    """Run `folio keys ...` on a keys file of its own as OS user ops-alice; (exit code, stdout)."""
    monkeypatch.setenv("FOLIO_API_KEYS_FILE", str(tmp_path / "keys.json"))
    monkeypatch.setenv("LOGNAME", "ops-alice")
    monkeypatch.delenv("DATABASE_URL", raising=False)

    def run(*args: str) -> tuple[int, str]:
        code = main(["keys", *args])
        return code, capsys.readouterr().out

    return run


async def test_creating_and_revoking_a_key_are_audited_as_the_os_user(folio_keys, monkeypatch, db,
                                                                      sink_database_url):
    monkeypatch.setenv("DATABASE_URL", sink_database_url)

    # The CLI runs its own event loop: off this test's loop, in a thread.
    created = await asyncio.to_thread(folio_keys, "create", "--name", "etl", "--role", "write",
                                      "--portfolios", "P2,P1")
    revoked = await asyncio.to_thread(folio_keys, "revoke", "etl")

    assert (created[0], revoked[0]) == (0, 0)
    assert created[1].splitlines()[-1] == revoked[1].splitlines()[-1] == "audited (GET /audit)"
    rows = await db.fetch("SELECT actor, auth_method, role, action, endpoint, item_count, ids, client, detail"
                          " FROM audit_log ORDER BY id")
    host = f"local:{socket.gethostname()}"
    assert [(r["actor"], r["auth_method"], r["role"], r["action"], r["endpoint"], r["item_count"],
             json.loads(r["ids"]), r["client"], r["detail"] and json.loads(r["detail"])) for r in rows] == [
        ("cli:ops-alice", "cli", "admin", "keys.create", "folio keys create", 1, ["etl"], host,
         {"role": "write", "portfolios": ["P1", "P2"]}),
        ("cli:ops-alice", "cli", "admin", "keys.revoke", "folio keys revoke", 1, ["etl"], host, None),
    ]
    key = created[1].splitlines()[2].strip()
    assert key.startswith("folio_") and key not in json.dumps([dict(r) for r in rows], default=str)


def test_without_database_url_a_key_change_says_it_was_not_audited(folio_keys, tmp_path):
    code, out = folio_keys("create", "--name", "etl", "--role", "read")

    assert code == 0
    assert out.splitlines()[-1] == "not audited: DATABASE_URL is not set"
    assert [r.name for r in KeyFile(tmp_path / "keys.json").records()] == ["etl"]


def test_with_postgresql_unreachable_the_key_is_revoked_and_the_record_logged(folio_keys, monkeypatch, caplog):
    folio_keys("create", "--name", "etl", "--role", "read")
    monkeypatch.setenv("DATABASE_URL", "postgresql://folio@127.0.0.1:9/folio")

    code, out = folio_keys("revoke", "etl")

    assert code == 0
    assert out.splitlines() == ["revoked key 'etl'",
                                "NOT audited: PostgreSQL could not take the record (logged on folio.audit)"]
    [logged] = [r for r in caplog.records if r.name == "folio.audit"]
    assert json.loads(logged.getMessage().split(": ", 1)[1])["ids"] == ["etl"]
