"""The dashboard's page and sign-in (api.ui): an API key becomes an HttpOnly
session cookie that the API accepts for reads only, and never stays in a URL."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.auth.api_keys import KeyFile
from api.auth.principal import Role
from api.auth.settings import AuthSettings
from api.auth.sessions import SESSION_COOKIE


@pytest.fixture
def key_file(tmp_path: Path) -> KeyFile:
    return KeyFile(tmp_path / "api-keys.json")


@pytest.fixture
def dashboard(make_client, key_file):
    """A client of an app whose keys live in `key_file`; `await dashboard()`."""
    async def make(**settings):
        return await make_client(auth=AuthSettings(keys_file=key_file.path), **settings)
    return make


async def signed_in(client, key: str) -> str:
    """The session a token link gives; the client's own jar is left empty (tests set what they send)."""
    answer = await client.get("/ui/", params={"token": key})
    assert answer.status_code == 303, answer.text
    client.cookies.clear()
    return answer.cookies[SESSION_COOKIE]


async def post_sign_in_form(client, key: str, **headers: str):
    return await client.post("/ui/session", content=f"key={key}",
                             headers={"content-type": "application/x-www-form-urlencoded", **headers})


def presenting(client, session: str):
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, session)
    return client


async def test_a_token_link_sets_an_http_only_strict_cookie_and_redirects_to_a_url_without_the_key(dashboard, key_file):
    key, _ = key_file.create("alice", Role.ADMIN)
    client = await dashboard()

    answer = await client.get("/ui/", params={"token": key})

    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=alice.")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path=/", "samesite=strict", "max-age=28800"} <= flags
    assert "secure" not in flags  # plain http here: a Secure cookie would never come back
    assert key not in cookie  # the session is not the key


async def test_over_https_the_cookie_is_secure(dashboard, key_file):
    key, _ = key_file.create("alice", Role.READ)
    client = await dashboard()
    client.base_url = "https://folio.test"

    answer = await client.get("/ui/", params={"token": key})

    assert "secure" in {part.strip().lower() for part in answer.headers["set-cookie"].split(";")}


async def test_the_cookie_works_for_a_get_and_not_for_a_post_or_a_delete(dashboard, key_file):
    key, _ = key_file.create("alice", Role.ADMIN)
    client = await dashboard()
    presenting(client, await signed_in(client, key))

    read = await client.get("/keys")
    write = await client.post("/keys", json={"name": "bob", "role": "read"})
    delete = await client.delete("/keys/alice")

    assert read.status_code == 200 and [k["name"] for k in read.json()["items"]] == ["alice"]
    assert (write.status_code, delete.status_code) == (401, 401)
    assert [r.name for r in key_file.records()] == ["alice"]  # nothing was written


async def test_a_revoked_keys_cookie_stops_working_and_a_new_key_of_the_same_name_does_not_revive_it(
        dashboard, key_file):
    key, _ = key_file.create("alice", Role.ADMIN)
    client = await dashboard()
    presenting(client, await signed_in(client, key))
    assert (await client.get("/keys")).status_code == 200

    key_file.revoke("alice")
    after_revoke = await client.get("/keys")
    key_file.create("alice", Role.ADMIN)
    after_recreate = await client.get("/keys")

    assert (after_revoke.status_code, after_recreate.status_code) == (401, 401)
    assert after_revoke.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("tamper", [
    lambda v: v.replace("alice.", "bob.", 1),                      # another key's name
    lambda v: re.sub(r"\.(\d+)\.", lambda m: f".{int(m[1]) + 3600}.", v),  # a later expiry
    lambda v: v[:-1] + ("0" if v[-1] != "0" else "1"),            # another MAC
    lambda v: "alice.1.x",                                         # expired long ago
])
async def test_a_tampered_or_expired_session_is_refused(dashboard, key_file, tamper):
    key, _ = key_file.create("alice", Role.ADMIN)
    key_file.create("bob", Role.ADMIN)
    client = await dashboard()
    session = await signed_in(client, key)

    answer = await presenting(client, tamper(session)).get("/keys")

    assert answer.status_code == 401


async def test_a_header_credential_wins_over_the_cookie(dashboard, key_file):
    key, _ = key_file.create("alice", Role.ADMIN)
    client = await dashboard()
    presenting(client, await signed_in(client, key))

    answer = await client.get("/keys", headers={"Authorization": "Bearer folio_wrong"})

    assert answer.status_code == 401


async def test_a_wrong_token_signs_nobody_in_and_the_redirect_drops_it(dashboard, key_file):
    key_file.create("alice", Role.ADMIN)
    client = await dashboard()

    answer = await client.get("/ui/", params={"token": "folio_wrong"})

    assert answer.status_code == 303 and answer.headers["location"] == "/ui/?signin=failed"
    assert "set-cookie" not in answer.headers


async def test_the_sign_in_form_posts_the_key_and_sign_out_clears_the_cookie(dashboard, key_file):
    key, _ = key_file.create("alice", Role.READ)
    client = await dashboard()

    # What Chromium sends for the page's own form under Referrer-Policy: no-referrer.
    answer = await post_sign_in_form(client, key, origin="null", **{"sec-fetch-site": "same-origin"})
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/"
    presenting(client, answer.cookies[SESSION_COOKIE])
    assert (await client.get("/keys")).status_code == 403  # a known reader, not an admin

    out = await client.post("/ui/sign-out")
    assert out.status_code == 303 and out.headers["location"] == "/ui/"
    assert re.match(rf'{SESSION_COOKIE}=""?;.*Max-Age=0', out.headers["set-cookie"], re.I), out.headers["set-cookie"]


@pytest.mark.parametrize("headers", [
    {"sec-fetch-site": "cross-site", "origin": "null"},
    {"sec-fetch-site": "same-site", "origin": "https://other.folio.test"},
    {"origin": "https://evil.example"},  # a browser without Sec-Fetch-Site
])
async def test_another_sites_form_cannot_sign_the_browser_in(dashboard, key_file, headers):
    key, _ = key_file.create("mallory", Role.READ)
    client = await dashboard()

    answer = await post_sign_in_form(client, key, **headers)

    assert answer.headers["location"] == "/ui/?signin=failed" and "set-cookie" not in answer.headers


async def test_the_sign_in_form_without_a_key_is_a_422_naming_key(dashboard):
    answer = await (await dashboard()).post("/ui/session", content="",
                                            headers={"content-type": "application/x-www-form-urlencoded"})

    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "key"


async def test_the_page_and_its_assets_are_same_origin_and_the_policy_refuses_inline_code(dashboard):
    client = await dashboard()
    page = await client.get("/ui/")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp and "unsafe-inline" not in csp
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and "style=" not in page.text
    assert not re.search(r"https?://", page.text)  # no CDN
    urls = re.findall(r'(?:src|href)="(/[^"]+)"', page.text)
    assert sorted(urls) == ["/ui/assets/app.js", "/ui/assets/style.css"]
    for module in ("app.js", "decimal.js", "chart.js"):
        asset = await client.get(f"/ui/assets/{module}")
        assert asset.status_code == 200 and "javascript" in asset.headers["content-type"]
        assert "cache-control" not in asset.headers  # assets may be cached (revalidated by ETag)
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", asset.text)
    assert (await client.get("/ui")).status_code in (307, 308)  # to /ui/


async def test_with_auth_off_a_token_link_just_goes_to_the_dashboard(make_client):
    client = await make_client()

    answer = await client.get("/ui/", params={"token": "anything"})

    assert answer.status_code == 303 and answer.headers["location"] == "/ui/" and "set-cookie" not in answer.headers


async def test_with_auth_off_the_page_says_so_and_the_dashboard_hides_sign_out(make_client):
    client = await make_client()

    page = await client.get("/ui/")
    app_js = await client.get("/ui/assets/app.js")

    assert page.status_code == 200
    assert '<body data-auth="off">' in page.text
    assert 'getElementById("sign-out").hidden = document.body.dataset.auth === "off"' in app_js.text


async def test_with_auth_on_the_page_offers_sign_out(dashboard):
    client = await dashboard()

    page = await client.get("/ui/")

    assert "<body>" in page.text and "data-auth" not in page.text
    assert '<form id="sign-out" method="post" action="/ui/sign-out" hidden>' in page.text
