"""Listing and redriving dead letters."""
from __future__ import annotations

import asyncio
import json
import os

import asyncpg
import pytest

from folio.dlq import DEAD_LETTERS_TOPIC, list_dead_letters, redrive
from folio.produce import publish
from folio.topics import PACKAGED_TOPICS_FILE, apply_topics, load_topics

pytestmark = pytest.mark.integration


@pytest.fixture
async def folio_broker(start_broker) -> str:
    """A fresh broker with Folio's topics: dead letters live on fixed topic names."""
    bootstrap = start_broker()
    await apply_topics(bootstrap, load_topics(PACKAGED_TOPICS_FILE))
    return bootstrap


@pytest.fixture
def dead_letter():
    """A dead-letter record as the topology writes it: (original key, JSON value)."""
    offsets = iter(range(100, 1000))

    def make(key: str, raw_value: str, reason: str = "invalid_json", **extra) -> tuple[str, bytes]:
        letter = {
            "source_topic": "transactions", "partition": 0, "offset": next(offsets), "key": key,
            "detail": "rejected", "dead_lettered_at": "2026-01-01T00:00:00Z",
            "raw_value": raw_value, "reason": reason, "field": None, "transaction_id": None, **extra,
        }
        return key, json.dumps(letter).encode()

    return make


async def test_redrive_republishes_each_dead_letter_once_with_its_key_and_raw_value(
    folio_broker, dead_letter, read_topic
):
    await publish(folio_broker, DEAD_LETTERS_TOPIC, [
        dead_letter("P001", '{"transaction_id": "BAD-JSON", "portfolio_id": '),
        dead_letter("P002", '{"transaction_id":"T9","price":1.0000000000000000001}', reason="unknown_portfolio"),
    ])

    first = await redrive(folio_broker)
    second = await redrive(folio_broker)

    assert (first, second) == (2, 0)
    assert sorted((r.key, r.value) for r in await read_topic(folio_broker, "transactions")) == [
        (b"P001", b'{"transaction_id": "BAD-JSON", "portfolio_id": '),
        (b"P002", b'{"transaction_id":"T9","price":1.0000000000000000001}'),
    ]


async def test_redrive_picks_up_only_letters_that_arrived_since_the_last_run(folio_broker, dead_letter, read_topic):
    await publish(folio_broker, DEAD_LETTERS_TOPIC, [dead_letter("P001", "first")])
    assert await redrive(folio_broker) == 1
    await publish(folio_broker, DEAD_LETTERS_TOPIC, [dead_letter("P001", "second")])

    assert await redrive(folio_broker) == 1
    assert [r.value for r in await read_topic(folio_broker, "transactions")] == [b"first", b"second"]


async def test_redrive_of_an_empty_dead_letter_topic_publishes_nothing(folio_broker):
    assert await redrive(folio_broker) == 0


async def test_list_shows_every_dead_letter_with_its_place_on_the_topic(folio_broker, dead_letter):
    await publish(folio_broker, DEAD_LETTERS_TOPIC, [
        dead_letter("P001", "x", reason="invalid_json"),
        dead_letter("P001", "{}", reason="invalid_event", field="portfolio_id"),
    ])

    letters = await list_dead_letters(folio_broker)

    assert [(d["key"], d["reason"], d["field"], d["dead_letter_offset"]) for d in letters] == [
        ("P001", "invalid_json", None, 0),
        ("P001", "invalid_event", "portfolio_id", 1),
    ]
    assert {"source_topic", "partition", "offset", "raw_value", "transaction_id"} <= letters[0].keys()


async def test_list_on_a_broker_without_dead_letters_topic_is_empty(start_broker):
    assert await list_dead_letters(start_broker()) == []


# --- the lifecycle kept in PostgreSQL ------------------------------------------

from tests.sink.conftest import db, sink_database_url  # noqa: E402,F401 - fixtures: a migrated database

from folio.dlq import letters_with_state, redrive_run  # noqa: E402
from sink.runner import build_batch, changelog_topics  # noqa: E402
from sink.writer import write_batch  # noqa: E402


async def _sink_letters(bootstrap, db, read_topic):
    """What the sink does with the dead_letters topic, without running it."""
    await write_batch(db, build_batch(await read_topic(bootstrap, DEAD_LETTERS_TOPIC), changelog_topics("folio")))


async def test_redrive_records_where_each_letter_went_and_marks_it_redriven(
        folio_broker, dead_letter, read_topic, db, sink_database_url):
    await publish(folio_broker, "transactions", [("P001", b"filler")] * 3)  # offsets 0..2 on P001's partition
    await publish(folio_broker, DEAD_LETTERS_TOPIC, [dead_letter("P001", '{"transaction_id":"T9"}')])
    await _sink_letters(folio_broker, db, read_topic)

    report = await redrive_run(folio_broker, database_url=sink_database_url)

    [republished] = [r for r in await read_topic(folio_broker, "transactions") if r.value != b"filler"]
    assert (report.published, report.refused) == (1, [])
    assert republished.offset == 3
    letters = await letters_with_state(sink_database_url)
    assert [(d["offset"], d["state"], d["attempts"], d["redrive_id"]) for d in letters] == [
        (100, "redriven", 1, report.redrive_id)]
    target = await db.fetchrow("SELECT target_topic, target_partition, target_offset, target_key"
                               " FROM dead_letter_redrives")
    assert tuple(target) == ("transactions", republished.partition, 3, "P001")


async def test_a_letter_that_fails_again_stays_one_letter_with_two_attempts(
        folio_broker, dead_letter, read_topic, db, sink_database_url):
    await publish(folio_broker, DEAD_LETTERS_TOPIC, [dead_letter("P001", "{", reason="invalid_json"),
                                                      dead_letter("P002", "[1]", reason="invalid_event")])
    await _sink_letters(folio_broker, db, read_topic)
    report = await redrive_run(folio_broker, database_url=sink_database_url)
    # The worker rejects the re-published record again: its letter names the new place.
    [again] = [r for r in await read_topic(folio_broker, "transactions") if r.value == b"{"]
    await publish(folio_broker, DEAD_LETTERS_TOPIC, [
        ("P001", json.dumps({"source_topic": "transactions", "partition": again.partition, "offset": again.offset,
                             "key": "P001", "raw_value": "{", "reason": "invalid_json", "field": None,
                             "transaction_id": None, "detail": "still not JSON",
                             "dead_lettered_at": "2026-01-01T00:00:01Z"}).encode())])
    await _sink_letters(folio_broker, db, read_topic)

    letters = await letters_with_state(sink_database_url)

    assert sorted((d["key"], d["state"], d["attempts"], d["detail"]) for d in letters) == [
        ("P001", "failed_again", 2, "still not JSON"), ("P002", "redriven", 1, "rejected")]
    assert report.published == 2


async def test_a_truncated_letter_is_redriven_from_its_original_record(folio_broker, dead_letter, read_topic):
    original = b'{"transaction_id":"T1","portfolio_id":"P001","note":"' + b"x" * 2000 + b'"}'
    await publish(folio_broker, "transactions", [("P001", original)])
    [record] = await read_topic(folio_broker, "transactions")
    await publish(folio_broker, DEAD_LETTERS_TOPIC, [dead_letter(
        "P001", original[:100].decode(), partition=record.partition, offset=record.offset, raw_truncated=True,
        raw_size=len(original))])

    report = await redrive_run(folio_broker)

    assert (report.published, report.refused) == (1, [])
    assert [r.value for r in await read_topic(folio_broker, "transactions")] == [original, original]


async def test_a_truncated_letter_whose_original_record_is_gone_is_refused_and_not_republished(
        folio_broker, dead_letter, read_topic):
    await publish(folio_broker, DEAD_LETTERS_TOPIC, [dead_letter(
        "P001", '{"transaction_id":"T1"', partition=0, offset=0, raw_truncated=True, raw_size=5_000_000)])

    report = await redrive_run(folio_broker)

    assert report.published == 0
    [refusal] = report.refused
    assert "transactions[0]@0" in refusal and "truncated" in refusal
    assert await read_topic(folio_broker, "transactions") == []



async def test_an_unreadable_pending_batch_is_refused_and_not_written_back_to_the_workers_changelog(
        folio_broker, dead_letter, read_topic):
    await publish(folio_broker, DEAD_LETTERS_TOPIC, [
        dead_letter("batch", "garbage", reason="invalid_pending_batch",
                    source_topic="folio-positions-pending-changelog"),
        dead_letter("P001", '{"transaction_id": "T1"')])

    report = await redrive_run(folio_broker)

    assert report.published == 1
    [refusal] = report.refused
    assert "pending batch" in refusal
    assert [r.key for r in await read_topic(folio_broker, "transactions")] == [b"P001"]


from tests.folio.test_cli import folio_command  # noqa: E402,F401 - fixture: run `folio …` on a fresh broker


def test_dlq_list_with_a_database_shows_one_line_per_letter_with_state_and_attempts(
        folio_command, sink_database_url, monkeypatch):
    async def store():
        conn = await asyncpg.connect(sink_database_url)
        try:
            await conn.execute("TRUNCATE dead_letters")
            await conn.execute(
                "INSERT INTO dead_letters (source_topic, source_partition, source_offset, key, raw_value, reason,"
                " field, transaction_id, detail, dead_lettered_at, state, attempts) VALUES"
                " ('transactions', 0, 5, 'P1', '{}', 'unknown_portfolio', NULL, 'T1', 'x', now(), 'failed_again', 2),"
                " ('prices', 1, 9, 'S1', '{}', 'invalid_event', 'price', NULL, 'y', now(), 'resolved', 1)")
        finally:
            await conn.close()

    asyncio.run(store())
    monkeypatch.setenv("DATABASE_URL", sink_database_url)

    code, out = folio_command("dlq", "list")

    assert code == 0
    # Same time (one statement's now()): then by source topic.
    assert out.splitlines() == [
        "prices[1]@9  invalid_event  key=S1  state=resolved attempts=1  field=price",
        "transactions[0]@5  unknown_portfolio  key=P1  state=failed_again attempts=2  transaction_id=T1",
        "2 dead letters (invalid_event 1, unknown_portfolio 1; failed_again 1; resolved 1)",
    ]


def test_dlq_redrive_with_a_database_is_audited_as_the_os_user_with_the_letters_redriven(
        folio_command, dead_letter, sink_database_url, monkeypatch):
    bootstrap = os.environ["KAFKA_BOOTSTRAP"]  # folio_command's broker
    asyncio.run(apply_topics(bootstrap, load_topics(PACKAGED_TOPICS_FILE)))
    asyncio.run(publish(bootstrap, DEAD_LETTERS_TOPIC, [dead_letter("P001", "x"), dead_letter("P002", "y")]))
    monkeypatch.setenv("DATABASE_URL", sink_database_url)
    monkeypatch.setenv("LOGNAME", "ops-bob")

    async def audit_rows():
        conn = await asyncpg.connect(sink_database_url)
        try:
            return await conn.fetch("SELECT actor, action, endpoint, item_count, ids, detail FROM audit_log"
                                    " WHERE actor = 'cli:ops-bob'")
        finally:
            await conn.close()

    code, out = folio_command("dlq", "redrive")

    assert code == 0 and out.splitlines()[-1] == "audited (GET /audit)"
    [row] = asyncio.run(audit_rows())
    # In the order redriven (the two letters' partitions interleave by timestamp): compared as a set.
    ids = sorted(json.loads(row["ids"]), key=lambda i: i["offset"])
    assert (row["actor"], row["action"], row["endpoint"], row["item_count"], ids) == (
        "cli:ops-bob", "dead_letters.redrive", "folio dlq redrive", 2,
        [{"source_topic": "transactions", "partition": 0, "offset": 100},
         {"source_topic": "transactions", "partition": 0, "offset": 101}])
    assert json.loads(row["detail"])["redrive_id"] in out
