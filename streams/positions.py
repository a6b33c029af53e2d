"""The positions topology: portfolios + transactions → lots, positions, cash.

Run with `faust -A streams.positions worker`. Portfolios and transactions are
both keyed by portfolio_id and co-partitioned, so a portfolio's whole state
lives on one partition of six RocksDB tables. Transactions reach the agent
as record batches (see streams.batcher: Faust's per-message cost is paid once
per batch); each batch is applied through the pure ledger (core.ledger) and
every touched record is written back once (streams.partition_transaction).
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import os
from collections import defaultdict
from typing import Any

import mode
from aiokafka import AIOKafkaProducer

from core.fx import FxBook
from core.market import InstrumentInfo, MarketData
from core.quote_snapshot import snapshot_quotes
from folio import telemetry
from folio.config import load_settings
from folio.consumer_groups import batcher_group_id, transaction_batches_topic
from folio.faults import fault_point
from schemas.decode import Rejection, decode_event
from schemas.events import FxRate, Instrument, Price
from streams.app import make_app
from streams.apply import TRANSIENT, Incoming, LedgerContext, apply_groups, finish_cut_short
from streams.batch_codec import unpack
from streams.batcher import TransactionBatcher
from core.stored import compound_key, loads
from streams.dead_letters import dead_letter, publish_letters
from streams.partition_transaction import PENDING_TABLE
from streams.reference_feed import ReferenceFeed
from streams.take import take_until_idle

log = logging.getLogger(__name__)

app = make_app("positions")
RAW: dict[str, Any] = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
PARTITIONS = app.conf.topic_partitions
BATCH_MAX = int(os.environ.get("FOLIO_BATCH_MAX", "5000"))
BATCH_WITHIN = float(os.environ.get("FOLIO_BATCH_WITHIN", "0.05"))
# And at most this many bytes of packed transactions (plus one message): a batch's memory is
# bounded by it, whatever the backlog (streams.take).
BATCH_MAX_BYTES = int(os.environ.get("FOLIO_BATCH_MAX_BYTES", str(8 << 20)))
# A batch leaves once no event arrived for this long (streams.take); 0: it waits BATCH_WITHIN whole.
BATCH_IDLE = float(os.environ.get("FOLIO_BATCH_IDLE_MS", "2")) / 1000
BATCH_TOPIC = transaction_batches_topic(load_settings().app_id)

portfolio_input = app.topic("portfolios", **RAW)
# Derived from `transactions`, same partitioning; kept a week (the source is
# kept forever, and a reset consumer group re-batches from it).
transaction_batches = app.topic(BATCH_TOPIC, partitions=PARTITIONS, internal=True,
                                config={"cleanup.policy": "delete", "retention.ms": str(7 * 86_400_000)}, **RAW)
reference_input = app.topic("instruments", "prices", "fx_rates", **RAW)


def _table(name: str, help_: str):
    # bytes types select Faust's "raw" codec: values are our own JSON (core.stored).
    return app.Table(name, partitions=PARTITIONS, key_type=bytes, value_type=bytes, help=help_)


books = _table("books", "portfolio definition and the keys it holds, by portfolio_id")
ledger = _table("ledger", "each transaction id's version in effect, by portfolio|transaction_id")
positions = _table("positions", "open lots, totals and realized P&L, by portfolio|security")
cash = _table("cash", "cash balance, by portfolio|currency")
entries = _table("entries", "each position's effective order, by portfolio|security|date|arrival|transaction_id")
days = _table("days", "each position's end-of-day states, by portfolio|security|date")
# Never read by anyone but streams.partition_transaction: it survives a worker, so whoever has
# the partition next can finish a batch the dead worker was writing.
pending = _table(PENDING_TABLE, "the batch being written, until every table's changelog has it")

context = LedgerContext({"books": books, "ledger": ledger, "positions": positions, "cash": cash,
                         "entries": entries, "days": days, PENDING_TABLE: pending},
                        FxBook(), None, None)
# Prices are keyed by security and positions by portfolio: every worker reads
# every price, rate and instrument (a broadcast join), so whichever worker
# owns a portfolio can value it. Shares the FX book the ledger books with.
market = MarketData(fx=context.fx_book)
ready = asyncio.Event()
# Both agents write the same tables: one batch at a time.
state_lock = asyncio.Lock()


def _decoded(topic: str, key: bytes | None, value: bytes | None):
    """A feed record as the screening agent decodes it (a Rejection is skipped: it dead-letters it)."""
    return decode_event(topic, key, value or b"")  # bytes: a key that is not UTF-8 never matches an id


def _apply_fx(key: bytes | None, value: bytes | None) -> None:
    decoded = _decoded("fx_rates", key, value)
    if isinstance(decoded, FxRate):
        context.fx_book.put(decoded.from_currency, decoded.to_currency, decoded.rate_date.isoformat(), decoded.rate)
        context.live_versions.market_moved()


def _apply_price(key: bytes | None, value: bytes | None) -> None:
    decoded = _decoded("prices", key, value)
    if isinstance(decoded, Price):
        market.prices.put(decoded.security_id, decoded.price_date.isoformat(), decoded.price, decoded.currency)
        context.live_versions.market_moved()


def _apply_instrument(key: bytes | None, value: bytes | None) -> None:
    decoded = _decoded("instruments", key, value)
    if isinstance(decoded, Instrument):
        market.instruments[decoded.security_id] = InstrumentInfo(
            decoded.security_id, decoded.name, decoded.currency, decoded.asset_class, decoded.sector, decoded.country)
        context.live_versions.market_moved()


@app.service
class SideServices(mode.Service):
    """FX feed (caught up before anything is applied), changelog producer, transaction batcher."""

    batcher: TransactionBatcher | None = None
    market_feeds: tuple[ReferenceFeed, ...] = ()

    async def on_start(self) -> None:
        broker = load_settings().broker
        context.producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all", linger_ms=0,
                                            max_batch_size=1 << 20, max_request_size=8 << 20)
        await context.producer.start()
        await self._require_co_partitioning()
        context.fx_feed = ReferenceFeed(broker, "fx_rates", _apply_fx)
        await context.fx_feed.start()
        self.market_feeds = (ReferenceFeed(broker, "instruments", _apply_instrument),
                             ReferenceFeed(broker, "prices", _apply_price))
        for feed in self.market_feeds:
            await feed.start()
        await transaction_batches.maybe_declare()
        self.batcher = TransactionBatcher(
            broker, "transactions", BATCH_TOPIC, batcher_group_id(load_settings().app_id),
            session_timeout_ms=int(app.conf.broker_session_timeout * 1000))
        await self.batcher.start()
        ready.set()
        log.info("market caught up: %d rates, %d prices, %d instruments",
                 len(context.fx_book), len(market.prices), len(market.instruments))

    async def _require_co_partitioning(self) -> None:
        """Table partition p holds exactly the keys of source partition p, or nothing is right."""
        for topic in ("portfolios", "transactions"):
            count = len(await context.producer.partitions_for(topic))
            if count != PARTITIONS:
                raise RuntimeError(f"topic {topic!r} has {count} partitions but the tables have {PARTITIONS}: "
                                   f"set FOLIO_PARTITIONS={count} (or recreate the topic)")

    async def on_stop(self) -> None:
        if self.batcher is not None:
            await self.batcher.stop()
        for feed in self.market_feeds:
            await feed.stop()
        if context.fx_feed is not None:
            await context.fx_feed.stop()
        if context.producer is not None:
            await context.producer.stop()


def incoming_records(events: list) -> tuple[dict[int, list[Incoming]], list[dict[str, Any]]]:
    """Source records by partition, record batches unpacked, in arrival order;
    and dead letters for batch messages that cannot be unpacked."""
    by_partition: dict[int, list[Incoming]] = defaultdict(list)
    letters = []
    for event in events:
        m = event.message
        if m.topic == BATCH_TOPIC:
            try:
                unpacked = [Incoming("transactions", m.partition, offset, key, value)
                            for offset, key, value in unpack(m.value or b"")]
            except Exception as exc:  # only the batcher writes here; anything else is set aside
                letters.append(dead_letter(m.topic, m.partition, m.offset, m.key, m.value, "processing_error",
                                           None, f"positions worker: not a record batch: {exc!r}"))
                continue
            by_partition[m.partition] += unpacked
        else:
            by_partition[m.partition].append(Incoming(m.topic, m.partition, m.offset, m.key, m.value))
    return by_partition, letters


async def apply_events(stream) -> None:
    await ready.wait()
    async for events in take_until_idle(stream, BATCH_MAX, within=BATCH_WITHIN, idle=BATCH_IDLE,
                                        max_bytes=BATCH_MAX_BYTES):
        try:
            async with state_lock:
                groups, letters = incoming_records(events)
                letters += await apply_groups(context, groups)
            fault_point("worker:after_changelog")
            await publish_letters(context.producer, letters)
        except Exception:
            # Faust acknowledges the events when this iteration ends, raised
            # or not: die instead, so that they are delivered again.
            log.critical("a batch could be neither applied nor dead-lettered; exiting", exc_info=True)
            os._exit(70)


@app.agent(portfolio_input, concurrency=1)
async def keep_portfolios(stream) -> None:
    await apply_events(stream)


@app.agent(transaction_batches, concurrency=1)
async def keep_ledger(stream) -> None:
    await apply_events(stream)


def screened(m) -> dict[str, Any] | None:
    """The dead letter for an invalid instrument, price or FX rate, or None."""
    try:
        decoded = _decoded(m.topic, m.key, m.value)
    except Exception as exc:
        return dead_letter(m.topic, m.partition, m.offset, m.key, m.value, "processing_error", None,
                           f"screen_reference_data: {type(exc).__name__}: {exc}")
    if isinstance(decoded, Rejection):
        return dead_letter(m.topic, m.partition, m.offset, m.key, m.value,
                           decoded.reason, decoded.field, decoded.detail)
    return None


@app.agent(reference_input)
async def screen_reference_data(stream) -> None:
    """Dead-letter invalid instruments, prices and FX rates (each read once, by the group)."""
    await ready.wait()
    async for event in stream.events():
        letter = screened(event.message)
        telemetry.count_outcomes("reference", [event.message], [letter] if letter else [])
        if letter is not None:
            try:
                await publish_letters(context.producer, [letter])
            except Exception:
                log.critical("a dead letter could not be published; exiting", exc_info=True)
                os._exit(70)


telemetry.expose_on(app, "positions")


def _state(table, key: str) -> dict[str, Any] | None:
    raw = table.get(key)
    return None if raw is None else loads(raw)


def _serving_checks() -> dict[str, bool]:
    """Whether this worker's tables may answer live reads (`/ready/` and every live read).

    `recovery.completed` is set only by the first recovery. After a later
    rebalance (a worker joining or dying) the tables recover again, and until
    that ends a table may hold a promoted standby's lagging state, or nothing
    yet: `app.rebalancing` and `in_recovery` stay true until it is complete.
    """
    return {
        "started": ready.is_set(),
        "tables_recovered": app.tables.recovery.completed.is_set() and not app.tables.recovery.in_recovery,
        "not_rebalancing": not app.rebalancing,
    }


def _worker_identity() -> str:
    return str(app.conf.canonical_url)


@app.page("/ready/")
async def worker_ready(web, request):
    """200 once this worker serves live reads: side services up, tables recovered, not rebalancing."""
    checks = _serving_checks()
    return web.json({"ready": all(checks.values()), **checks, "worker": _worker_identity()},
                    status=200 if all(checks.values()) else 503)


_WORKER_TOKEN = load_settings().worker_token


def _authorized(request) -> bool:
    """With FOLIO_WORKER_TOKEN set, live pages answer only the API (which sends it)."""
    if _WORKER_TOKEN is None:
        return True
    return hmac.compare_digest(request.headers.get("Authorization", "").encode(),
                               f"Bearer {_WORKER_TOKEN}".encode())


@app.page("/live/portfolios/{portfolio_id}/")
@app.table_route(table=books, match_info="portfolio_id")
async def live_portfolio(web, request, portfolio_id: str):
    """The portfolio's live state, answered by the worker that owns its partition.

    `worker` names the answering worker (the owner: other workers forward,
    headers included), `version` is its ETag. During a rebalance the answer is 503, never what a
    recovering table holds.
    """
    if not _authorized(request):
        return web.json({"error": "this page answers the Folio API only (FOLIO_WORKER_TOKEN)"}, status=401)
    checks = _serving_checks()
    if not all(checks.values()):
        context.live_versions.tables_reloaded()
        return web.json({"error": "rebalancing: live reads resume when it ends", **checks,
                         "worker": _worker_identity()}, status=503)
    partition = app.producer.key_partition(books.changelog_topic.get_topic_name(), portfolio_id.encode()).partition
    try:
        whole = await finish_cut_short(context, partition, state_lock, lambda: all(_serving_checks().values()))
    except TRANSIENT as exc:
        whole, why = False, repr(exc)
    else:
        why = "waiting for the batch being applied"
    if not whole:
        return web.json({"error": f"finishing a batch a crash cut short: {why}", "worker": _worker_identity()},
                        status=503)
    etag = context.live_versions.etag(portfolio_id)
    if request.headers.get("If-None-Match") == etag:
        return web.bytes(b"", status=304, headers={"ETag": etag})
    book = _state(books, portfolio_id)
    if book is None:
        return web.json({"error": "unknown portfolio"}, status=404)
    held = [p for s in book["securities"] if (p := _state(positions, compound_key(portfolio_id, s))) is not None]
    balances = [c for ccy in book["currencies"] if (c := _state(cash, compound_key(portfolio_id, ccy))) is not None]
    quotes = snapshot_quotes(market, {p["security_id"]: p["currency"] for p in held if p.get("listed")},
                             [c["currency"] for c in balances], book["definition"]["base_currency"])
    # A position still in the layout before entries and days had tables carries them inline:
    # no live read needs them (history is served from PostgreSQL).
    slim = [{k: v for k, v in p.items() if k not in ("entries", "history")} for p in held]
    # The version in the body too: a worker that forwards the read (table_route) relays the
    # body but not the ETag header, and the API keeps states by it (If-None-Match is forwarded).
    return web.json({"book": book, "positions": slim, "cash": balances, "market": quotes,
                     "worker": _worker_identity(), "version": etag}, headers={"ETag": etag})


# Tables change without a write of ours while partitions move (recovery from the
# changelog, standby promotion): no earlier live answer of this worker stays valid.
@app.on_partitions_revoked.connect
async def _revoked(sender, revoked, **kwargs) -> None:
    context.live_versions.tables_reloaded()
    # A live read may be finishing a cut-short batch (streams.apply.finish_cut_short): the
    # partitions go only once it is done, so its records cannot land after the next owner's.
    async with state_lock:
        pass


@app.on_partitions_assigned.connect
async def _assigned(sender, assigned, **kwargs) -> None:
    context.live_versions.tables_reloaded()


@app.on_rebalance_complete.connect
async def _rebalanced(sender, **kwargs) -> None:
    context.live_versions.tables_reloaded()
