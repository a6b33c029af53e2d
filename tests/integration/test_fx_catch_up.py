"""A missing FX rate is declared only after the worker has caught up with `fx_rates`.

README ("Behaviour where the contract is silent"): a rate published before the
transaction that needs it is always seen, even when the worker's FX feed has
not read it yet when the transaction is applied.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from decimal import Decimal as D

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from core.fx import FxBook
from core.ledger import define_portfolio
from core.store import MemoryStore
from folio.produce import publish
from schemas.decode import decode_event
from schemas.events import FxRate
from streams.apply import Incoming, LedgerContext, apply_event
from streams.reference_feed import ReferenceFeed

pytestmark = pytest.mark.integration

PORTFOLIO = {"portfolio_id": "FXP", "name": "FX catch-up", "base_currency": "USD", "cost_method": "FIFO",
             "open_date": "2024-01-01"}


def _value(event: dict) -> bytes:
    return json.dumps(event).encode()


def eur_buy(transaction_id: str, currency: str = "EUR") -> dict:
    return {"transaction_id": transaction_id, "portfolio_id": "FXP", "type": "BUY", "trade_date": "2024-01-03",
            "security_id": "SAP", "quantity": "10", "price": "100", "currency": currency}


class GatedFeed(ReferenceFeed):
    """A real feed whose background follower waits for a gate: what it has read
    is only what `start()` caught up with, plus whatever `catch_up()` reads."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gate = asyncio.Event()

    async def _follow(self) -> None:
        await self.gate.wait()
        await super()._follow()


async def _create_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 2, 1)])
    finally:
        await admin.close()


async def test_a_rate_published_before_the_transaction_but_not_yet_read_is_caught_up_and_booked(broker):
    topic = f"fx_rates-{uuid.uuid4().hex[:8]}"
    await _create_topic(broker, topic)
    fx_book = FxBook()

    def apply_rate(key, value):
        rate = decode_event("fx_rates", None if key is None else key.decode(), value or b"")
        if isinstance(rate, FxRate):
            fx_book.put(rate.from_currency, rate.to_currency, rate.rate_date.isoformat(), rate.rate)

    feed = GatedFeed(broker, topic, apply_rate)
    await feed.start()
    try:
        # Published after the feed started and never followed: unread when the transaction comes.
        await publish(broker, topic, [("EUR/USD", _value(
            {"from_currency": "EUR", "to_currency": "USD", "rate_date": "2024-01-02", "rate": "1.10"}))])
        assert fx_book.rate("EUR", "USD", "2024-01-03") is None  # the precondition: the feed lags

        store = MemoryStore()
        define_portfolio(store, PORTFOLIO, 0)
        context = LedgerContext({}, fx_book, feed, None)
        booked = await apply_event(context, store, Incoming(
            "transactions", 0, 1, b"FXP", _value(eur_buy("T-SEEN"))))
        missing = await apply_event(context, store, Incoming(
            "transactions", 0, 2, b"FXP", _value(eur_buy("T-JPY", currency="JPY"))))
    finally:
        await feed.stop()

    assert booked is None  # no dead letter
    record = store.get_tx("FXP", "T-SEEN")
    # 10 × 100 EUR = 1000 EUR at the caught-up 1.10 → cost 1100 USD.
    assert (record.fx, record.cash) == (D("1.10"), {"EUR": D("-1000")})
    assert store.get_position("FXP", "SAP").lots[0].cost_base == D("1100.00")
    # Control: no JPY/USD rate exists anywhere, even after catching up.
    assert (missing["reason"], missing["offset"], missing["transaction_id"]) == ("missing_fx_rate", 2, "T-JPY")
    assert store.get_tx("FXP", "T-JPY") is None


# EUR/USD quotes dated after the trade, on the rate's partition, ahead of it;
# padded (unknown fields are ignored) so the feed needs many fetches (1 MB each) to reach the rate.
FLOOD, PADDING = 600, 50_000


async def test_through_the_worker_a_rate_behind_a_flood_of_unread_quotes_books_and_a_truly_missing_rate_dead_letters(
        start_stack):
    stack = await start_stack()
    later = _value({"from_currency": "EUR", "to_currency": "USD", "rate_date": "2024-06-30", "rate": "9.99",
                    "padding": "x" * PADDING})
    await publish(stack.bootstrap, "portfolios", [("FXP", _value(PORTFOLIO))])
    await stack.wait_idle(include_sink=False)
    # Frozen while the flood, the rate and the transactions are published, the
    # worker wakes up with the rate 30 MB deep in its FX feed's backlog
    # and the transaction a few fetches away from its ledger.
    worker = stack.supervisor.children["positions"].pid
    os.killpg(worker, signal.SIGSTOP)
    try:
        await publish(stack.bootstrap, "fx_rates", [("EUR/USD", later)] * FLOOD + [("EUR/USD", _value(
            {"from_currency": "EUR", "to_currency": "USD", "rate_date": "2024-01-02", "rate": "1.10"}))])
        await publish(stack.bootstrap, "transactions",
                      [("FXP", _value(eur_buy("T-SEEN"))), ("FXP", _value(eur_buy("T-JPY", currency="JPY")))])
    finally:
        os.killpg(worker, signal.SIGCONT)
    await stack.wait_idle()

    async with stack.client(timeout=30) as client:
        txs = {t["transaction_id"]: t for t in (await client.get("/portfolios/FXP/transactions")).json()["items"]}
        letters = (await client.get("/dead-letters", params={"source_topic": "transactions"})).json()["items"]
    assert list(txs) == ["T-SEEN"]
    assert D(txs["T-SEEN"]["fx_rate_applied"]) == D("1.10")
    assert [(letter["transaction_id"], letter["reason"]) for letter in letters] == [("T-JPY", "missing_fx_rate")]
