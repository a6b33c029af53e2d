"""Issue 8's first must-show: every credential against every endpoint, one asserted cell each.

The expected table is written out by hand below (not derived from api.auth's
rules), and the observed one is written as markdown under the pytest basetemp.
"""
from __future__ import annotations

from datetime import date

import httpx
import pytest

from api.auth.settings import AuthSettings
from folio.devenv.broker import TansuBroker
from folio.topics import PACKAGED_TOPICS_FILE, apply_topics, load_topics
from api.auth.tokens import JwtSettings
from tests.api.auth.tokens_factory import AUDIENCE, ISSUER, SECRET, claims, hs256
from tests.api.live_state import live_answer, lot, position
from tests.support.sse import stream_opening

KEYS = {"read": "k-read", "read_p1": "k-read-p1", "write": "k-write", "write_p1": "k-write-p1", "admin": "k-admin"}
ENV_KEYS = "k-read=read,k-read-p1=read:P1,k-write=write,k-write-p1=write:P1,k-admin=admin"

CREDENTIALS = {
    "none": lambda: {},
    "bad key": lambda: {"Authorization": "Bearer k-nope"},
    "expired JWT": lambda: _bearer(hs256(claims("folio:admin", ttl=-3600))),
    "wrong-audience JWT": lambda: _bearer(hs256(claims("folio:admin", aud="someone-else"))),
    "read key": lambda: _bearer(KEYS["read"]),
    "read key P1": lambda: {"X-API-Key": KEYS["read_p1"]},
    "write key": lambda: _bearer(KEYS["write"]),
    "write key P1": lambda: _bearer(KEYS["write_p1"]),
    "admin key": lambda: _bearer(KEYS["admin"]),
    "JWT folio:read": lambda: _bearer(hs256(claims("folio:read"))),
    "JWT folio:write": lambda: _bearer(hs256(claims("folio:write"))),
    "JWT folio:admin": lambda: _bearer(hs256(claims("folio:admin"))),
}


def _bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


ENDPOINTS = {
    "GET /portfolios": ("GET", "/portfolios", None),
    "GET /portfolios/P2": ("GET", "/portfolios/P2", None),
    "GET /portfolios/P2/positions": ("GET", "/portfolios/P2/positions", None),
    "GET lots": ("GET", "/portfolios/P2/positions/AAPL/lots", None),
    "GET transactions": ("GET", "/portfolios/P2/transactions", None),
    "GET transaction": ("GET", "/portfolios/P2/transactions/T1", None),
    "GET cash": ("GET", "/portfolios/P2/cash", None),
    "GET valuation": ("GET", "/portfolios/P2/valuation", None),
    "GET stream": ("GET", "/portfolios/P2/stream", None),
    "GET allocation": ("GET", "/portfolios/P2/allocation", None),
    "GET timeseries": ("GET", "/portfolios/P2/timeseries", None),
    "GET performance": ("GET", "/portfolios/P2/performance", None),
    "GET risk": ("GET", "/portfolios/P2/risk", None),
    "GET position-history": ("GET", "/portfolios/P2/position-history", None),
    "GET /dead-letters": ("GET", "/dead-letters", None),
    "GET income": ("GET", "/portfolios/P2/income", None),
    "GET realized-gains": ("GET", "/portfolios/P2/realized-gains", None),
    "GET contribution": ("GET", "/portfolios/P2/contribution", None),
    "GET /instruments": ("GET", "/instruments", None),
    "GET /audit": ("GET", "/audit", None),
    "POST portfolios": ("POST", "/ingest/portfolios",
                        [{"portfolio_id": "P2", "name": "B", "base_currency": "USD", "open_date": "2024-01-01"}]),
    "POST instruments": ("POST", "/ingest/instruments", [{"security_id": "AAPL", "name": "Apple", "currency": "USD"}]),
    "POST transactions": ("POST", "/ingest/transactions",
                          [{"transaction_id": "T9", "portfolio_id": "P2", "type": "BUY", "trade_date": "2024-01-02",
                            "security_id": "AAPL", "quantity": "10", "price": "150.25", "currency": "USD"}]),
    "POST prices": ("POST", "/ingest/prices", [{"security_id": "AAPL", "price_date": "2024-01-02", "price": "185.64"}]),
    "POST fx-rates": ("POST", "/ingest/fx-rates",
                      [{"from_currency": "EUR", "to_currency": "USD", "rate_date": "2024-01-02", "rate": "1.0945"}]),
    "POST /dead-letters/redrive": ("POST", "/dead-letters/redrive", {"reason": "invalid_event"}),
    "GET /health/live": ("GET", "/health/live", None),
    "GET /health/ready": ("GET", "/health/ready", None),
    "GET /metrics": ("GET", "/metrics", None),
    "GET /ui/": ("GET", "/ui/", None),
}

# What a caller with every right gets from each endpoint (the seeded data's answers).
OK = {name: (202 if method == "POST" else 200) for name, (method, _, _) in ENDPOINTS.items()}
READS = [n for n in ENDPOINTS if n.startswith("GET") and "health" not in n and "metrics" not in n
         and n not in ("GET /audit", "GET /ui/")]
P2_READS = [n for n in READS if n not in ("GET /portfolios", "GET /dead-letters", "GET /instruments")]
INGEST = [n for n in ENDPOINTS if n.startswith("POST") and "redrive" not in n]
# The test client is on loopback, where readiness and metrics are open by default; readiness then
# answers 503 past the guard (no broker, no stage heartbeats in this test).
OPS = {"GET /health/live": 200, "GET /health/ready": 503, "GET /metrics": 200}
# The dashboard's page is open to anyone: it holds no data (api.ui), its figures come from the API.
PAGES = {"GET /ui/": 200}


def _row(reads: int, p2_reads: int, ingest: int | dict[str, int], redrive: int) -> dict[str, int]:
    row = {n: reads for n in READS}
    row.update({n: p2_reads for n in P2_READS})
    row.update({n: (ingest[n] if isinstance(ingest, dict) else ingest) for n in INGEST})
    row["POST /dead-letters/redrive"] = redrive
    row["GET /audit"] = 200 if redrive == 202 else redrive  # admin only, like the redrive
    row.update(OPS)
    row.update(PAGES)
    return row


UNAUTHENTICATED = _row(401, 401, 401, 401)
EXPECTED = {
    "none": UNAUTHENTICATED,
    "bad key": UNAUTHENTICATED,
    "expired JWT": UNAUTHENTICATED,
    "wrong-audience JWT": UNAUTHENTICATED,
    "read key": _row(200, 200, 403, 403),
    "read key P1": _row(200, 404, 403, 403),
    "write key": _row(200, 200, 202, 403),
    "write key P1": _row(200, 404, 403, 403),
    "admin key": _row(200, 200, 202, 202),
    "JWT folio:read": _row(200, 200, 403, 403),
    "JWT folio:write": _row(200, 200, 202, 403),
    "JWT folio:admin": _row(200, 200, 202, 202),
}


def _cells():
    for credential in CREDENTIALS:
        for endpoint in ENDPOINTS:
            yield pytest.param(credential, endpoint, id=f"{credential} | {endpoint}")


OBSERVED: dict[tuple[str, str], int] = {}


@pytest.fixture(scope="module")
def table_file(tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / "access-matrix.md"
    yield path
    endpoints = list(ENDPOINTS)
    lines = ["| credentials | " + " | ".join(endpoints) + " |", "|---" * (len(endpoints) + 1) + "|"]
    for credential in CREDENTIALS:
        cells = [str(OBSERVED.get((credential, e), "-")) for e in endpoints]
        lines.append(f"| {credential} | " + " | ".join(cells) + " |")
    path.write_text("\n".join(lines) + "\n")
    print(f"\naccess matrix written to {path}")


async def seed(rows) -> None:
    for pid in ("P1", "P2"):
        await rows.portfolio(pid)
        await rows.position(pid, "AAPL", quantity="10", cost_local="1502.50")
        await rows.lot(pid, "AAPL", "T1", date(2024, 1, 2), quantity="10", cost_local="1502.50")
        await rows.transaction(pid, "T1", security_id="AAPL", quantity="10", price="150.25")
        await rows.dead_letter("transactions", {"P1": 1, "P2": 2}[pid], "invalid_event", key=pid)
    await rows.instrument("AAPL")
    await rows.price("AAPL", date(2024, 1, 2), "185.64")


@pytest.fixture(scope="module")
async def matrix_broker(tmp_path_factory):
    """A broker of the module's own with Folio's topics: an admin's redrive really runs (on no letters)."""
    with TansuBroker(tmp_path_factory.mktemp("tansu-matrix")) as running:
        await apply_topics(running.bootstrap, load_topics(PACKAGED_TOPICS_FILE))
        yield running.bootstrap


@pytest.fixture
async def authed_client(make_client, api_database_url, rows, start_worker_stub, fake_publisher, matrix_broker):
    """The real app with keys and an HS256 JWT configuration, on seeded PostgreSQL and a worker stub."""
    await seed(rows)

    async def make(**auth):
        settings = dict(api_keys=ENV_KEYS, jwt=JwtSettings(issuer=ISSUER, audience=AUDIENCE, secret=SECRET))
        settings.update(auth)
        worker = start_worker_stub({pid: live_answer(pid, positions=[
            position(pid, "AAPL", lot("T1", "2024-01-02", 1, "10", "1502.50"))]) for pid in ("P1", "P2")})
        return await make_client(database_url=api_database_url, worker_url=worker, publisher=fake_publisher,
                                 kafka_bootstrap=matrix_broker, auth=AuthSettings(**settings))

    return make


async def answer(client: httpx.AsyncClient, method: str, path: str, body, headers: dict[str, str]) -> httpx.Response:
    """The endpoint's answer; for the endless position stream, how it starts (status and headers)."""
    if path.endswith("/stream"):
        return await stream_opening(client.app, path, headers)
    return await client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("credential,endpoint", list(_cells()))
async def test_every_credential_gets_the_expected_status_from_every_endpoint(
        authed_client, table_file, credential, endpoint):
    client = await authed_client()
    method, path, body = ENDPOINTS[endpoint]

    response = await answer(client, method, path, body, CREDENTIALS[credential]())

    OBSERVED[(credential, endpoint)] = response.status_code
    assert response.status_code == EXPECTED[credential][endpoint], response.text
    if response.status_code == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ["/health/ready", "/metrics"])
async def test_ops_endpoints_ask_a_caller_off_loopback_for_credentials(authed_client, path):
    app = (await authed_client()).app
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://folio.test") as client:
        anonymous = await client.get(path)
        with_key = await client.get(path, headers=_bearer(KEYS["read"]))
        live = await client.get("/health/live")

    # 503 from readiness is its answer past the guard: no broker here.
    assert (anonymous.status_code, with_key.status_code, live.status_code) == (
        401, 503 if path == "/health/ready" else 200, 200)
