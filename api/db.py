"""The SQLAlchemy async engine on DATABASE_URL (asyncpg driver).

DATABASE_URL is a libpq-style URL: `postgresql://user:pw@host:5432/db`, or the
unix-socket form `postgresql://user@/db?host=/socket/dir` that the embedded
PostgreSQL gives. SQLAlchemy needs `postgresql+asyncpg://` to pick its driver;
the connection itself is opened by asyncpg from the plain URL, whose parser
understands every libpq form (socket dir in `host`, sslmode, passfile, …).
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from api.errors import DatabaseUnavailable

_SCHEMES = ("postgresql+asyncpg://", "postgresql://", "postgres://")


def _rest(url: str) -> str:
    for scheme in _SCHEMES:
        if url.startswith(scheme):
            return url[len(scheme):]
    raise ValueError(f"DATABASE_URL must start with postgresql:// (got {url.split('://', 1)[0]}://)")


def sqlalchemy_url(url: str) -> str:
    """`postgresql://…` → `postgresql+asyncpg://…` (query, socket dir and all kept)."""
    return "postgresql+asyncpg://" + _rest(url)


def asyncpg_dsn(url: str) -> str:
    """The plain `postgresql://…` form asyncpg.connect parses."""
    return "postgresql://" + _rest(url)


def _json_loads(text: str) -> object:
    return json.loads(text, parse_float=Decimal)  # jsonb numbers stay exact


def make_engine(url: str, timeout: float = 5.0) -> AsyncEngine:
    dsn = asyncpg_dsn(url)

    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(dsn, timeout=timeout, command_timeout=max(timeout, 30.0))

    return create_async_engine(
        sqlalchemy_url(url),
        async_creator=connect,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=timeout,
        json_deserializer=_json_loads,
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


_CONNECT_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError,
                   sa_exc.DBAPIError, sa_exc.TimeoutError)
# A connection the server dropped: the query on it fails, a fresh one may not.
_LOST_CONNECTION = (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError, ConnectionError)
# What a write that PostgreSQL may miss (ingest receipts, audit rows) catches.
DATABASE_ERRORS = (DatabaseUnavailable, sa_exc.DBAPIError, sa_exc.TimeoutError, OSError, TimeoutError)


class Database:
    """The engine on DATABASE_URL, made on first use; sessions that answer 503
    (DatabaseUnavailable) when PostgreSQL cannot be reached or is not configured."""

    def __init__(self, url: str | None, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._pool: asyncpg.Pool | None = None
        self._pool_made = asyncio.Lock()

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            if not self.url:
                raise DatabaseUnavailable("no database configured (set DATABASE_URL)")
            self._engine = make_engine(self.url, self.timeout)
            self._sessions = make_sessionmaker(self._engine)
        return self._engine

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        self.engine  # noqa: B018 - makes the engine (or says there is none)
        assert self._sessions is not None
        async with self._sessions() as session:
            try:
                await session.connection()
            except _CONNECT_ERRORS as exc:
                raise DatabaseUnavailable(f"database unavailable: {type(exc).__name__}: {exc}") from exc
            yield session

    async def ping(self) -> None:
        """SELECT 1; raises DatabaseUnavailable when PostgreSQL does not answer."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except _CONNECT_ERRORS as exc:
            raise DatabaseUnavailable(f"database unavailable: {type(exc).__name__}: {exc}") from exc

    async def fetchval(self, query: str, *args: Any) -> Any:
        """One value of a prepared statement, on a plain asyncpg pool: for reads on every request,
        which through a session pay the pool's pre-ping round trip, BEGIN and ROLLBACK, and
        SQLAlchemy's statement handling (about a third of a live /valuation's CPU, py-spy)."""
        return await self._fetch("fetchval", query, args)

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        """One row, as `fetchval`."""
        return await self._fetch("fetchrow", query, args)

    async def _fetch(self, method: str, query: str, args: tuple) -> Any:
        # A pooled connection that died unnoticed (PostgreSQL restarted) fails the query itself,
        # so a read is tried once more on a fresh connection before answering 503.
        for attempt in (1, 2):
            try:
                pool = await self._raw_pool()
                return await getattr(pool, method)(query, *args)
            except _LOST_CONNECTION as exc:
                if attempt == 2:
                    raise DatabaseUnavailable(f"database unavailable: {type(exc).__name__}: {exc}") from exc
            except _CONNECT_ERRORS as exc:
                raise DatabaseUnavailable(f"database unavailable: {type(exc).__name__}: {exc}") from exc

    async def _raw_pool(self) -> asyncpg.Pool:
        if not self.url:
            raise DatabaseUnavailable("no database configured (set DATABASE_URL)")
        async with self._pool_made:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(asyncpg_dsn(self.url), min_size=0, max_size=5,
                                                       timeout=self.timeout,
                                                       command_timeout=max(self.timeout, 30.0))
        return self._pool

    async def dispose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = self._sessions = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        self._pool_made = asyncio.Lock()  # a lock that waited once is bound to that event loop
