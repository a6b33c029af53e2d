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
- The database lacks the triggers, or they were disabled (an API newer than
  its schema, a restore): nothing is kept until they are there.
- The listening connection drops: nothing is served from memory until it
  listens again, and answers read before that never are (a notice may have
  been missed in between). Reads go to PostgreSQL meanwhile, as before.
- Notices stop reaching it while its connection stays up (a cut without a
  reset, a transaction pooler, the pool following a failover elsewhere):
  its heartbeat, a probe notified through the reads' own pool, stops coming
  back, and after TRUSTED_FOR nothing is served from memory: the longest an
  answer can be stale.
- A writer session that runs with `session_replication_role = replica`
  (pg_restore --disable-triggers, logical replication apply) fires no
  trigger: restart the API processes after such a load.
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
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

from api.db import Database, asyncpg_dsn
from api.errors import DatabaseUnavailable
from folio.tasks import cancel_and_wait
from sink.change_notices import CHANNEL, EVERYTHING, INSTALLED, PROBE_CHANNEL, TRIGGERS

log = logging.getLogger("folio.api.db_answers")

HEARTBEAT = 5.0  # seconds between the listener's probes (ChangeListener)
LISTENER_TIMEOUT = 5.0  # seconds for the listening connection's own queries
APPLICATION_NAME = "folio-api-change-notices"  # the listening connection, as pg_stat_activity shows it
TRUSTED_FOR = 2 * HEARTBEAT  # without a probe heard back for this long, nothing is served from memory

T = TypeVar("T")


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
    """One connection LISTENing on the change channel for this API process, reconnecting for ever.

    Its heartbeat is a probe: every HEARTBEAT seconds it notifies PROBE_CHANNEL through the
    database's pool (the connections reads use) and trusts the change log again only when that
    notice comes back on the listening connection. So a listener that cannot hear the reads'
    server (a transaction pooler, which drops LISTEN; the pool on another host after a failover; a
    connection cut without a reset) is not trusted for longer than TRUSTED_FOR. It also checks each
    time that the triggers are still there and enabled (a restore may have dropped or disabled them).
    """

    def __init__(self, database: Database, changes: ChangeLog) -> None:
        self.database = database
        self.changes = changes
        self._task: asyncio.Task | None = None
        self._closed = False
        self._probe = ""
        self._probe_back = asyncio.Event()
        self._warned = False

    def ensure_started(self) -> None:
        if self.database.url and not self._closed and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._run(), name="folio-api-change-listener")

    async def _run(self) -> None:
        delay = 0.2
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(asyncpg_dsn(self.database.url), timeout=self.database.timeout,
                                             command_timeout=LISTENER_TIMEOUT,
                                             server_settings={"application_name": APPLICATION_NAME})
                await conn.add_listener(CHANNEL, self._on_notice)
                await conn.add_listener(PROBE_CHANNEL, self._on_probe)
                # A connection the server closes stops the trust at once, not at the next heartbeat.
                conn.add_termination_listener(lambda _conn: self.changes.deaf())
                delay = 0.2
                await self._heartbeats(conn)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("change notices: database unavailable (%s); answers are read afresh; retrying in %.1fs",
                            exc, delay)
            except Exception:  # never stop listening for good: log it and connect again
                log.exception("change notices: listening failed; retrying in %.1fs", delay)
            finally:
                self.changes.deaf()
                if conn is not None:
                    conn.terminate()  # nothing to close gracefully, and a cut connection would hang in close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _installed(self, conn: asyncpg.Connection) -> str | None:
        """The version of the triggers' rows when every one is there and enabled, else None."""
        row = await conn.fetchrow(INSTALLED, list(TRIGGERS))
        return row["version"] if row["complete"] else None

    async def _until_installed(self, conn: asyncpg.Connection) -> str:
        # A database without the triggers (migrations 011-012 not applied yet) would never say a
        # thing changed: nothing is kept until they exist.
        while (version := await self._installed(conn)) is None:
            (log.debug if self._warned else log.warning)(
                "change notices: the database lacks the enabled change-notice triggers (migrations 011-012); "
                "answers are read afresh until it has them")
            self._warned = True
            await asyncio.sleep(HEARTBEAT)
        self._warned = False
        return version

    async def _heartbeats(self, conn: asyncpg.Connection) -> None:
        triggers = await self._until_installed(conn)
        self.changes.listening()
        missed = 0
        while True:
            await asyncio.sleep(HEARTBEAT)
            if await self._installed(conn) != triggers:
                # Gone, disabled, or changed since (disabled and enabled again between two checks
                # leaves a new row version): notices may have been missed; trust nothing read before.
                self.changes.deaf()
                triggers = await self._until_installed(conn)
                self.changes.listening()
                continue
            self._probe = uuid.uuid4().hex
            self._probe_back.clear()
            with contextlib.suppress(DatabaseUnavailable):
                await self.database.fetchval("SELECT pg_notify($1, $2)", PROBE_CHANNEL, self._probe)
            try:
                await asyncio.wait_for(self._probe_back.wait(), HEARTBEAT)
            except TimeoutError:
                # Notices in between may have been lost (a pooler hands LISTEN's session around):
                # nothing read before counts once probes come back.
                self.changes.deaf()
                missed += 1
                if missed >= 3:  # listen afresh: whatever this connection hears, it is not the reads' server
                    raise ConnectionError(f"no probe heard back in {missed} heartbeats") from None
            else:
                if missed:
                    self.changes.listening()
                else:
                    self.changes.heard()
                missed = 0

    def _on_notice(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.changes.notice(payload)

    def _on_probe(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload == self._probe:
            self._probe_back.set()

    async def aclose(self) -> None:
        self._closed = True
        await cancel_and_wait(self._task)
        self._task = None
        self.changes.deaf()
