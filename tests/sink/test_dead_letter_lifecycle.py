"""Dead letters with a lifecycle: redriven, resolved when applied, failed_again as one letter."""
from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest

from sink.dead_letter_lifecycle import record_redrive
from sink.runner import build_batch
from sink.writer import write_batch
from tests.core.factories import make_tx
from tests.sink.test_writer import CHANGELOGS, Ledger, Record

AT = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
RAW = '{"transaction_id":"T1","portfolio_id":"P1","type":"BUY"}'


def letter(offset: int, reason: str = "unknown_portfolio", *, topic: str = "transactions", key: str = "P1",
           detail: str = "no portfolio P1", at: str = "2026-01-01T00:00:00Z") -> Record:
    value = {"source_topic": topic, "partition": 0, "offset": offset, "key": key, "raw_value": RAW,
             "reason": reason, "field": None, "transaction_id": "T1" if topic == "transactions" else None,
             "detail": detail, "dead_lettered_at": at}
    return Record("dead_letters", 0, 1000 + offset, key.encode(), orjson.dumps(value))


async def _letters(db):
    return [tuple(r) for r in await db.fetch(
        "SELECT source_offset, state, attempts, reason, redrive_id FROM dead_letters ORDER BY source_offset")]


async def _redrive(db, source_offset: int, target_offset: int, redrive_id: str = "R1", *,
                   topic: str = "transactions", key: str = "P1") -> None:
    await record_redrive(db, redrive_id, AT, [(topic, 0, target_offset, key, topic, 0, source_offset)])


async def test_a_new_letter_is_open_with_one_attempt(db):
    await write_batch(db, build_batch([letter(5)], CHANGELOGS))

    assert await _letters(db) == [(5, "open", 1, "unknown_portfolio", None)]


async def test_a_redriven_letter_says_by_which_redrive_and_when(db):
    await write_batch(db, build_batch([letter(5), letter(6)], CHANGELOGS))

    await _redrive(db, 5, 40)

    assert await _letters(db) == [(5, "redriven", 1, "unknown_portfolio", "R1"), (6, "open", 1, "unknown_portfolio", None)]
    assert await db.fetchval("SELECT redriven_at FROM dead_letters WHERE source_offset = 5") == AT


async def test_a_redriven_record_that_fails_again_updates_its_letter_instead_of_adding_one(db):
    await write_batch(db, build_batch([letter(5), letter(6)], CHANGELOGS))
    await _redrive(db, 5, 40)
    again = letter(40, "invalid_event", detail="quantity: must be > 0")

    await write_batch(db, build_batch([again], CHANGELOGS))
    await write_batch(db, build_batch([again], CHANGELOGS))  # delivered twice: counted once

    assert await _letters(db) == [(5, "failed_again", 2, "invalid_event", "R1"),
                                  (6, "open", 1, "unknown_portfolio", None)]


async def test_a_letter_failing_on_every_redrive_counts_each_attempt(db):
    await write_batch(db, build_batch([letter(5)], CHANGELOGS))
    await _redrive(db, 5, 40, "R1")
    await write_batch(db, build_batch([letter(40)], CHANGELOGS))
    await _redrive(db, 40, 41, "R2")  # the second run redrives the letter of the first one's record
    await write_batch(db, build_batch([letter(41)], CHANGELOGS))

    assert await _letters(db) == [(5, "failed_again", 3, "unknown_portfolio", "R2")]


async def test_a_redriven_transaction_booked_at_its_new_offset_resolves_its_letter(db):
    await write_batch(db, build_batch([letter(5)], CHANGELOGS))
    ledger = Ledger()
    ledger.apply(make_tx("BUY", quantity=1, price=10, transaction_id="T0"))  # arrival 1
    ledger.apply(make_tx("BUY", quantity=1, price=10, transaction_id="T1"))  # arrival 2: the redriven one
    await _redrive(db, 5, 2)

    await write_batch(db, build_batch(ledger.records(), CHANGELOGS))

    assert await _letters(db) == [(5, "resolved", 1, "unknown_portfolio", "R1")]
    assert await db.fetchval("SELECT resolved_at FROM dead_letters") is not None


async def test_a_booking_of_another_portfolio_at_the_same_offset_resolves_nothing(db):
    await write_batch(db, build_batch([letter(5, key="P2")], CHANGELOGS))
    ledger = Ledger()  # books P1 at arrival 1
    ledger.apply(make_tx("BUY", quantity=1, price=10, transaction_id="T1"))
    await _redrive(db, 5, 1, key="P2")

    await write_batch(db, build_batch(ledger.records(), CHANGELOGS))

    assert [r[1] for r in await _letters(db)] == ["redriven"]


async def test_a_redriven_price_stored_from_its_new_offset_resolves_its_letter(db):
    await write_batch(db, build_batch([letter(5, "invalid_event", topic="prices", key="S1")], CHANGELOGS))
    await _redrive(db, 5, 77, topic="prices", key="S1")
    price = Record("prices", 0, 77, b"S1", b'{"security_id":"S1","price_date":"2024-01-02","price":"10.50"}')

    await write_batch(db, build_batch([price], CHANGELOGS))

    assert [r[1] for r in await _letters(db)] == ["resolved"]


async def test_an_outcome_stored_before_the_redrive_recorded_its_targets_is_not_missed(db):
    # The redrive publishes first and records after: the sink may be faster.
    await write_batch(db, build_batch([letter(5), letter(6)], CHANGELOGS))
    await write_batch(db, build_batch([letter(40, "invalid_event")], CHANGELOGS))
    ledger = Ledger()
    ledger.apply(make_tx("BUY", quantity=1, price=10, transaction_id="T1"))  # arrival 1
    await write_batch(db, build_batch(ledger.records(), CHANGELOGS))

    await record_redrive(db, "R1", AT, [("transactions", 0, 40, "P1", "transactions", 0, 5),
                                        ("transactions", 0, 1, "P1", "transactions", 0, 6)])

    assert await _letters(db) == [(5, "failed_again", 2, "invalid_event", "R1"),
                                  (6, "resolved", 1, "unknown_portfolio", "R1")]


async def test_a_letter_stored_after_its_redrive_and_outcome_takes_its_state_from_them(db):
    # A sink far behind on dead_letters: the redrive and the redriven records' outcomes come first.
    await _redrive(db, 5, 40)
    await _redrive(db, 6, 41)
    ledger = Ledger()
    for n in range(41):  # arrivals 1..41: the one at 41 is the redriven record of letter 6
        ledger.apply(make_tx("BUY", quantity=1, price=10, transaction_id=f"T{n}"))
    await write_batch(db, build_batch([letter(40, "invalid_event"), *ledger.records()], CHANGELOGS))

    await write_batch(db, build_batch([letter(5), letter(6), letter(7)], CHANGELOGS))

    assert await _letters(db) == [(5, "failed_again", 2, "unknown_portfolio", "R1"),
                                  (6, "resolved", 1, "unknown_portfolio", "R1"),
                                  (7, "open", 1, "unknown_portfolio", None)]


@pytest.mark.parametrize("stored_first", [False, True])
async def test_a_redriven_definition_resolves_its_letter_whether_stored_before_or_after_the_redrive(
        db, stored_first):
    # Ledger() defines P1 from portfolios offset 0: where the letter's redriven record landed.
    await write_batch(db, build_batch([letter(5, "processing_error", topic="portfolios")], CHANGELOGS))
    if stored_first:
        await write_batch(db, build_batch(Ledger().records(), CHANGELOGS))
    await _redrive(db, 5, 0, topic="portfolios")
    await write_batch(db, build_batch(Ledger().records(), CHANGELOGS))

    assert await _letters(db) == [(5, "resolved", 1, "processing_error", "R1")]


async def test_a_redriven_transaction_ignored_as_already_booked_resolves_its_letter(db):
    await write_batch(db, build_batch([letter(5), letter(6)], CHANGELOGS))
    ledger = Ledger()
    ledger.apply(make_tx("BUY", quantity=1, price=10, transaction_id="T1"))  # version 1 at arrival 1
    await _redrive(db, 5, 7, "R1")  # came after the booking: a duplicate
    await _redrive(db, 6, 0, "R2")  # came before it: it would have been booked or failed itself

    await write_batch(db, build_batch(ledger.records(), CHANGELOGS))

    assert [(o, s) for o, s, *_ in await _letters(db)] == [(5, "resolved"), (6, "redriven")]
