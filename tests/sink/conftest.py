"""A migrated, emptied database per test on the session's PostgreSQL."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from sink.migrate import migrate


@pytest.fixture(scope="session")
async def sink_database_url(postgres) -> AsyncIterator[str]:
    name = f"folio_sink_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres.dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = urlunsplit(urlsplit(postgres.dsn)._replace(path=f"/{name}"))
    conn = await asyncpg.connect(url)
    await migrate(conn)
    await conn.close()
    yield url
    admin = await asyncpg.connect(postgres.dsn)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture
async def db(sink_database_url) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(sink_database_url)
    tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                              " AND tablename <> 'schema_migrations'")
    await conn.execute("TRUNCATE " + ", ".join(r["tablename"] for r in tables))
    yield conn
    await conn.close()
