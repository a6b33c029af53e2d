"""The position stream: the sink's event log (`stream_events`) → each subscribed client.

One `StreamHub` per API process LISTENs on `folio_stream` (sink.stream_log
notifies at each commit) on one asyncpg connection, reads the rows after the
last id it saw (whole sink transactions), values the subscribed portfolios
they touch once per read (`api.valuation.value_current`: PostgreSQL, where
the rows and market data that triggered the events already are), and offers
each subscriber its portfolio's events on a bounded queue. A subscriber whose
queue is full is dropped (its connection closed): it never blocks the hub or
another client, and reconnects with Last-Event-ID without missing anything.

Event ids: a log row's id `n`; the valuation after a sink transaction is
`<k>v`, k being the last row of that transaction that moved the portfolio's
value (its position or cash rows, or a price or FX rate it depends on), so it
sorts after every event it follows and before the next transaction's. Since
the sink writes a transaction's rows in the order transaction, position, cash,
market, the row a client last saw tells by itself whether the valuation after
it is still due. A resume replays rows from the log with the same rules.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby
from operator import attrgetter

import asyncpg
from pydantic import BaseModel

from api.db import Database, asyncpg_dsn
from api.db_answers import ChangeLog
from api.errors import DatabaseUnavailable
from api.models import StreamCashOut, StreamPositionOut, StreamResetOut, StreamTransactionOut
from api.queries.rows import CashRow, PositionRow
from api.queries.stream import LogRow, log_head, read_log
from api.responses import position_out, valuation_out
from api.valuation import ValuedBook, value_current
from folio.tasks import cancel_and_wait
from sink.stream_log import NOTIFY_CHANNEL

log = logging.getLogger("folio.api.stream")

ID_PATTERN = r"^[0-9]{1,18}v?$"
POLL_SECONDS = 5.0  # read the log this often even without a notification (one lost with a reconnect)
_ID = re.compile(ID_PATTERN)


@dataclass(frozen=True, order=True, slots=True)
class EventId:
    row: int
    valuation: bool = False

    def __str__(self) -> str:
        return f"{self.row}v" if self.valuation else str(self.row)

    @classmethod
    def parse(cls, text: str) -> EventId:
        if not _ID.match(text):
            raise ValueError("must be an event id: digits, optionally followed by v")
        return cls(int(text.rstrip("v")), text.endswith("v"))


@dataclass(frozen=True, slots=True)
class Event:
    id: EventId
    frame: bytes  # the SSE lines, encoded once for every client

    @classmethod
    def of(cls, event_id: EventId, name: str, data: BaseModel) -> Event:
        return cls(event_id, b"event: %s\nid: %s\ndata: %s\n\n" % (
            name.encode(), str(event_id).encode(), data.model_dump_json().encode()))


def _moves(row: LogRow, book: ValuedBook) -> bool:
    """Whether a market row (price or FX rate) moves the book's value."""
    valuation = book.valuation
    if row.kind == "price":
        return any(p.security_id == row.payload["security_id"] and p.open for p in valuation.positions)
    needed = {p.currency for p in valuation.positions if p.open} | {c.currency for c in valuation.cash}
    needed.discard(valuation.base_currency)
    return bool(needed & {row.payload["from_currency"], row.payload["to_currency"]})


def _event(row: LogRow, portfolio_id: str, book: ValuedBook) -> Event:
    data = row.payload
    if row.kind == "transaction":
        return Event.of(EventId(row.id), "transaction", StreamTransactionOut(portfolio_id=portfolio_id, **data))
    if row.kind == "cash":
        value = book.cash(CashRow(data["currency"], Decimal(data["balance"])))
        return Event.of(EventId(row.id), "cash", StreamCashOut(
            portfolio_id=portfolio_id, currency=value.currency, balance=value.balance, amount_base=value.mv_base,
            fx=value.fx, valuation_status=value.valuation_status))
    position = PositionRow(data["security_id"], data["currency"], *(Decimal(data[f]) for f in (
        "quantity", "cost_local", "cost_base", "realized_local", "realized_base")))
    return Event.of(EventId(row.id), "position",
                    position_out(book.position(position), StreamPositionOut, portfolio_id=portfolio_id))


def derive(rows: Iterable[LogRow], portfolio_id: str, book: ValuedBook) -> list[Event]:
    """The portfolio's events from log rows (whole sink transactions, in id order)."""
    events = []
    for _, transaction in groupby(rows, key=attrgetter("txid")):
        moved_by = None
        for row in transaction:
            if row.portfolio_id == portfolio_id:
                events.append(_event(row, portfolio_id, book))
                if row.kind in ("position", "cash"):
                    moved_by = row.id
            elif row.portfolio_id is None and _moves(row, book):
                moved_by = row.id
        if moved_by is not None:
            events.append(Event.of(EventId(moved_by, True), "valuation",
                                   valuation_out(portfolio_id, None, "live", book.valuation)))
    return events


@dataclass(eq=False)
class Subscriber:
    """One client's bounded queue of events; `dropped` is set when it overflowed."""

    portfolio_id: str
    queue: asyncio.Queue[Event]
    dropped: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, events: list[Event]) -> bool:
        for event in events:
            try:
                self.queue.put_nowait(event)
            except asyncio.QueueFull:
                self.dropped.set()
                return False
        return True


class StreamHub:
    """The API process's one listener on the event log, and its subscribers by portfolio."""

    def __init__(self, database: Database, queue_size: int, changes: ChangeLog | None = None) -> None:
        self.database = database
        self.queue_size = queue_size
        # Told of the portfolios each round's rows name before any client hears of them: a client that
        # reads /valuation after a `transaction` event is never answered from before it (api.db_answers).
        self.changes = changes
        self.last_id: int | None = None  # the newest log row read
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._valued_at = 0.0
        self._books: dict[str, ValuedBook] = {}  # each subscribed portfolio as last valued

    async def subscribe(self, portfolio_id: str) -> tuple[Subscriber, int]:
        """A new subscriber, and the last log row read before it (it gets every later event)."""
        await self._start()
        subscriber = Subscriber(portfolio_id, asyncio.Queue(self.queue_size))
        self._subscribers.setdefault(portfolio_id, set()).add(subscriber)
        return subscriber, self.last_id

    def unsubscribe(self, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(subscriber.portfolio_id)
        if subscribers is not None:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._subscribers[subscriber.portfolio_id]
                self._books.pop(subscriber.portfolio_id, None)

    async def _start(self) -> None:
        if not self.database.url:
            raise DatabaseUnavailable("no database configured (set DATABASE_URL)")
        if self._task is None or self._task.done():
            self._ready.clear()
            self._task = asyncio.create_task(self._run(), name="folio-stream-hub")
        try:
            await asyncio.wait_for(self._ready.wait(), self.database.timeout)
        except TimeoutError:
            raise DatabaseUnavailable("database unavailable: the position stream cannot listen") from None

    async def _run(self) -> None:
        delay = 0.2
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(asyncpg_dsn(self.database.url), timeout=self.database.timeout)
                await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
                if self.last_id is None:
                    self.last_id = (await log_head(conn))[0]
                self._ready.set()
                delay = 0.2
                while True:
                    self._wake.clear()
                    await self._pump(conn)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, DatabaseUnavailable) as exc:
                log.warning("position stream: database unavailable (%s); retrying in %.1fs", exc, delay)
            except Exception:  # never let one bad round end every stream: log it, read again
                log.exception("position stream: reading the event log failed; retrying in %.1fs", delay)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _pump(self, conn: asyncpg.Connection) -> None:
        while True:
            started = time.perf_counter()
            rows = await read_log(conn, self.last_id + 1)
            if not rows:
                return
            before, self.last_id = self.last_id, rows[-1].id  # a subscriber joining from here on starts after them
            read = time.perf_counter()
            try:
                valued, offered = await self._dispatch(rows)
            except BaseException:
                self.last_id = before  # read them again: nobody misses them
                raise
            log.debug("stream round: %d rows, %d portfolios offered %d events; read %.1f ms, valued %.1f ms, "
                      "derived and offered %.1f ms", len(rows), valued, offered, (read - started) * 1000,
                      (self._valued_at - read) * 1000, (time.perf_counter() - self._valued_at) * 1000)

    async def _dispatch(self, rows: list[LogRow]) -> tuple[int, int]:
        """Offer the rows' events to their subscribers; (portfolios valued, events offered)."""
        named = {r.portfolio_id for r in rows}
        if self.changes is not None:
            for pid in named:
                if pid is not None:
                    self.changes.notice(pid)
        market = [r for r in rows if r.portfolio_id is None]
        # A market row moves a portfolio through what it holds; holdings change only by the portfolio's
        # own rows, so the book valued last time tells (a portfolio not valued yet is valued).
        touched = sorted(pid for pid in self._subscribers if pid in named or (market and (
            pid not in self._books or any(_moves(r, self._books[pid]) for r in market))))
        books = {}
        if touched:
            async with self.database.session() as session:
                books = await value_current(session, touched, {
                    pid: self._books[pid] for pid in touched if pid not in named and pid in self._books})
            self._books.update(books)
        self._valued_at, offered = time.perf_counter(), 0
        for pid in touched:
            book = books.get(pid)
            if book is None:
                continue
            events = derive((r for r in rows if r.portfolio_id in (pid, None)), pid, book)
            for subscriber in list(self._subscribers.get(pid, ())):
                offered += len(events)
                if events and not subscriber.offer(events):
                    log.warning("position stream: a client of %s fell %d events behind; disconnecting it",
                                pid, self.queue_size)
                    self.unsubscribe(subscriber)
        return len(books), offered

    async def aclose(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None


@dataclass
class Subscription:
    """One client's stream: its resume point, then the hub's live events after it."""

    hub: StreamHub
    portfolio_id: str
    subscriber: Subscriber
    cursor: EventId  # the last event the client has
    replay_to: int  # replay the log up to here; the hub delivers what follows
    reset: StreamResetOut | None = None
    heartbeat: float = 15.0

    async def frames(self) -> AsyncIterator[bytes]:
        yield b": folio position stream of " + self.portfolio_id.encode() + b"\n\n"
        if self.reset is not None:
            yield Event.of(self.cursor, "reset", self.reset).frame
        async for event in self._replay():
            yield event.frame
        while True:
            try:
                event = await asyncio.wait_for(self.subscriber.queue.get(), self.heartbeat)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if event.id > self.cursor:
                self.cursor = event.id
                yield event.frame

    async def _replay(self) -> AsyncIterator[Event]:
        after, book = self.cursor.row, None
        while EventId(after) <= self.cursor < EventId(self.replay_to, True):
            async with self.hub.database.session() as session:
                if book is None:
                    book = (await value_current(session, [self.portfolio_id])).get(self.portfolio_id)
                    if book is None:
                        return
                conn = (await (await session.connection()).get_raw_connection()).driver_connection
                rows = await read_log(conn, after, self.portfolio_id)
            if not rows:
                return
            for event in derive(rows, self.portfolio_id, book):
                if event.id > self.cursor:
                    self.cursor = event.id
                    yield event
            after = rows[-1].id + 1

    def close(self) -> None:
        self.hub.unsubscribe(self.subscriber)


async def open_subscription(hub: StreamHub, portfolio_id: str, last_event_id: EventId | None,
                            heartbeat: float) -> Subscription:
    """Subscribe first, then decide where the client's stream starts (no gap, no duplicate)."""
    subscriber, read_up_to = await hub.subscribe(portfolio_id)
    try:
        now = EventId(read_up_to, True)
        if last_event_id is None:
            return Subscription(hub, portfolio_id, subscriber, now, read_up_to, heartbeat=heartbeat)
        async with hub.database.session() as session:
            conn = (await (await session.connection()).get_raw_connection()).driver_connection
            head, pruned = await log_head(conn)
        if last_event_id.row > max(head, read_up_to) or (pruned and last_event_id.row <= pruned):
            reason = ("older than the stream keeps (FOLIO_STREAM_RETENTION): events were missed"
                      if last_event_id.row <= pruned else "unknown to this stream's log")
            return Subscription(hub, portfolio_id, subscriber, now, read_up_to, heartbeat=heartbeat,
                                reset=StreamResetOut(reason=reason, last_event_id=str(last_event_id)))
        return Subscription(hub, portfolio_id, subscriber, last_event_id, read_up_to, heartbeat=heartbeat)
    except BaseException:
        hub.unsubscribe(subscriber)
        raise
