"""Listing and redriving dead letters."""
from __future__ import annotations

import json

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
