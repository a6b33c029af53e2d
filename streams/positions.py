"""The positions topology: portfolios + transactions → lots, positions, cash.

Run with `faust -A streams.positions worker`. One agent consumes both topics
(both keyed by portfolio_id, same partition count) so a portfolio's whole
state lives on one partition. Events are taken in batches; each batch is
applied through the pure ledger (core.ledger) and every touched record is
written back once.
"""
from __future__ import annotations

import asyncio
import logging
import os
from collections import defaultdict
from typing import Any

import mode
from aiokafka import AIOKafkaProducer

from core.fx import FxBook
from core.ledger import Duplicate, Rejected, apply_transaction, define_portfolio
from core.transaction import TxFields
from folio.config import load_settings
from schemas.decode import Rejection, decode_event
from schemas.events import FxRate
from streams.app import make_app
from streams.codec import compound_key, dumps, loads
from streams.dead_letters import dead_letter
from streams.changelog import write_changes
from streams.reference_feed import ReferenceFeed
from streams.table_store import RocksKeyValue, TableLedgerStore

log = logging.getLogger(__name__)

app = make_app("positions")
RAW: dict[str, Any] = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
PARTITIONS = app.conf.topic_partitions
BATCH_MAX = int(os.environ.get("FOLIO_BATCH_MAX", "5000"))
BATCH_WITHIN = float(os.environ.get("FOLIO_BATCH_WITHIN", "0.05"))

ledger_input = app.topic("portfolios", "transactions", **RAW)
reference_input = app.topic("instruments", "prices", "fx_rates", **RAW)
dead_letters_topic = app.topic("dead_letters", **RAW)


def _table(name: str, help_: str):
    # bytes types select Faust's "raw" codec: values are our own JSON (streams.codec).
    return app.Table(name, partitions=PARTITIONS, key_type=bytes, value_type=bytes, help=help_)


books = _table("books", "portfolio definition and the keys it holds, by portfolio_id")
ledger = _table("ledger", "each transaction id's version in effect, by portfolio|transaction_id")
positions = _table("positions", "lots, realized P&L and daily history, by portfolio|security")
cash = _table("cash", "cash balance, by portfolio|currency")

TABLES = {"books": books, "ledger": ledger, "positions": positions, "cash": cash}

fx_book = FxBook()
ready = asyncio.Event()
_fx_feed: ReferenceFeed | None = None
_changelog_producer: AIOKafkaProducer | None = None


def _apply_fx(key: bytes | None, value: bytes | None) -> None:
    decoded = decode_event("fx_rates", None if key is None else key.decode("utf-8", "replace"), value or b"")
    if isinstance(decoded, FxRate):
        fx_book.put(decoded.from_currency, decoded.to_currency, decoded.rate_date.isoformat(), decoded.rate)


@app.service
class SideServices(mode.Service):
    """The FX feed (caught up before any transaction is applied) and the changelog producer."""

    async def on_start(self) -> None:
        global _fx_feed, _changelog_producer
        broker = load_settings().broker
        _changelog_producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all", linger_ms=0,
                                               max_batch_size=1 << 20, max_request_size=8 << 20)
        await _changelog_producer.start()
        _fx_feed = ReferenceFeed(broker, "fx_rates", _apply_fx)
        await _fx_feed.start()
        ready.set()
        log.info("fx feed caught up: %d rates", len(fx_book))

    async def on_stop(self) -> None:
        if _fx_feed is not None:
            await _fx_feed.stop()
        if _changelog_producer is not None:
            await _changelog_producer.stop()


@app.agent(ledger_input, concurrency=1)
async def keep_ledger(stream) -> None:
    await ready.wait()
    async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN):
        letters = await apply_batch(events)
        for letter in letters:
            await dead_letters_topic.send(key=letter["key"].encode() if letter["key"] else None,
                                          value=dumps(letter))


async def apply_batch(events: list) -> list[dict[str, Any]]:
    by_partition: dict[int, list] = defaultdict(list)
    for event in events:
        by_partition[event.message.partition].append(event)
    letters = []
    for partition, group in by_partition.items():
        letters += await apply_group(partition, group)
    return letters


def partition_store(partition: int) -> TableLedgerStore:
    return TableLedgerStore({name: RocksKeyValue(table.data._db_for_partition(partition))
                             for name, table in TABLES.items()})


async def apply_group(partition: int, group: list) -> list[dict[str, Any]]:
    """Apply one partition's events and write the state back once.

    An event whose processing raises is dead-lettered (`processing_error`)
    and the group is re-applied without it from the unwritten tables, so its
    partial changes never reach the state and the other events still count.
    """
    poisoned: dict[int, dict[str, Any]] = {}
    while True:
        store = partition_store(partition)
        letters = []
        try:
            for event in group:
                letter = poisoned.get(id(event)) or await apply_event(store, event)
                if letter is not None:
                    letters.append(letter)
            break
        except Exception as exc:
            failed = event
            log.exception("event %s[%s]@%s failed", failed.message.topic, failed.message.partition,
                          failed.message.offset)
            m = failed.message
            poisoned[id(failed)] = dead_letter(m.topic, m.partition, m.offset, m.key, m.value,
                                               "processing_error", None, f"{type(exc).__name__}: {exc}")
    try:
        await write_changes(_changelog_producer, TABLES, partition, store.changes())
    except Exception:
        # take_events acks the batch even when its body raises, which would
        # lose these events: die before that, and be re-delivered on restart.
        log.critical("could not write the batch's state; exiting so it is re-delivered", exc_info=True)
        os._exit(70)
    return letters


async def apply_event(store: TableLedgerStore, event) -> dict[str, Any] | None:
    message = event.message
    key = None if message.key is None else message.key.decode("utf-8", "replace")
    decoded = decode_event(message.topic, key, message.value or b"")
    if isinstance(decoded, Rejection):
        return dead_letter(message.topic, message.partition, message.offset, message.key,
                           message.value, decoded.reason, decoded.field, decoded.detail,
                           decoded.transaction_id)
    if message.topic == "portfolios":
        outcome = define_portfolio(store, decoded.model_dump(mode="json"), message.offset)
        transaction_id = None
    else:
        tx = TxFields.from_event(decoded)
        transaction_id = tx.transaction_id
        outcome = apply_transaction(store, tx, message.offset, fx_book.rate)
        if isinstance(outcome, Rejected) and outcome.reason == "missing_fx_rate" and _fx_feed:
            # The rate may be published but not yet read: catch up, then decide.
            await _fx_feed.catch_up()
            outcome = apply_transaction(store, tx, message.offset, fx_book.rate)
        if isinstance(outcome, Duplicate):
            republish_if_replayed(store, tx, message.offset)
    if isinstance(outcome, Rejected):
        return dead_letter(message.topic, message.partition, message.offset, message.key,
                           message.value, outcome.reason, outcome.field, outcome.detail, transaction_id)
    return None


def republish_if_replayed(store: TableLedgerStore, tx: TxFields, offset: int) -> None:
    """A message seen again after a crash re-emits the records it changed.

    Its state may have reached RocksDB but not the changelog before the crash;
    writing the current records again gives the changelog (and the sink) the
    latest state. Values are unchanged, so this is idempotent.
    """
    record = store.get_tx(tx.portfolio_id, tx.transaction_id)
    if record is None or record.applied != offset:
        return
    store.put_tx(record)
    fields = record.fields
    if fields.security_id and (position := store.get_position(tx.portfolio_id, fields.security_id)):
        store.put_position(position)
    for currency in record.cash:
        if state := store.get_cash(tx.portfolio_id, currency):
            store.put_cash(state)


@app.agent(reference_input)
async def screen_reference_data(stream) -> None:
    """Dead-letter invalid instruments, prices and FX rates (each read once, by the group)."""
    async for event in stream.events():
        message = event.message
        key = None if message.key is None else message.key.decode("utf-8", "replace")
        decoded = decode_event(message.topic, key, message.value or b"")
        if isinstance(decoded, Rejection):
            letter = dead_letter(message.topic, message.partition, message.offset, message.key,
                                 message.value, decoded.reason, decoded.field, decoded.detail)
            await dead_letters_topic.send(key=message.key, value=dumps(letter))


def _state(table, key: str) -> dict[str, Any] | None:
    raw = table.get(key)
    return None if raw is None else loads(raw)


@app.page("/live/portfolios/{portfolio_id}/")
@app.table_route(table=books, match_info="portfolio_id")
async def live_portfolio(web, request, portfolio_id: str):
    """The portfolio's live state, answered by the worker that owns its partition."""
    book = _state(books, portfolio_id)
    if book is None:
        return web.json({"error": "unknown portfolio"}, status=404)
    body = {
        "book": book,
        "positions": [p for s in book["securities"]
                      if (p := _state(positions, compound_key(portfolio_id, s))) is not None],
        "cash": [c for ccy in book["currencies"]
                 if (c := _state(cash, compound_key(portfolio_id, ccy))) is not None],
    }
    return web.json(body)
