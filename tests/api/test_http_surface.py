"""The HTTP surface every answer shares: JSON-only writes, CORS only when
configured, security headers, an OpenAPI document that shows the contract,
and /docs that works without a network."""
from __future__ import annotations

import re

import pytest

from api.auth.settings import AuthSettings

ADMIN = {"Authorization": "Bearer admin-key"}
AUTH = AuthSettings(api_keys="admin-key=admin")
WITHDRAWAL = b'[{"transaction_id":"W1","portfolio_id":"P1","type":"WITHDRAWAL","trade_date":"2026-01-02",' \
             b'"amount":"100","currency":"USD"}]'


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", None])
async def test_a_write_that_is_not_json_is_refused_with_415_and_publishes_nothing(
        make_client, fake_publisher, content_type):
    client = await make_client(publisher=fake_publisher, auth=AUTH)
    headers = {**ADMIN, "Origin": "http://evil.example"}
    if content_type:
        headers["content-type"] = content_type
    answer = await client.post("/ingest/transactions", content=WITHDRAWAL, headers=headers)
    assert answer.status_code == 415, answer.text
    assert "application/json" in answer.json()["detail"]
    assert fake_publisher.published == []


async def test_json_with_a_charset_is_still_json(make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher, auth=AUTH)
    answer = await client.post("/ingest/transactions", content=WITHDRAWAL,
                               headers={**ADMIN, "content-type": "application/json; charset=utf-8"})
    assert answer.status_code == 202, answer.text
    assert len(fake_publisher.published) == 1


async def test_a_30_mb_body_is_refused_with_413(make_client, fake_publisher):
    client = await make_client(publisher=fake_publisher, auth=AUTH)
    body = b"[" + b" " * (30 << 20) + b"]"
    answer = await client.post("/ingest/transactions", content=body,
                               headers={**ADMIN, "content-type": "application/json"})
    assert answer.status_code == 413, answer.text
    assert fake_publisher.published == []


async def test_without_configured_origins_no_cross_origin_call_is_approved(make_client):
    client = await make_client(auth=AUTH)
    preflight = await client.options("/ingest/transactions", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,authorization"})
    assert "access-control-allow-origin" not in preflight.headers
    simple = await client.get("/health/live", headers={"Origin": "http://evil.example"})
    assert not any(name.startswith("access-control-") for name in simple.headers)


async def test_configured_origins_and_only_those_are_approved(make_client):
    client = await make_client(auth=AUTH, cors_origins=("https://dash.example",))
    ok = await client.options("/portfolios", headers={
        "Origin": "https://dash.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://dash.example"
    other = await client.options("/portfolios", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "GET"})
    assert other.headers.get("access-control-allow-origin") != "http://evil.example"


@pytest.mark.parametrize("method,path,headers,status", [
    ("GET", "/health/live", {}, 200),
    ("GET", "/portfolios", {}, 401),
    ("GET", "/portfolios/NOPE", ADMIN, 503),  # no database configured
    ("POST", "/ingest/prices", {**ADMIN, "content-type": "text/plain"}, 415),
    ("POST", "/ingest/prices", {**ADMIN, "content-type": "application/json"}, 422),
    ("GET", "/no-such-route", {}, 404),
])
async def test_every_answer_carries_the_security_headers(make_client, method, path, headers, status):
    client = await make_client(auth=AUTH)
    answer = await client.request(method, path, headers=headers, content=b"{}" if method == "POST" else None)
    assert answer.status_code == status, answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cross-origin-resource-policy"] == "same-origin"
    assert answer.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert answer.headers["cache-control"] == "no-store"


async def test_the_docs_page_loads_only_same_origin_assets_and_each_of_them_is_served(make_client):
    client = await make_client(auth=AUTH)
    page = await client.get("/docs")  # open: it describes the contract, holds no data
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text  # no inline script: the CSP forbids them
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(urls) == 4, urls
    for url in urls:
        assert url.startswith("/static/"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        expected = {"js": "javascript", "css": "text/css", "png": "image/png"}[url.split("?")[0].rsplit(".", 1)[1]]
        assert expected in asset.headers["content-type"], (url, asset.headers["content-type"])
    assert not re.search(r"https?://|cdn|unpkg|jsdelivr", page.text)
    bundle = await client.get("/static/swagger-ui/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text[:5000] or "SwaggerUIBundle" in bundle.text


async def test_the_openapi_document_names_the_security_schemes_and_the_real_event_bodies(make_client):
    client = await make_client(auth=AUTH)
    document = (await client.get("/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "description": schemes["bearer"]["description"]}
    assert schemes["apiKey"]["in"] == "header" and schemes["apiKey"]["name"] == "X-API-Key"
    assert document["paths"]["/portfolios"]["get"]["security"] == [{"bearer": []}, {"apiKey": []}]
    assert "security" not in document["paths"]["/health/live"]["get"]

    body = document["paths"]["/ingest/transactions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["oneOf"][0]["items"] == {"$ref": "#/components/schemas/Transaction"}
    transaction = document["components"]["schemas"]["Transaction"]
    assert {"transaction_id", "portfolio_id", "version", "type", "trade_date", "quantity", "price", "amount",
            "fees", "currency", "fx_rate"} <= set(transaction["properties"])
    tx_types = document["components"]["schemas"]["TxType"]["enum"]
    assert {"BUY", "SELL", "DIVIDEND", "DEPOSIT", "WITHDRAWAL", "SPLIT"} <= set(tx_types)
    for segment, model in (("portfolios", "Portfolio"), ("instruments", "Instrument"), ("prices", "Price"),
                           ("fx-rates", "FxRate")):
        schema = document["paths"][f"/ingest/{segment}"]["post"]["requestBody"]["content"]["application/json"]
        assert schema["schema"]["oneOf"][0]["items"] == {"$ref": f"#/components/schemas/{model}"}
        assert document["components"]["schemas"][model]["properties"]


async def test_a_big_body_to_a_guarded_route_is_refused_before_it_is_read_even_without_credentials(make_client):
    # FastAPI reads a body model before the route's role check: POST /keys read 40 MB from
    # a caller without a key (and answered 422) before the limit applied to every route.
    client = await make_client(auth=AUTH, max_body_bytes=1 << 20)
    read = []

    async def body():
        for n in range(40):
            read.append(n)
            yield b" " * (1 << 20)

    answer = await client.post("/keys", content=body(), headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "FOLIO_MAX_BODY_BYTES" in answer.json()["detail"]
    assert len(read) <= 2
    declared = await client.post("/keys", content=b"{" + b" " * (2 << 20) + b"}",
                                 headers={"content-type": "application/json"})
    assert declared.status_code == 413


@pytest.mark.parametrize("content_length", [b"abc", b"-1", b""])
async def test_a_content_length_that_is_no_number_is_read_as_a_stream_within_the_limit(make_client, content_length):
    app_client = await make_client(auth=AUTH)
    transport = app_client._transport
    status = {}

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            status["code"] = message["status"]

    await transport.app({"type": "http", "method": "POST", "path": "/ingest/prices", "raw_path": b"/ingest/prices",
                         "query_string": b"", "headers": [(b"content-length", content_length),
                                                          (b"content-type", b"application/json")],
                         "client": ("127.0.0.1", 1), "server": ("folio.test", 80), "scheme": "http",
                         "http_version": "1.1", "root_path": ""}, receive, send)
    assert status["code"] == 401  # through the limit to the role check, no crash
