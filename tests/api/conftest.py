"""Factories for API tests: a throwaway PostgreSQL database with the sink's
schema, rows inserted straight into it, a stub of the worker's live endpoint,
and API clients (httpx over ASGI) wired to them."""
from __future__ import annotations

import hashlib
import itertools
import json
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import date, datetime, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from api.auth.settings import AuthSettings
from api.deps import get_publisher
from api.main import create_app
from api.settings import ApiSettings
from sink.migrate import migrate

TABLES = ("portfolios", "positions", "lots", "position_history", "cash_balances", "transactions",
          "instruments", "prices", "fx_rates", "dead_letters", "transaction_versions", "ingest_receipts",
          "dead_letter_redrives", "stage_starts", "stage_heartbeats", "audit_log", "realized_lots", "daily_series",
          "stream_events", "stream_log")
NO_WORKER = "http://127.0.0.1:9"  # discard port: nothing answers


def database_name(dsn: str) -> str:
    """The database a URL names (its path; the socket directory is in the query)."""
    return urlsplit(dsn).path.lstrip("/")


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
async def api_database_url(postgres) -> AsyncIterator[str]:
    """A database of its own on the session's PostgreSQL, migrated; dropped at the end."""
    name = f"folio_api_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres.dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = _with_database(postgres.dsn, name)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    yield url
    admin = await asyncpg.connect(postgres.dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


class Rows:
    """Inserts the sink's rows directly; decimals are given as strings."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._arrivals = itertools.count(1)
        self._seq = itertools.count(1)

    async def portfolio(self, portfolio_id: str = "P1", *, name: str | None = None, base_currency: str = "USD",
                        cost_method: str = "FIFO", open_date: date = date(2024, 1, 2),
                        benchmark_id: str | None = None) -> None:
        await self.conn.execute(
            "INSERT INTO portfolios (portfolio_id, name, base_currency, cost_method, open_date, benchmark_id, seq)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            portfolio_id, name or f"Portfolio {portfolio_id}", base_currency, cost_method, open_date,
            benchmark_id, next(self._seq))

    async def position(self, portfolio_id: str, security_id: str, *, currency: str = "USD",
                       quantity: str = "0", cost_local: str = "0", cost_base: str | None = None,
                       realized_local: str = "0", realized_base: str | None = None, listed: bool = True) -> None:
        await self.conn.execute(
            "INSERT INTO positions VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            portfolio_id, security_id, currency, _dec(quantity), _dec(cost_local),
            _dec(cost_base if cost_base is not None else cost_local), _dec(realized_local),
            _dec(realized_base if realized_base is not None else realized_local), listed, next(self._seq))

    async def history(self, portfolio_id: str, security_id: str, day: date, *, quantity: str, cost_local: str,
                      cost_base: str | None = None, realized_local: str = "0",
                      realized_base: str | None = None) -> None:
        await self.conn.execute(
            "INSERT INTO position_history VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            portfolio_id, security_id, day, _dec(quantity), _dec(cost_local),
            _dec(cost_base if cost_base is not None else cost_local), _dec(realized_local),
            _dec(realized_base if realized_base is not None else realized_local))

    async def lot(self, portfolio_id: str, security_id: str, transaction_id: str, open_date: date, *,
                  quantity: str, cost_local: str, cost_base: str | None = None, arrival: int | None = None) -> None:
        await self.conn.execute(
            "INSERT INTO lots VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            portfolio_id, security_id, transaction_id, open_date,
            arrival if arrival is not None else next(self._arrivals), _dec(quantity), _dec(cost_local),
            _dec(cost_base if cost_base is not None else cost_local))

    async def transaction(self, portfolio_id: str, transaction_id: str, *, type: str | None = "BUY",  # noqa: A002
                          trade_date: date | None = date(2024, 1, 2), security_id: str | None = None,
                          quantity: str | None = None, price: str | None = None, amount: str | None = None,
                          fees: str | None = "0", currency: str | None = "USD", fx_rate: str | None = None,
                          fx_applied: str | None = "1", status: str = "BOOKED", version: int = 1,
                          settlement_date: date | None = None, arrival: int | None = None,
                          realized_local: str = "0", realized_base: str | None = None,
                          cash_effect: dict[str, str] | None = None) -> None:
        await self.conn.execute(
            "INSERT INTO transactions VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"
            " $15, $16, $17, $18, $19, $20)",
            portfolio_id, transaction_id, version, status, type, trade_date, settlement_date, security_id,
            _dec(quantity), _dec(price), _dec(amount), _dec(fees), currency, _dec(fx_rate), _dec(fx_applied),
            arrival if arrival is not None else next(self._arrivals), _dec(realized_local),
            _dec(realized_base if realized_base is not None else realized_local),
            json.dumps(cash_effect or {}), next(self._seq))

    async def realized_lot(self, portfolio_id: str, transaction_id: str, item: int, security_id: str,
                           lot_transaction_id: str | None, open_date: date | None, close_date: date, *,
                           quantity: str, proceeds: str, cost: str, fx: str = "1") -> None:
        """One closed lot; base figures are the local ones × `fx`, the gain proceeds − cost."""
        figures = [Decimal(v) for v in (quantity, proceeds, cost)]
        gain = figures[1] - figures[2]
        base = [v * Decimal(fx) for v in (figures[1], figures[2], gain)]
        await self.conn.execute(
            "INSERT INTO realized_lots (portfolio_id, transaction_id, item, security_id, lot_transaction_id,"
            " open_date, close_date, quantity, proceeds_local, proceeds_base, cost_local, cost_base, gain_local,"
            " gain_base, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1)",
            portfolio_id, transaction_id, item, security_id, lot_transaction_id, open_date, close_date,
            figures[0], figures[1], base[0], figures[2], base[1], gain, base[2])

    async def dead_letter(self, source_topic: str, offset: int, reason: str, *, partition: int = 0,
                          key: str | None = None, raw_value: str = "{}", field: str | None = None,
                          transaction_id: str | None = None, detail: str = "rejected",
                          at: datetime | None = None, state: str = "open", attempts: int = 1,
                          redrive_id: str | None = None) -> None:
        await self.conn.execute(
            "INSERT INTO dead_letters (source_topic, source_partition, source_offset, key, raw_value, reason,"
            " field, transaction_id, detail, dead_lettered_at, state, attempts, redrive_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            source_topic, partition, offset, key, raw_value, reason, field, transaction_id, detail,
            at or datetime(2024, 1, 2, 12, 0, offset % 60, tzinfo=timezone.utc), state, attempts, redrive_id)

    async def transaction_version(self, portfolio_id: str, transaction_id: str, version: int, *,
                                  status: str = "BOOKED", type: str | None = "BUY",  # noqa: A002
                                  trade_date: date | None = date(2024, 1, 2), security_id: str | None = None,
                                  quantity: str | None = None, price: str | None = None,
                                  amount: str | None = None, currency: str | None = "USD",
                                  seen_at: datetime | None = None) -> None:
        await self.conn.execute(
            "INSERT INTO transaction_versions (portfolio_id, transaction_id, version, status, type, trade_date,"
            " security_id, quantity, price, amount, currency, arrival, seen_at, seq)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            portfolio_id, transaction_id, version, status, type, trade_date, security_id, _dec(quantity),
            _dec(price), _dec(amount), currency, next(self._arrivals),
            seen_at or datetime(2024, 1, 2, 12, version, tzinfo=timezone.utc), next(self._seq))

    # Market and analytics rows (prices, FX, instruments, the daily series, the horizon).

    async def instrument(self, security_id: str, *, name: str | None = None, currency: str = "USD",
                         isin: str | None = None, asset_class: str | None = None, sector: str | None = None,
                         country: str | None = None) -> None:
        await self.conn.execute(
            "INSERT INTO instruments VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)",
            security_id, name or security_id, currency, isin, asset_class, sector, country, next(self._seq))

    async def price(self, security_id: str, day: date, price: str, *, currency: str | None = None) -> None:
        await self.conn.execute(
            "INSERT INTO prices VALUES ($1, $2, $3, $4, 0, $5)",
            security_id, day, _dec(price), currency, next(self._seq))

    async def fx(self, from_currency: str, to_currency: str, day: date, rate: str) -> None:
        await self.conn.execute(
            "INSERT INTO fx_rates VALUES ($1, $2, $3, $4, 0, $5)",
            from_currency, to_currency, day, _dec(rate), next(self._seq))

    async def series(self, portfolio_id: str, day: date, mv: str | None, *, inflow: str | None = "0",
                     outflow: str | None = "0") -> None:
        """One daily_series row; None is an unknown figure (missing market data)."""
        await self.conn.execute(
            "INSERT INTO daily_series (portfolio_id, date, mv, inflow, outflow) VALUES ($1, $2, $3, $4, $5)",
            portfolio_id, day, _dec(mv), _dec(inflow), _dec(outflow))

    async def stage(self, stage: str, *, beat_seconds_ago: float = 1.0, starts_seconds_ago: tuple[float, ...] = (60.0,),
                    counters: dict[str, Any] | None = None) -> None:
        """A stage's recorded starts and its latest heartbeat (folio.telemetry)."""
        for ago in starts_seconds_ago:
            await self.conn.execute("INSERT INTO stage_starts (stage, instance, started_at)"
                                    " VALUES ($1, 'test:1', now() - make_interval(secs => $2))", stage, ago)
        await self.conn.execute(
            "INSERT INTO stage_heartbeats (stage, instance, started_at, beat_at, counters)"
            " VALUES ($1, 'test:1', now() - make_interval(secs => $2), now() - make_interval(secs => $3), $4::jsonb)",
            stage, min(starts_seconds_ago), beat_seconds_ago, json.dumps(counters or {}))

    async def horizon(self, day: date) -> None:
        """The market horizon (the default as-of of analytics)."""
        await self.conn.execute(
            "INSERT INTO market_horizon (singleton, horizon) VALUES (true, $1)"
            " ON CONFLICT (singleton) DO UPDATE SET horizon = EXCLUDED.horizon", day)


@pytest.fixture
async def rows(api_database_url: str) -> AsyncIterator[Rows]:
    """Empty tables for this test, and a factory of rows to put in them."""
    conn = await asyncpg.connect(api_database_url)
    try:
        await conn.execute(f"TRUNCATE {', '.join(TABLES)}")
        yield Rows(conn)
    finally:
        await conn.close()


@pytest.fixture
async def analytics_rows(rows: Rows) -> Rows:
    """`rows`, with the analytics tables (daily series, horizon, series marks) emptied too."""
    await rows.conn.execute("TRUNCATE daily_series, market_horizon, series_marks")
    return rows


class FakePublisher:
    """Records what would have been published: (topic, key, value bytes)."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str, bytes]] = []

    async def publish(self, topic: str, messages) -> None:
        self.published.extend((topic, key, value) for key, value in messages)


@pytest.fixture
def fake_publisher() -> FakePublisher:
    return FakePublisher()


ClientFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """API clients over ASGI: `await make_client(database_url=..., worker_url=..., publisher=...)`."""
    opened: list[tuple[httpx.AsyncClient, Any]] = []

    async def make(*, database_url: str | None = None, worker_url: str = NO_WORKER,
                   publisher: Any = None, kafka_bootstrap: str = "127.0.0.1:9", **settings: Any) -> httpx.AsyncClient:
        # Access control has its own tests (tests/api/auth); routes' tests run with it off
        # unless they pass `auth=AuthSettings(...)`.
        settings.setdefault("auth", AuthSettings.off())
        # Rows are inserted straight into PostgreSQL and read back at once, in this very event loop:
        # whether the change notice is handled before the next request is a race, so answers are kept
        # from PostgreSQL only in the tests of that (tests/api/test_db_answers.py: `db_answers=True`).
        settings.setdefault("db_answers", False)
        app = create_app(ApiSettings(database_url=database_url, worker_url=worker_url,
                                     kafka_bootstrap=kafka_bootstrap, **settings))
        if publisher is not None:
            app.dependency_overrides[get_publisher] = lambda: publisher
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://folio.test")
        client.app = app  # for tests that look at the app (metrics)
        opened.append((client, app))
        return client

    yield make
    for client, app in opened:
        await client.aclose()
        await app.state.resources.aclose()


@pytest.fixture
async def db_client(make_client: ClientFactory, api_database_url: str) -> httpx.AsyncClient:
    """An API client on the test database (no worker, no broker)."""
    return await make_client(database_url=api_database_url)


class _WorkerStub(BaseHTTPRequestHandler):
    """Answers as the worker does, ETag and 304 included (the ETag is the answer's hash here; the
    worker's is a version, streams.live_versions): so the API keeps states and answers from them."""

    answers: dict[str, tuple[int, Any]] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = urlsplit(self.path).path
        if path == "/ready/":
            self._send(200, {"ready": True})
            return
        prefix = "/live/portfolios/"
        if path.startswith(prefix) and path.endswith("/"):
            portfolio_id = unquote(path[len(prefix):-1])
            status, body = self.answers.get(portfolio_id, (404, {"error": "unknown portfolio"}))
            if status != 200:
                self._send(status, body)
                return
            data = json.dumps(body).encode()
            etag = f'"{hashlib.sha256(data).hexdigest()[:16]}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self._send(status, body, {"ETag": etag})
            return
        self._send(404, {"error": "not found"})

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass


@pytest.fixture
def start_worker_stub() -> Iterator[Callable[..., str]]:
    """A real HTTP server answering like the worker's live endpoint:
    `start_worker_stub({"P1": live_answer(...)}, status={"P2": 500})` → its URL.
    `start_worker_stub.tables[url]` is what it answers, by portfolio: change it to change the state."""
    servers: list[ThreadingHTTPServer] = []
    tables: dict[str, dict[str, tuple[int, Any]]] = {}

    def start(answers: dict[str, Any] | None = None, status: dict[str, int] | None = None) -> str:
        table = {pid: (200, body) for pid, body in (answers or {}).items()}
        table.update({pid: (code, {"error": "stub"}) for pid, code in (status or {}).items()})
        handler = type("WorkerStub", (_WorkerStub,), {"answers": table})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        tables[url] = table
        return url

    start.tables = tables
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
