"""The position stream's event log: what a sink batch appends, and pruning by age."""
from __future__ import annotations

import json
from decimal import Decimal as D

from sink import stream_log
from sink.runner import build_batch
from sink.stream_log import prune
from sink.writer import write_batch
from tests.core.factories import cancel, make_tx
from tests.sink.test_writer import CHANGELOGS, Ledger


async def _log(db) -> list[tuple]:
    return [(r["portfolio_id"], r["kind"], r["payload"]) for r in await db.fetch(
        "SELECT portfolio_id, kind, payload::text FROM stream_events ORDER BY id")]


def _said(rows: list[tuple]) -> list[tuple]:
    """(kind, what the event says) of each row."""
    out = []
    for _pid, kind, payload in rows:
        data = json.loads(payload)
        if kind == "transaction":
            out.append((kind, data["transaction_id"], data["version"], data["status"]))
        elif kind == "position":
            out.append((kind, data["security_id"], D(data["quantity"]), D(data["cost_local"])))
        else:
            out.append((kind, data["currency"], D(data["balance"])))
    return out


async def test_a_batch_appends_its_transaction_position_and_cash_events_and_tells_each_version_once(db):
    ledger = Ledger()
    buy = ledger.apply(make_tx("BUY", quantity=10, price=100, fees="5", trade_date="2024-01-02"))
    await write_batch(db, build_batch(ledger.records(), CHANGELOGS))
    first = await _log(db)
    ledger.apply(cancel(buy, 2))
    await write_batch(db, build_batch(ledger.records(), CHANGELOGS))
    after_cancel = (await _log(db))[len(first):]

    # BUY 10 @ 100 + 5 fees: 10 held at 1005, cash −1005; cancelled: 0 at 0, cash 0.
    assert _said(first) == [("transaction", buy.transaction_id, 1, "booked"), ("position", "SEC", D(10), D(1005)),
                            ("cash", "USD", D(-1005))]
    # The cancellation's ledger state repeats version 1 (superseded): told once, not again.
    assert _said(after_cancel) == [("transaction", buy.transaction_id, 2, "cancelled"),
                                   ("position", "SEC", D(0), D(0)), ("cash", "USD", D(0))]
    assert {pid for pid, _, _ in first + after_cancel} == {"P1"}


async def test_pruning_removes_rows_older_than_the_retention_and_remembers_the_highest_id_removed(db):
    ledger = Ledger()
    for day in ("2024-01-02", "2024-01-03", "2024-01-04"):
        ledger.apply(make_tx("BUY", quantity=1, price=10, trade_date=day))
        await write_batch(db, build_batch(ledger.records(), CHANGELOGS))
    ids = [r["id"] for r in await db.fetch("SELECT id FROM stream_events ORDER BY id")]
    old = ids[:4]
    await db.execute("UPDATE stream_events SET at = now() - interval '2 hours' WHERE id = ANY($1)", old)

    await prune(db, 3600)

    kept = [r["id"] for r in await db.fetch("SELECT id FROM stream_events ORDER BY id")]
    assert kept == ids[4:]
    assert await db.fetchval("SELECT pruned_through FROM stream_log") == old[-1]


async def _three_buys(db) -> list[int]:
    """Three batches of one BUY each (transaction, position, cash: 9 rows); their ids."""
    ledger = Ledger()
    for day in ("2024-01-02", "2024-01-03", "2024-01-04"):
        ledger.apply(make_tx("BUY", quantity=1, price=10, trade_date=day))
        await write_batch(db, build_batch(ledger.records(), CHANGELOGS))
    return [r["id"] for r in await db.fetch("SELECT id FROM stream_events ORDER BY id")]


async def test_a_batch_write_prunes_nothing_even_when_a_prune_is_due(db, monkeypatch):
    ids = await _three_buys(db)
    await db.execute("UPDATE stream_events SET at = now() - interval '3 days'")  # past the 1-day retention
    monkeypatch.setattr(stream_log, "_last_prune", 0.0)  # a prune is due

    ledger = Ledger()
    ledger.apply(make_tx("BUY", quantity=1, price=10, trade_date="2024-01-05", security="SEC2"))
    await write_batch(db, build_batch(ledger.records(), CHANGELOGS))

    # The write transaction appended its 3 rows and deleted none of the 9 old ones.
    assert len(await db.fetch("SELECT id FROM stream_events WHERE id = ANY($1)", ids)) == 9
    await stream_log.prune_if_due(db)  # what the sink does after the commit
    assert [r["id"] for r in await db.fetch("SELECT id FROM stream_events ORDER BY id")] == [
        ids[-1] + 1, ids[-1] + 2, ids[-1] + 3]
    assert await db.fetchval("SELECT pruned_through FROM stream_log") == ids[-1]


async def test_pruning_deletes_oldest_first_a_bounded_number_of_rows_per_statement_and_per_call(db):
    ids = await _three_buys(db)
    await db.execute("UPDATE stream_events SET at = now() - interval '2 hours' WHERE id = ANY($1)", ids[:7])

    # 7 old rows, 2 per statement, 3 statements: 6 go (oldest first), one is left for the next call.
    assert await prune(db, 3600, rows=2, rounds=3) is False
    assert [r["id"] for r in await db.fetch("SELECT id FROM stream_events ORDER BY id")] == ids[6:]
    assert await db.fetchval("SELECT pruned_through FROM stream_log") == ids[5]

    assert await prune(db, 3600, rows=2, rounds=3) is True
    assert [r["id"] for r in await db.fetch("SELECT id FROM stream_events ORDER BY id")] == ids[7:]
    assert await db.fetchval("SELECT pruned_through FROM stream_log") == ids[6]
