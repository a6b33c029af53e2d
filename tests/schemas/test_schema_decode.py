"""decode_event: reasons and their order, keys, the other topics, dead letters."""

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.decode import TOPIC_MODELS, Rejection, decode_event, message_key, parse_json, validate_item
from schemas.events import CostMethod, DeadLetter, Price, Transaction

BUY = (
    b'{"transaction_id":"T1","portfolio_id":"P001","type":"BUY","trade_date":"2023-03-02",'
    b'"security_id":"SEC001","quantity":"10","price":"50","currency":"EUR"}'
)
GOOD = {
    "portfolios": ("P1", {"portfolio_id": "P1", "name": "One", "base_currency": "USD", "open_date": "2023-01-02"}),
    "instruments": ("S1", {"security_id": "S1", "name": "Sec", "currency": "EUR"}),
    "transactions": ("P001", json.loads(BUY)),
    "prices": ("S1", {"security_id": "S1", "price_date": "2023-03-02", "price": "403.72"}),
    "fx_rates": ("EUR/USD", {"from_currency": "EUR", "to_currency": "USD", "rate_date": "2023-03-02", "rate": 1.07}),
}


def reason_of(result):
    return (result.reason, result.field, result.transaction_id) if isinstance(result, Rejection) else "ok"


@pytest.mark.parametrize("topic", list(GOOD))
def test_a_valid_message_of_every_topic_decodes_to_its_model(topic):
    key, value = GOOD[topic]
    event = decode_event(topic, key, json.dumps(value).encode())
    assert type(event) is TOPIC_MODELS[topic]
    assert message_key(topic, event) == key


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b'{"transaction_id": "BAD-JSON", "portfolio_id": ', b"\xff\xfe{}", b'{"a":1}x',
     '{"a":1}'.encode("utf-16"), b"\xef\xbb\xbf{}", b"[" * 100_000],
)
def test_bytes_that_are_not_utf8_json_are_invalid_json(raw):
    assert reason_of(decode_event("transactions", "P001", raw)) == ("invalid_json", None, None)


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"42", b"null", b"true", b"1.5"])
def test_json_that_is_not_an_object_is_invalid_event_without_a_field(raw):
    assert reason_of(decode_event("prices", "S1", raw)) == ("invalid_event", None, None)


def test_a_bad_field_is_reported_before_a_key_mismatch():
    raw = BUY.replace(b'"quantity":"10"', b'"quantity":"-5"')
    assert reason_of(decode_event("transactions", "P002", raw)) == ("invalid_event", "quantity", "T1")


def test_a_key_that_differs_from_the_portfolio_id_is_a_key_mismatch_with_the_transaction_id():
    assert reason_of(decode_event("transactions", "P002", BUY)) == ("key_mismatch", None, "T1")


def test_a_message_without_a_key_is_a_key_mismatch():
    assert reason_of(decode_event("transactions", None, BUY)) == ("key_mismatch", None, "T1")


def test_byte_keys_are_compared_as_utf8_text():
    assert isinstance(decode_event("transactions", b"P001", BUY), Transaction)
    assert reason_of(decode_event("transactions", b"\xffP001", BUY))[0] == "key_mismatch"


def test_fx_rates_are_keyed_by_from_slash_to():
    key, value = GOOD["fx_rates"]
    raw = json.dumps(value).encode()
    assert decode_event("fx_rates", "EUR/USD", raw).pair == "EUR/USD"
    assert reason_of(decode_event("fx_rates", "USD/EUR", raw))[0] == "key_mismatch"


def test_a_str_value_decodes_like_its_utf8_bytes():
    assert decode_event("transactions", "P001", BUY.decode()) == decode_event("transactions", "P001", BUY)


def test_an_unknown_topic_is_a_programming_error_not_a_rejection():
    with pytest.raises(ValueError):
        decode_event("trades", "P001", BUY)


def test_the_transaction_id_is_reported_only_when_it_is_a_readable_string():
    raw = b'{"transaction_id":5,"portfolio_id":"P001"}'
    assert reason_of(decode_event("transactions", "P001", raw)) == ("invalid_event", "transaction_id", None)


def test_the_detail_says_what_was_wrong_and_with_which_input():
    rejection = decode_event("transactions", "P001", BUY.replace(b'"BUY"', b'"BUYY"'))
    assert rejection.detail.startswith("type: ") and "'BUYY'" in rejection.detail


def test_portfolio_defaults_to_fifo_and_rejects_an_unknown_cost_method():
    _, value = GOOD["portfolios"]
    assert validate_item("portfolios", value).cost_method is CostMethod.FIFO
    assert reason_of(validate_item("portfolios", {**value, "cost_method": "RANDOM"})) == (
        "invalid_event", "cost_method", None)


@pytest.mark.parametrize("name", ["portfolio_id", "name", "base_currency", "open_date"])
def test_a_portfolio_needs_its_four_fields(name):
    _, value = GOOD["portfolios"]
    assert validate_item("portfolios", {k: v for k, v in value.items() if k != name}).field == name


@pytest.mark.parametrize("name", ["security_id", "name", "currency"])
def test_an_instrument_needs_id_name_and_currency(name):
    _, value = GOOD["instruments"]
    assert validate_item("instruments", {k: v for k, v in value.items() if k != name}).field == name


def test_blank_or_null_instrument_attributes_mean_not_given():
    _, value = GOOD["instruments"]
    event = validate_item("instruments", {**value, "sector": "", "asset_class": None, "country": "FR"})
    assert (event.sector, event.asset_class, event.country) == (None, None, "FR")


@pytest.mark.parametrize(("change", "field"), [({"price": "0"}, "price"), ({"price": "-3"}, "price"),
                                                ({"price_date": None}, "price_date"), ({"currency": "usd"}, "currency")])
def test_a_price_needs_a_date_and_a_positive_value(change, field):
    _, value = GOOD["prices"]
    assert validate_item("prices", {**value, **change}).field == field


@pytest.mark.parametrize(("change", "field"), [({"rate": "0"}, "rate"), ({"rate": -1}, "rate"),
                                                ({"to_currency": "EUR"}, "to_currency")])
def test_an_fx_rate_needs_a_positive_rate_between_two_currencies(change, field):
    _, value = GOOD["fx_rates"]
    assert validate_item("fx_rates", {**value, **change}).field == field


def test_validate_item_refuses_non_objects_without_a_key_check():
    assert reason_of(validate_item("prices", ["x"])) == ("invalid_event", None, None)
    _, value = GOOD["prices"]
    assert isinstance(validate_item("prices", value), Price)


@pytest.mark.parametrize("topic", list(GOOD))
def test_a_decoded_event_survives_a_json_round_trip_unchanged(topic):
    key, value = GOOD[topic]
    event = decode_event(topic, key, json.dumps(value).encode())
    assert decode_event(topic, key, event.model_dump_json().encode()) == event


def test_a_dead_letter_is_built_from_a_rejection_and_the_raw_message():
    raw = b'{"transaction_id":"X",\xff'
    rejection = decode_event("transactions", "P001", raw)
    at = datetime(2023, 3, 2, tzinfo=timezone.utc)
    letter = DeadLetter.build(rejection, source_topic="transactions", partition=3, offset=42,
                              key=b"P001", raw=raw, at=at)
    # Not UTF-8: the bytes are kept exactly, in base64.
    assert (letter.reason, letter.key, letter.raw_encoding) == ("invalid_json", "P001", "base64")
    assert letter.raw_head_bytes() == raw
    assert DeadLetter.model_validate_json(letter.model_dump_json()) == letter


def test_parse_json_refuses_non_utf8_encodings_instead_of_guessing():
    with pytest.raises(ValueError):
        parse_json('{"a": 1}'.encode("utf-16-le"))


JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12),
                      st.decimals(allow_nan=True, allow_infinity=True).map(str),
                      st.sampled_from(["2023-03-02", "BUY", "CANCELLED", "EUR", "P001", "T1", "1e999", "-0"]))
FIELDS = st.sampled_from(["transaction_id", "portfolio_id", "version", "status", "type", "trade_date",
                          "settlement_date", "security_id", "quantity", "price", "amount", "fees", "currency",
                          "fx_rate", "name", "base_currency", "cost_method", "open_date", "price_date",
                          "from_currency", "to_currency", "rate_date", "rate", "extra"])


@settings(max_examples=400, deadline=None)
@given(topic=st.sampled_from(list(GOOD)), body=st.dictionaries(FIELDS, JSON_LEAF, max_size=10))
def test_any_json_object_decodes_or_is_rejected_but_never_raises(topic, body):
    key, good = GOOD[topic]
    result = decode_event(topic, key, json.dumps({**good, **body}).encode())
    assert isinstance(result, (Rejection, TOPIC_MODELS[topic]))
    if isinstance(result, Rejection):
        assert result.reason in {"invalid_event", "key_mismatch"}


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=64))
def test_any_bytes_decode_or_are_rejected_but_never_raise(raw):
    assert isinstance(decode_event("transactions", "P001", raw), (Rejection, Transaction))


@given(st.decimals(min_value=-10**6, max_value=10**6, allow_nan=False, allow_infinity=False, places=4))
def test_any_decimal_within_the_price_bounds_round_trips_as_a_string_and_as_a_number(value):
    _, good = GOOD["prices"]
    for text in (json.dumps({**good, "price": str(value)}), json.dumps(good)[:-1] + f', "price": {value}}}'):
        result = decode_event("prices", "S1", text)
        if value > 0:
            assert result.price == value
        else:
            assert result.field == "price"
