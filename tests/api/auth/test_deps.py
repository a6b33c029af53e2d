"""Ways round access control: unguarded routes, path tricks, odd headers, credentials of the other kind."""
from __future__ import annotations

import base64
import re

import httpx
import pytest

from api.auth.settings import AuthSettings
from api.auth.tokens import JwtSettings
from api.main import create_app
from api.settings import ApiSettings
from tests.api.auth.test_access_matrix import seed
from tests.api.auth.tokens_factory import AUDIENCE, ISSUER, SECRET, claims, hs256

# Public on purpose: liveness, and the API's own documentation.
PUBLIC = {"/health/live", "/docs", "/openapi.json", "/ui/"}
# The offline docs' and the dashboard's assets (api.docs, api.ui): mounts, walked as one route each;
# a file of each is checked below.
STATIC = {"/static": "/static/docs-init.js", "/ui/assets": "/ui/assets/app.js"}
# The dashboard's sign-in and sign-out (api.ui): open, they only set or clear the session cookie.
# Sign-in is given no key here (422 naming it); sign-out answers with the redirect to the page.
SESSION_ROUTES = {("POST", "/ui/session"): 422, ("POST", "/ui/sign-out"): 303}
ENV_KEYS = "k-read=read,k-read-p1=read:P1,k-admin=admin,eyJhbGciOiJIUzI1NiJ9.looks.likeajwt=admin"


def every_route(app) -> list[tuple[str, str]]:
    """(method, path) of every route, included routers unfolded (FastAPI builds them lazily)."""
    found = []
    for route in app.routes:
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        for r in contexts:
            for method in sorted(getattr(r, "methods", None) or {"GET"}):
                if method != "HEAD":
                    found.append((method, r.path))
    return found


def test_the_route_walk_sees_the_routes_of_included_routers():
    routes = every_route(create_app(ApiSettings(database_url=None, auth=AuthSettings())))

    assert ("POST", "/ingest/transactions") in routes and ("GET", "/portfolios/{portfolio_id}/risk") in routes
    assert ("GET", "/portfolios/{portfolio_id}/stream") in routes


async def test_every_route_is_either_public_or_asks_for_credentials():
    """Protects the routes added later: a new router included without a role fails here."""
    app = create_app(ApiSettings(database_url=None, auth=AuthSettings()))
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 1234))  # not loopback: ops guarded too
    async with httpx.AsyncClient(transport=transport, base_url="http://folio.test") as client:
        for method, path in every_route(app):
            concrete = re.sub(r"\{[^}]+\}", "X1", path)
            response = await client.request(method, concrete, json=[] if method == "POST" else None)
            if path in STATIC:
                asset = await client.get(STATIC[path])
                assert asset.status_code == 200 and "javascript" in asset.headers["content-type"]
            elif (method, path) in SESSION_ROUTES:
                assert response.status_code == SESSION_ROUTES[(method, path)], (method, path)
            elif path in PUBLIC:
                assert response.status_code == 200, (method, path)
            else:
                assert response.status_code == 401, (method, path, response.status_code)
                assert response.headers["www-authenticate"].startswith("Bearer")
    await app.state.resources.aclose()


@pytest.fixture
async def client(make_client, api_database_url, rows):
    await seed(rows)
    return await make_client(database_url=api_database_url, auth=AuthSettings(
        api_keys=ENV_KEYS, jwt=JwtSettings(issuer=ISSUER, audience=AUDIENCE, secret=SECRET)))


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


@pytest.mark.parametrize("path", ["/portfolios/P2/", "/portfolios/%50%32", "/portfolios/%50%32/positions",
                                  "/portfolios/P2%2F..%2FP1", "/portfolios/./P2", "/portfolios/P1/../P2"])
async def test_path_tricks_do_not_reach_p2_with_a_p1_key(client, path):
    response = await client.get(path, headers=bearer("k-read-p1"), follow_redirects=True)

    assert response.status_code == 404
    assert "Portfolio P2" not in response.text


async def test_case_does_not_alias_portfolio_ids(client):
    assert (await client.get("/portfolios/p1", headers=bearer("k-read-p1"))).status_code == 404
    assert (await client.get("/portfolios/p2", headers=bearer("k-admin"))).status_code == 404


async def test_authorization_wins_over_x_api_key_when_both_are_present(client):
    weaker = await client.get("/dead-letters", headers={**bearer("k-read-p1"), "X-API-Key": "k-admin"})
    bad = await client.get("/portfolios", headers={**bearer("k-nope"), "X-API-Key": "k-admin"})

    assert len(weaker.json()["items"]) == 1  # the P1 key's view, not the admin's (2 letters)
    assert bad.status_code == 401


async def test_basic_authorization_is_not_a_way_in(client):
    basic = "Basic " + base64.b64encode(b"k-admin:").decode()

    assert (await client.get("/portfolios", headers={"Authorization": basic})).status_code == 401
    assert (await client.get("/portfolios", headers={"Authorization": "Basic k-admin"})).status_code == 401


@pytest.mark.parametrize("headers", [
    pytest.param({"Authorization": "Bearer"}, id="bearer without credentials"),
    pytest.param({"Authorization": "Bearer "}, id="bearer and a space"),
    pytest.param({"X-API-Key": ""}, id="empty X-API-Key"),
    pytest.param({"Authorization": "Bearer k-admin-and-more"}, id="a valid key as a prefix"),
    pytest.param({"Authorization": "Bearer k-admi"}, id="a prefix of a valid key"),
    pytest.param({"Authorization": "Bearer " + "k" * 60_000}, id="a 60 kB credential"),
    pytest.param({"Authorization": "Bearer " + hs256(claims("folio:admin"), secret="x" * 40)}, id="JWT, wrong secret"),
])
async def test_credentials_that_prove_nothing_are_401(client, headers):
    response = await client.get("/portfolios", headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_surrounding_whitespace_around_a_key_is_not_part_of_it(client):
    """HTTP strips a header value's outer whitespace; the key inside is the key."""
    assert (await client.get("/portfolios", headers={"X-API-Key": "  k-admin  "})).status_code == 200
    assert (await client.get("/portfolios", headers={"Authorization": "Bearer   k-admin "})).status_code == 200


async def test_a_jwt_is_refused_when_no_jwt_issuer_is_configured(make_client, api_database_url, rows):
    client = await make_client(database_url=api_database_url, auth=AuthSettings(api_keys="k-admin=admin"))

    response = await client.get("/portfolios", headers=bearer(hs256(claims("folio:admin"))))

    assert response.status_code == 401


async def test_an_api_key_shaped_like_a_jwt_still_works_as_a_key_when_jwts_are_configured(client):
    response = await client.get("/portfolios", headers=bearer("eyJhbGciOiJIUzI1NiJ9.looks.likeajwt"))

    assert response.status_code == 200
