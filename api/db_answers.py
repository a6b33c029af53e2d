"""Answers read from PostgreSQL, kept until PostgreSQL says they changed.

Why: a live `/valuation` read the portfolio's booked income, and
`/performance` its whole daily series, from PostgreSQL on every request,
though both change only when the sink or the series worker commits (about a
third of a live valuation's CPU and most of a performance answer's). Triggers
(sink/migrations/011_change_notices.sql) notify `folio_changed` at every commit
that touches what these answers read; one connection per API process
LISTENs, and an answer is served from memory while no notice for its
portfolio has arrived since it was read.

The rule, in `ChangeLog`: every notice gets the next number; a read takes the
current number (its token) before it starts, and its answer stays good while
the portfolio's last notice, and the last notice for everything, are not
newer than that token. A read that began after a notice was handled began
after that commit, so it saw it; a commit it may have missed is announced
after the token was taken, so it invalidates the answer.

What can go wrong, and what happens:
- The database lacks the triggers (an API newer than its schema): nothing
  is kept until they exist.
- The listening connection drops, or its heartbeat (`SELECT 1` every
  HEARTBEAT seconds) stops coming back: nothing is served from memory until
  it listens again, and answers read before that never are (a notice may
  have been missed in between). Reads go to PostgreSQL meanwhile, as before.
- Notices arrive after the commit they announce, typically well under a
  millisecond on one machine: a read in that gap may still get the answer
  from before the commit, as if it had arrived a moment earlier. Such an
  answer already lags the worker by the sink's own delay.
- Memory: at most `max_entries` answers and `max_bytes`, least recently used
  dropped first; the change log remembers `remember` portfolios (an older
  portfolio's notice counts as the oldest one remembered: only ever more
  re-reads, never a stale answer).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

from api.db import Database, asyncpg_dsn
from folio.tasks import cancel_and_wait
from sink.change_notices import CHANNEL, EVERYTHING

log = logging.getLogger("folio.api.db_answers")

HEARTBEAT = 5.0  # seconds between the listening connection's SELECT 1
APPLICATION_NAME = "folio-api-change-notices"  # the listening connection, as pg_stat_activity shows it
TRUSTED_FOR = 2 * HEARTBEAT  # without a heartbeat answered for this long, nothing is served from memory

T = TypeVar("T")
# Migration 011 is one transaction: its function exists exactly when its triggers do.
_NOTICES_INSTALLED = "SELECT to_regproc('folio_notice_everything') IS NOT NULL"


class ChangeLog:
    """Which portfolios changed since a token was taken, as PostgreSQL's notices told (pure: no I/O)."""

    def __init__(self, remember: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.remember = remember
        self._clock = clock
        self._seq = 0
        self._since: int | None = None  # the number listening began at; None: not listening
        self._heard_at = float("-inf")  # when the listening connection last answered
        self._everything = 0
        self._last: OrderedDict[str, int] = OrderedDict()  # portfolio → its last notice, oldest first
        self._forgotten = 0  # the last notice of the portfolios no longer remembered

    def listening(self) -> None:
        """LISTEN is in place: tokens from now on count (earlier ones never again)."""
        self._seq += 1
        self._since = self._seq
        self.heard()

    def deaf(self) -> None:
        self._since = None

    def heard(self) -> None:
        self._heard_at = self._clock()

    def notice(self, payload: str) -> None:
        self._seq += 1
        if payload == EVERYTHING:
            self._everything = self._seq
            return
        self._last[payload] = self._seq
        self._last.move_to_end(payload)
        while len(self._last) > self.remember:
            _, self._forgotten = self._last.popitem(last=False)

    def _trusted(self) -> bool:
        return self._since is not None and self._clock() - self._heard_at < TRUSTED_FOR

    def token(self) -> int | None:
        """The number to keep with a read about to start; None: a read now must not be kept."""
        return self._seq if self._trusted() else None

    def unchanged(self, portfolio_id: str, token: int) -> bool:
        """Whether nothing the portfolio's answers read has changed since `token` was taken."""
        since = self._since
        return (since is not None and self._trusted() and token >= since and self._everything <= token
                and self._last.get(portfolio_id, self._forgotten) <= token)


@dataclass(slots=True)
class _Kept:
    token: int
    value: Any
    size: int


class DbAnswers:
    """Answers kept by (portfolio, key) while `changes` says the portfolio is unchanged."""

    def __init__(self, changes: ChangeLog, listener: ChangeListener | None = None,
                 max_entries: int = 4096, max_bytes: int = 32 << 20) -> None:
        self.changes = changes
        self._listener = listener
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._kept: OrderedDict[tuple[str, Hashable], _Kept] = OrderedDict()
        self._bytes = 0

    async def answer(self, portfolio_id: str, key: Hashable, read: Callable[[], Awaitable[T]],
                     size: Callable[[T], int] = lambda _: 64) -> T:
        """The answer kept for (portfolio, key) if it is still good, else `read()`'s (kept when it may be)."""
        if self._listener is not None:
            self._listener.ensure_started()
        slot = (portfolio_id, key)
        kept = self._kept.get(slot)
        if kept is not None:
            if self.changes.unchanged(portfolio_id, kept.token):
                self._kept.move_to_end(slot)
                return kept.value
            self._drop(slot)
        token = self.changes.token()
        value = await read()
        if token is not None:
            self._drop(slot)
            kept = self._kept[slot] = _Kept(token, value, size(value))
            self._bytes += kept.size
            while self._kept and (len(self._kept) > self.max_entries or self._bytes > self.max_bytes):
                _, oldest = self._kept.popitem(last=False)
                self._bytes -= oldest.size
        return value

    def _drop(self, slot: tuple[str, Hashable]) -> None:
        kept = self._kept.pop(slot, None)
        if kept is not None:
            self._bytes -= kept.size

    async def aclose(self) -> None:
        if self._listener is not None:
            await self._listener.aclose()


class ChangeListener:
    """One connection LISTENing on the change channel for this API process, reconnecting for ever."""

    def __init__(self, database: Database, changes: ChangeLog) -> None:
        self.database = database
        self.changes = changes
        self._task: asyncio.Task | None = None

    def ensure_started(self) -> None:
        if self.database.url and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._run(), name="folio-api-change-listener")

    async def _run(self) -> None:
        delay = 0.2
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(asyncpg_dsn(self.database.url), timeout=self.database.timeout,
                                             server_settings={"application_name": APPLICATION_NAME})
                await conn.add_listener(CHANNEL, self._on_notice)
                # A database without the triggers (migration 011 not applied yet) would never say a
                # thing changed: nothing is kept until they exist.
                while not await conn.fetchval(_NOTICES_INSTALLED, timeout=HEARTBEAT):
                    log.warning("change notices: the database has no change-notice triggers (migration 011); "
                                "answers are read afresh until it has")
                    await asyncio.sleep(HEARTBEAT)
                # A connection the server closes stops the trust at once, not at the next heartbeat.
                conn.add_termination_listener(lambda _conn: self.changes.deaf())
                self.changes.listening()
                delay = 0.2
                while True:
                    await asyncio.sleep(HEARTBEAT)
                    await conn.fetchval("SELECT 1", timeout=HEARTBEAT)
                    self.changes.heard()
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("change notices: database unavailable (%s); answers are read afresh; retrying in %.1fs",
                            exc, delay)
            except Exception:  # never stop listening for good: log it and connect again
                log.exception("change notices: listening failed; retrying in %.1fs", delay)
            finally:
                self.changes.deaf()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _on_notice(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.changes.notice(payload)

    async def aclose(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        self.changes.deaf()
