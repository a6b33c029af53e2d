"""The plain asyncpg pool (api.db.Database.fetchval/fetchrow) outlives an app's restart in a new event loop."""
from __future__ import annotations

import asyncio

import asyncpg

import api.db
from api.db import Database


def test_the_plain_pool_serves_again_after_a_dispose_and_a_new_event_loop(api_database_url, monkeypatch):
    real = asyncpg.create_pool

    async def slow_create_pool(*args, **kwargs):  # a pool that takes a moment, as over a network
        await asyncio.sleep(0.01)
        return await real(*args, **kwargs)

    monkeypatch.setattr(api.db.asyncpg, "create_pool", slow_create_pool)
    database = Database(api_database_url)

    async def round_trip() -> list:
        try:  # requests arriving together: all but one wait for the pool on its lock
            return await asyncio.gather(*(database.fetchval("SELECT $1::int", n) for n in range(3)))
        finally:
            await database.dispose()

    assert asyncio.run(round_trip()) == [0, 1, 2]
    assert asyncio.run(round_trip()) == [0, 1, 2]  # a RuntimeError (lock bound to the first loop) before
