"""Apply the numbered SQL migrations in `sink/migrations/` exactly once each."""
from __future__ import annotations

from importlib import resources

import asyncpg

from sink.change_notices import CHANNEL, EVERYTHING

LOCK_ID = 0x466F6C696F  # "Folio": one migrator at a time across processes


def migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("sink.migrations").iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.name, entry.read_text()))
    return sorted(found)


async def migrate(conn: asyncpg.Connection) -> list[str]:
    applied_now = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_ID)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, name, sql in migrations():
            if version in done:
                continue
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name)
            applied_now.append(name)
        if applied_now:
            # A migration may rewrite what answers kept in the API were read from, without a trigger
            # firing (DDL): tell them all at commit.
            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, EVERYTHING)
    return applied_now
