"""GET/POST /keys, DELETE /keys/{name}: the keys file over HTTP, for admins."""
from __future__ import annotations

import json

import pytest

from api.auth.api_keys import KeyFile
from api.auth.principal import Role
from api.auth.settings import AuthSettings

ADMIN = "k-admin"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def keys_client(make_client, tmp_path):
    """A client on a keys file of its own, with an admin key from FOLIO_API_KEYS; the file's path."""
    path = tmp_path / "keys.json"

    async def make(**settings):
        return await make_client(auth=AuthSettings(api_keys=f"{ADMIN}=admin,k-write=write", keys_file=path),
                                 **settings), path
    return make


async def test_a_created_key_is_shown_once_works_at_once_and_is_stored_only_as_a_hash(keys_client):
    client, path = await keys_client()

    created = await client.post("/keys", json={"name": "reporting", "role": "read", "portfolios": ["P1", "P0"]},
                                headers=bearer(ADMIN))

    assert created.status_code == 201
    body = created.json()
    assert (body["name"], body["role"], body["portfolios"]) == ("reporting", "read", ["P0", "P1"])
    assert body["key"].startswith("folio_")
    assert body["key"] not in path.read_text()
    [record] = KeyFile(path).records()
    assert (record.name, record.role, record.portfolios, record.matches(body["key"])) == (
        "reporting", Role.READ, frozenset({"P0", "P1"}), True)
    # Known at once (403 rather than 401): a reader may neither manage keys nor write.
    assert (await client.get("/keys", headers=bearer(body["key"]))).status_code == 403
    assert (await client.post("/ingest/prices", json=[], headers=bearer(body["key"]))).status_code == 403


async def test_the_key_list_shows_names_roles_scopes_and_dates_but_no_secret(keys_client):
    client, path = await keys_client()
    await client.post("/keys", json={"name": "etl", "role": "write"}, headers=bearer(ADMIN))

    listed = await client.get("/keys", headers=bearer(ADMIN))

    assert listed.status_code == 200
    [item] = listed.json()["items"]
    [stored] = json.loads(path.read_text())["keys"]
    assert item == {"name": "etl", "role": "write", "portfolios": None, "created_at": stored["created_at"]}
    assert stored["salt"] not in listed.text and stored["sha256"] not in listed.text


async def test_a_revoked_key_is_refused_from_the_next_request(keys_client):
    client, _ = await keys_client()
    key = (await client.post("/keys", json={"name": "temp", "role": "admin"}, headers=bearer(ADMIN))).json()["key"]
    assert (await client.get("/keys", headers=bearer(key))).status_code == 200

    revoked = await client.delete("/keys/temp", headers=bearer(ADMIN))

    assert (revoked.status_code, revoked.content) == (204, b"")
    assert (await client.get("/keys", headers=bearer(key))).status_code == 401


async def test_revoking_an_unknown_key_is_404_and_a_taken_name_is_409(keys_client):
    client, _ = await keys_client()
    await client.post("/keys", json={"name": "etl", "role": "write"}, headers=bearer(ADMIN))

    again = await client.post("/keys", json={"name": "etl", "role": "read"}, headers=bearer(ADMIN))
    unknown = await client.delete("/keys/nobody", headers=bearer(ADMIN))

    assert again.status_code == 409 and "etl" in again.json()["detail"]
    assert unknown.status_code == 404 and "nobody" in unknown.json()["detail"]


@pytest.mark.parametrize("body, field", [
    ({"name": "has space", "role": "read"}, "name"),
    ({"name": "etl", "role": "owner"}, "role"),
    ({"name": "etl", "role": "read", "portfolios": []}, "portfolios"),
    ({"role": "read"}, "name"),
])
async def test_a_bad_key_request_is_422_naming_the_field(keys_client, body, field):
    client, path = await keys_client()

    response = await client.post("/keys", json=body, headers=bearer(ADMIN))

    assert response.status_code == 422
    assert field in [d["field"] for d in response.json()["detail"]]
    assert not path.exists()


async def test_without_a_keys_file_key_management_says_so_with_409(make_client):
    client = await make_client(auth=AuthSettings(api_keys=f"{ADMIN}=admin"))

    answers = [await client.get("/keys", headers=bearer(ADMIN)),
               await client.post("/keys", json={"name": "etl", "role": "read"}, headers=bearer(ADMIN)),
               await client.delete("/keys/etl", headers=bearer(ADMIN))]

    assert [a.status_code for a in answers] == [409, 409, 409]
    assert all("FOLIO_API_KEYS_FILE" in a.json()["detail"] for a in answers)


async def test_keys_are_for_admins_only(keys_client):
    client, path = await keys_client()

    assert (await client.get("/keys", headers=bearer("k-write"))).status_code == 403
    assert (await client.post("/keys", json={"name": "etl", "role": "admin"},
                              headers=bearer("k-write"))).status_code == 403
    assert (await client.delete("/keys/etl")).status_code == 401
    assert not path.exists()


async def test_a_key_request_whose_body_is_not_utf8_json_is_a_422_naming_the_body(make_client, tmp_path):
    # Found by the OpenAPI fuzz: FastAPI answered an undocumented 400.
    client = await make_client(auth=AuthSettings(api_keys="k-admin=admin", keys_file=tmp_path / "keys.json"))
    answer = await client.post("/keys", content=b"\xff\xfe\x18%\xa0:~", headers={
        "Authorization": "Bearer k-admin", "content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["field"] == "body"
    assert not (tmp_path / "keys.json").exists()
