"""Poison inputs on `transactions` never stop a stage: each is dead-lettered with its reason, the rest books.

Issue 7, item 2: a 1 MB event made a dead letter past the producer's limit,
`keep_ledger` died, and the other bad events of that round were lost. Item 1:
a NUL reaching the sink crash-looped it for ever.
"""
from __future__ import annotations

import base64
import hashlib
from decimal import Decimal

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer

P1 = {"portfolio_id": "P1", "name": "One", "base_currency": "USD", "open_date": "2024-01-01"}


def tx(tid: str, **fields) -> dict:
    return {"transaction_id": tid, "portfolio_id": "P1", "type": "DEPOSIT", "trade_date": "2024-01-02",
            "amount": "100", "currency": "USD", **fields}


async def _send(bootstrap: str, messages: list[tuple[str, bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=4 << 20)
    await producer.start()
    try:
        for topic, key, value in messages:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def test_a_1mb_event_and_other_poison_in_one_round_are_each_dead_lettered_and_the_rest_books(start_stack):
    stack = await start_stack(with_api=False)
    await _send(stack.bootstrap, [("portfolios", b"P1", orjson.dumps(P1))])
    await stack.wait_idle()
    worker_pid = stack.supervisor.children["positions"].pid
    sink_pid = stack.supervisor.children["sink"].pid
    series_pid = stack.supervisor.children["series"].pid

    huge = orjson.dumps(tx("HUGE", note="x" * 1_000_000))
    nul_byte = b'{"transaction_id":"NUL\x00","portfolio_id":"P1"}'
    round_ = [
        ("transactions", b"P1", orjson.dumps(tx("D1"))),                                    # books
        ("transactions", b"P1", huge),                                                     # record_too_large
        ("transactions", None, orjson.dumps(tx("NOKEY"))),                                 # key_mismatch
        ("transactions", b"P404", orjson.dumps(tx("UNK", portfolio_id="P404"))),           # unknown_portfolio
        ("transactions", b"P1", b"[1,2,3]"),                                               # invalid_event
        ("transactions", b"P1", orjson.dumps(tx("NEG", type="BUY", security_id="S1", quantity="-5",
                                                price="10"))),                             # invalid_event quantity
        ("transactions", b"P1", nul_byte),                                                 # invalid_json
        ("transactions", b"P1", orjson.dumps(tx("D2", amount="23.45"))),                   # books
    ]
    await _send(stack.bootstrap, round_)
    await stack.wait_idle()
    # The series worker's input, unreadable: dead-lettered, the series still kept.
    await _send(stack.bootstrap, [("series_marks", b"P1", b"\xff not a mark"),
                                  ("series_marks", b"P1", b'{"portfolio_id":"P1","from":"2024-13-45"}')])
    await stack.wait_idle()

    conn = await asyncpg.connect(stack.dsn)
    try:
        letters = {r["transaction_id"] or r["raw_value"][:7]: r for r in await conn.fetch(
            "SELECT * FROM dead_letters WHERE source_topic = 'transactions'")}
        cash = await conn.fetchval("SELECT balance FROM cash_balances WHERE portfolio_id = 'P1'")
        series_letters = [(r["source_offset"], r["reason"], r["detail"].split(":")[0]) for r in await conn.fetch(
            "SELECT * FROM dead_letters WHERE source_topic = 'series_marks' ORDER BY source_offset")]
        series = [(r["date"].isoformat(), r["mv"]) for r in await conn.fetch(
            "SELECT date, mv FROM daily_series WHERE portfolio_id = 'P1' ORDER BY date")]
    finally:
        await conn.close()

    assert {k: (r["reason"], r["field"]) for k, r in letters.items()} == {
        '{"trans': ("record_too_large", None),  # set aside by the batcher, undecoded
        "NOKEY": ("key_mismatch", None),
        "UNK": ("unknown_portfolio", None),
        "[1,2,3]": ("invalid_event", None),
        "NEG": ("invalid_event", "quantity"),
        base64.b64encode(nul_byte).decode()[:7]: ("invalid_json", None),
    }
    too_large = letters['{"trans']
    assert (too_large["raw_size"], too_large["raw_sha256"], too_large["raw_truncated"]) == (
        len(huge), hashlib.sha256(huge).hexdigest(), True)
    assert too_large["raw_value"] == huge[:4096].decode()
    invalid_json = letters[base64.b64encode(nul_byte).decode()[:7]]
    assert base64.b64decode(invalid_json["raw_value"]) == nul_byte
    assert cash == Decimal("123.45")  # D1 100 + D2 23.45: the partition went on after the poison
    assert [(reason, stage) for _, reason, stage in series_letters] == [("processing_error", "series worker")] * 2
    assert series == [("2024-01-02", Decimal("123.45"))]
    # No stage died on the way.
    assert stack.supervisor.children["positions"].pid == worker_pid and stack.supervisor.alive("positions")
    assert stack.supervisor.children["sink"].pid == sink_pid and stack.supervisor.alive("sink")
    assert stack.supervisor.children["series"].pid == series_pid and stack.supervisor.alive("series")
