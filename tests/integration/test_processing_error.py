"""An event that makes the worker's code raise is dead-lettered as `processing_error`,
with the exception text, and the rest of its batch still applies (README: Applying a batch).

The ledger itself does not raise on any valid event we could find, so the
fault is put where a real one would come from: the stored state. A portfolio
record on the `books` changelog whose `currencies` is a string instead of a
list (as a corrupted or foreign-written changelog might hold) is recovered by
the restarted worker; booking cash into that portfolio then raises inside the
ledger (`str` has no `append`).
"""
from __future__ import annotations

import json
from decimal import Decimal as D

import asyncpg
import pytest
from aiokafka.partitioner import DefaultPartitioner

from folio.produce import kafka_producer, publish
from sink.runner import changelog_topics

pytestmark = pytest.mark.integration

PARTITIONS = [0, 1, 2, 3]
GOOD, BROKEN = "GOOD-3", "BROKEN"  # both keys land on partition 3 (Kafka's default partitioner)


def _portfolio(portfolio_id: str) -> dict:
    return {"portfolio_id": portfolio_id, "name": portfolio_id, "base_currency": "USD", "cost_method": "FIFO",
            "open_date": "2024-01-02"}


def _cash(transaction_id: str, portfolio_id: str, type_: str, amount: str) -> tuple[str, bytes]:
    return portfolio_id, json.dumps({"transaction_id": transaction_id, "portfolio_id": portfolio_id, "type": type_,
                                     "trade_date": "2024-01-03", "amount": amount, "currency": "USD"}).encode()


async def test_an_event_that_makes_the_ledger_raise_is_a_processing_error_and_its_batch_still_applies(start_stack):
    partition = DefaultPartitioner()(BROKEN.encode(), PARTITIONS, PARTITIONS)
    assert DefaultPartitioner()(GOOD.encode(), PARTITIONS, PARTITIONS) == partition

    stack = await start_stack()
    await publish(stack.bootstrap, "portfolios", [(p, json.dumps(_portfolio(p)).encode()) for p in (GOOD, BROKEN)])
    await stack.wait_idle(include_sink=False)

    # Corrupt BROKEN's stored state on its changelog while the worker is down; it recovers it on start.
    stack.supervisor.kill("positions")
    books_changelog = next(topic for topic, table in changelog_topics(stack.app_id).items() if table == "books")
    producer = kafka_producer(stack.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(books_changelog, json.dumps({
            "portfolio_id": BROKEN, "definition": _portfolio(BROKEN), "securities": [],
            "currencies": "corrupted", "seq": 2, "applied": 1}).encode(), key=BROKEN.encode(), partition=partition)
    finally:
        await producer.stop()
    stack.supervisor.start(stack.supervisor.specs["positions"])
    await stack.wait_ready()

    # Published together: one poll of the batcher, one batch for partition 3.
    sent = await _publish_with_offsets(stack.bootstrap, [
        _cash("G-1", GOOD, "DEPOSIT", "1000"), _cash("B-1", BROKEN, "DEPOSIT", "500"),
        _cash("G-2", GOOD, "WITHDRAWAL", "300")])
    await stack.wait_idle()

    conn = await asyncpg.connect(stack.dsn)
    try:
        letters = await conn.fetch("SELECT source_topic, source_partition, source_offset, reason, transaction_id,"
                                   " detail FROM dead_letters")
        booked = await conn.fetch("SELECT portfolio_id, transaction_id FROM transactions ORDER BY transaction_id")
        balance = await conn.fetchval(
            "SELECT balance FROM cash_balances WHERE portfolio_id = $1 AND currency = 'USD'", GOOD)
    finally:
        await conn.close()

    assert [(r["source_topic"], r["source_partition"], r["source_offset"], r["reason"], r["transaction_id"])
            for r in letters] == [("transactions", partition, sent["B-1"], "processing_error", "B-1")]
    assert "AttributeError" in letters[0]["detail"] and "no attribute 'append'" in letters[0]["detail"]
    # The rest of the batch: 1000 deposited, 300 withdrawn.
    assert [(r["portfolio_id"], r["transaction_id"]) for r in booked] == [(GOOD, "G-1"), (GOOD, "G-2")]
    assert balance == D(700)
    assert all(stack.supervisor.alive(name) for name in stack.supervisor.children)


async def _publish_with_offsets(bootstrap: str, items: list[tuple[str, bytes]]) -> dict[str, int]:
    producer = kafka_producer(bootstrap)
    await producer.start()
    try:
        futures = [await producer.send("transactions", value, key=key.encode()) for key, value in items]
        offsets = [(await future).offset for future in futures]
    finally:
        await producer.stop()
    return {json.loads(value)["transaction_id"]: offset for (_, value), offset in zip(items, offsets)}
