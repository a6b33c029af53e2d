"""Publishing JSON-lines event files exactly as written."""
from __future__ import annotations

import pytest

from folio.produce import EventFileError, parse_event_line, produce_file, publish

EXACT_PRICE_LINE = (
    '{"topic":"prices","key":"S1","value":'
    '{"security_id":"S1","price_date":"2024-01-02","price":123.4500000000000000001,"currency":"USD"}}'
)
RAW_PAYLOAD_LINE = r'{"topic":"transactions","key":"P001","value":"{\"transaction_id\": \"BAD-JSON\", \"portfolio_id\": "}'


def test_an_object_value_is_published_as_its_exact_text_from_the_line():
    event = parse_event_line(EXACT_PRICE_LINE)

    assert (event.topic, event.key) == ("prices", b"S1")
    assert event.value == b'{"security_id":"S1","price_date":"2024-01-02","price":123.4500000000000000001,"currency":"USD"}'


def test_a_string_value_is_published_as_its_content_verbatim():
    event = parse_event_line(RAW_PAYLOAD_LINE)

    assert event.value == b'{"transaction_id": "BAD-JSON", "portfolio_id": '


def test_the_value_text_is_found_whatever_the_spacing_and_member_order():
    event = parse_event_line('{ "value" : {"a": 1.10} , "key":"k", "topic" : "t" }\n')

    assert (event.topic, event.key, event.value) == ("t", b"k", b'{"a": 1.10}')


def test_non_ascii_text_keeps_its_utf8_bytes():
    event = parse_event_line('{"topic":"instruments","key":"S-é","value":{"name":"Société Générale"}}')

    assert event.key == "S-é".encode() and event.value == '{"name":"Société Générale"}'.encode()


@pytest.mark.parametrize("line", ['{"topic":"t","key":"k"}', '["t","k","v"]', '{"topic":"t","key":1,"value":{}}', "{"])
def test_a_line_that_is_not_an_event_is_refused(line):
    with pytest.raises(EventFileError):
        parse_event_line(line)


@pytest.mark.integration
async def test_produce_file_delivers_every_line_byte_identical_in_file_order(broker, new_topic, read_topic, events_file):
    prices, transactions = await new_topic(prefix="prices"), await new_topic(prefix="transactions")
    path = events_file([
        EXACT_PRICE_LINE.replace('"prices"', f'"{prices}"'),
        RAW_PAYLOAD_LINE.replace('"transactions"', f'"{transactions}"'),
        {"topic": prices, "key": "S1", "value": {"price": "99.10"}},
        {"topic": prices, "key": "S2", "value": {"price": 7}},
    ])

    count = await produce_file(broker, path)

    assert count == 4
    assert [(r.key, r.value) for r in await read_topic(broker, prices)] == [
        (b"S1", b'{"security_id":"S1","price_date":"2024-01-02","price":123.4500000000000000001,"currency":"USD"}'),
        (b"S1", b'{"price":"99.10"}'),
        (b"S2", b'{"price":7}'),
    ]
    assert [r.value for r in await read_topic(broker, transactions)] == [b'{"transaction_id": "BAD-JSON", "portfolio_id": ']


@pytest.mark.integration
async def test_produce_file_publishes_only_the_chosen_topics(broker, new_topic, read_topic, events_file):
    wanted, skipped = await new_topic(), await new_topic()
    path = events_file([{"topic": skipped, "key": "a", "value": {}}, {"topic": wanted, "key": "b", "value": {}}])

    assert await produce_file(broker, path, topics={wanted}) == 1
    assert [r.key for r in await read_topic(broker, wanted)] == [b"b"]
    assert await read_topic(broker, skipped) == []


@pytest.mark.integration
async def test_publish_sends_key_value_pairs_in_order(broker, new_topic, read_topic):
    topic = await new_topic()

    assert await publish(broker, topic, [("k", b"1"), (b"k", b"2"), (None, b"3")]) == 3
    assert [(r.key, r.value) for r in await read_topic(broker, topic)] == [(b"k", b"1"), (b"k", b"2"), (None, b"3")]
