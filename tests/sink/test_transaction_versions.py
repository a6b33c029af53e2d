"""The sink keeps every version of a transaction it sees, and settles ingest receipts."""
from __future__ import annotations

from decimal import Decimal

import orjson

from sink.runner import build_batch
from sink.writer import write_batch
from tests.core.factories import cancel, make_tx
from tests.sink.test_writer import CHANGELOGS, Ledger, Record


async def _versions(db):
    return [tuple(r) for r in await db.fetch(
        "SELECT version, status, type, quantity, arrival FROM transaction_versions"
        " WHERE portfolio_id = 'P1' AND transaction_id = 'T1' ORDER BY version")]


async def test_each_version_put_in_effect_is_kept_once_with_its_status_and_fields(db):
    ledger = Ledger()
    first = ledger.apply(make_tx("BUY", quantity=10, price=100, transaction_id="T1"))
    await write_batch(db, build_batch(ledger.records(), CHANGELOGS))
    ledger.apply(make_tx("BUY", quantity=12, price=100, transaction_id="T1", version=2))
    amended = ledger.records()
    await write_batch(db, build_batch(amended, CHANGELOGS))
    ledger.apply(cancel(first, 3))
    await write_batch(db, build_batch(ledger.records(), CHANGELOGS))
    await write_batch(db, build_batch(amended, CHANGELOGS))  # a replay changes nothing

    # Arrivals 1, 2, 3 are the ledger's arrival counter, one per applied event.
    assert await _versions(db) == [(1, "BOOKED", "BUY", Decimal(10), 1), (2, "BOOKED", "BUY", Decimal(12), 2),
                                   (3, "CANCELLED", None, None, 3)]
    assert await db.fetchval("SELECT status FROM transactions WHERE transaction_id = 'T1'") == "CANCELLED"


async def test_versions_superseded_before_the_changelog_saw_them_are_kept_too(db):
    # As one worker batch writes it: the ledger's last value per key, once.
    ledger = Ledger()
    first = ledger.apply(make_tx("BUY", quantity=10, price=100, transaction_id="T1"))
    ledger.apply(make_tx("BUY", quantity=12, price=100, transaction_id="T1", version=2))
    ledger.apply(cancel(first, 3))
    last_values = ledger.records()

    await write_batch(db, build_batch(last_values, CHANGELOGS))
    await write_batch(db, build_batch(last_values, CHANGELOGS))  # a replay changes nothing

    assert await _versions(db) == [(1, "BOOKED", "BUY", Decimal(10), 1), (2, "BOOKED", "BUY", Decimal(12), 2),
                                   (3, "CANCELLED", None, None, 3)]


async def _receipt(db, version):
    await db.execute("INSERT INTO ingest_receipts (portfolio_id, transaction_id, version) VALUES ('P1', 'T1', $1)",
                     version)


async def _receipts(db):
    return [r["version"] for r in await db.fetch("SELECT version FROM ingest_receipts ORDER BY version")]


async def test_a_receipt_is_settled_when_its_version_or_a_higher_one_is_in_effect(db):
    for version in (1, 2, 3):
        await _receipt(db, version)
    ledger = Ledger()
    ledger.apply(make_tx("BUY", quantity=10, price=100, transaction_id="T1", version=2))

    await write_batch(db, build_batch(ledger.records(), CHANGELOGS))

    assert await _receipts(db) == [3]


def _letter(offset, raw_value, transaction_id="T1"):
    letter = {"source_topic": "transactions", "partition": 0, "offset": offset, "key": "P1",
              "raw_value": raw_value, "reason": "invalid_event", "field": "quantity",
              "transaction_id": transaction_id, "detail": "quantity: must be > 0",
              "dead_lettered_at": "2026-01-01T00:00:00Z"}
    return Record("dead_letters", 0, offset, b"P1", orjson.dumps(letter))


async def test_a_receipt_is_settled_by_a_dead_letter_of_that_version_only(db):
    await _receipt(db, 1)
    await _receipt(db, 2)

    await write_batch(db, build_batch([_letter(7, '{"transaction_id":"T1","version":2,"quantity":"-1"}')],
                                      CHANGELOGS))

    assert await _receipts(db) == [1]


async def test_a_dead_letter_whose_version_cannot_be_read_settles_every_receipt_of_the_id(db):
    await _receipt(db, 1)
    await _receipt(db, 2)

    await write_batch(db, build_batch([_letter(7, '{"transaction_id":"T1","version":')], CHANGELOGS))

    assert await _receipts(db) == []
