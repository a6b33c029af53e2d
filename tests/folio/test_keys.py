"""`folio keys create|list|revoke`: a key printed once, stored hashed, honoured and revoked by a running API."""
from __future__ import annotations

import re

import httpx
import pytest

from api.auth.settings import AuthSettings
from api.deps import get_publisher
from api.main import create_app
from api.settings import ApiSettings
from folio.cli import main
from tests.api.conftest import FakePublisher

KEY = re.compile(r"^\s+(folio_\S+)$", re.MULTILINE)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FOLIO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FOLIO_API_KEYS_FILE", raising=False)
    return tmp_path


def create(capsys, *args: str) -> str:
    assert main(["keys", "create", *args]) == 0
    keys = KEY.findall(capsys.readouterr().out)
    assert len(keys) == 1
    return keys[0]


def test_create_prints_the_key_once_and_the_file_and_the_listing_never_hold_it(data_dir, capsys):
    key = create(capsys, "--name", "ci", "--role", "write", "--portfolios", "P1,P2")

    stored = (data_dir / "api-keys.json").read_text()
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert main(["keys", "list", "--json"]) == 0
    listing_json = capsys.readouterr().out

    assert key not in stored
    assert "ci  role=write  portfolios=P1,P2" in listing
    for shown in (listing, listing_json):
        assert key not in shown and "salt" not in shown and "sha256" not in shown
    for field in ("salt", "sha256"):
        value = re.search(rf'"{field}": "([0-9a-f]+)"', stored).group(1)
        assert value not in listing + listing_json


def test_revoke_removes_the_key_and_a_second_revoke_fails(data_dir, capsys):
    create(capsys, "--name", "ci", "--role", "read")

    assert main(["keys", "revoke", "ci"]) == 0
    assert main(["keys", "revoke", "ci"]) == 2
    capsys.readouterr()
    assert main(["keys", "list"]) == 0
    assert "0 key(s)" in capsys.readouterr().out


def test_a_duplicate_name_fails_with_exit_2_and_leaves_the_first_key(data_dir, capsys):
    create(capsys, "--name", "ci", "--role", "read")
    before = (data_dir / "api-keys.json").read_text()

    assert main(["keys", "create", "--name", "ci", "--role", "admin"]) == 2
    assert "exists already" in capsys.readouterr().out
    assert (data_dir / "api-keys.json").read_text() == before


async def test_a_created_key_opens_a_running_api_and_stops_at_its_revoke(data_dir, capsys):
    app = create_app(ApiSettings(database_url=None, auth=AuthSettings(keys_file=data_dir / "api-keys.json")))
    app.dependency_overrides[get_publisher] = FakePublisher
    key = create(capsys, "--name", "ops", "--role", "write", "--portfolios", "P1")
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://folio.test") as client:
        deposit = [{"portfolio_id": "P1", "transaction_id": "D1", "type": "DEPOSIT", "trade_date": "2024-01-02",
                    "amount": "100", "currency": "USD"}]
        before = await client.post("/ingest/transactions", json=deposit, headers=headers)
        out_of_scope = await client.post("/ingest/transactions", json=[{**deposit[0], "portfolio_id": "P2"}],
                                         headers=headers)
        assert main(["keys", "revoke", "ops"]) == 0
        after = await client.post("/ingest/transactions", json=deposit, headers=headers)
    await app.state.resources.aclose()

    assert (before.status_code, out_of_scope.status_code, after.status_code) == (202, 403, 401), before.text
