"""Accepted ranges: strings without control characters, dates in a window, bounded decimals.

Out of range is always an invalid_event naming the field (a 422 at ingest,
a dead letter on Kafka); see README "Accepted ranges" for why each bound.
"""

import json
from datetime import date

import pytest

from schemas import fields
from schemas.decode import Rejection, decode_event, validate_item
from schemas.events import Transaction

TODAY = date(2026, 3, 10)

GOOD = {
    "portfolios": ("P1", {"portfolio_id": "P1", "name": "One", "base_currency": "USD", "open_date": "2023-01-02",
                          "benchmark_id": "SPX"}),
    "instruments": ("S1", {"security_id": "S1", "name": "Sec", "currency": "EUR", "isin": "X", "asset_class": "EQ",
                           "sector": "IT", "country": "NL"}),
    "transactions": ("P1", {"transaction_id": "T1", "portfolio_id": "P1", "type": "BUY", "trade_date": "2023-03-02",
                            "security_id": "S1", "quantity": "10", "price": "50", "currency": "EUR"}),
    "prices": ("S1", {"security_id": "S1", "price_date": "2023-03-02", "price": "403.72", "currency": "EUR"}),
    "fx_rates": ("EUR/USD", {"from_currency": "EUR", "to_currency": "USD", "rate_date": "2023-03-02",
                             "rate": "1.07"}),
}
STRING_FIELDS = [(topic, name) for topic, (_, value) in GOOD.items() for name, v in value.items()
                 if type(v) is str and not name.endswith("date") and name not in
                 ("type", "quantity", "price", "rate")]
DATE_FIELDS = [("portfolios", "open_date"), ("transactions", "trade_date"), ("transactions", "settlement_date"),
               ("prices", "price_date"), ("fx_rates", "rate_date")]


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(fields, "today", lambda: TODAY, raising=False)


def with_field(topic, name, value):
    return {**GOOD[topic][1], name: value}


def rejection(topic, name, value):
    result = validate_item(topic, with_field(topic, name, value))
    return (result.reason, result.field) if isinstance(result, Rejection) else result


# --- strings -----------------------------------------------------------------------------------------------

def test_every_string_field_of_every_event_is_covered():
    assert len(STRING_FIELDS) == 19


@pytest.mark.parametrize("char", ["\x00", "\x01", "\t", "\n", "\x1f", "\x7f", "\x80", "\x85", "\x9f",
                                  "\ud800", "\udfff"])
@pytest.mark.parametrize("topic,name", STRING_FIELDS)
def test_a_control_character_or_lone_surrogate_in_any_string_field_names_that_field(topic, name, char):
    original = GOOD[topic][1][name]
    assert rejection(topic, name, original[:1] + char + original[1:]) == ("invalid_event", name)


@pytest.mark.parametrize("topic,name", STRING_FIELDS)
def test_an_escaped_nul_in_a_message_is_an_invalid_event_naming_the_field_not_the_whole_message(topic, name):
    key, value = GOOD[topic]
    raw = json.dumps(value).replace(f'"{name}": "{value[name]}', f'"{name}": "{value[name]}\\u0000')
    result = decode_event(topic, key, raw.encode())
    assert (result.reason, result.field) == ("invalid_event", name)


def test_an_escaped_lone_surrogate_names_the_field():
    key, value = GOOD["transactions"]
    raw = json.dumps(value).replace('"T1"', '"T\\ud800"')
    result = decode_event("transactions", key, raw.encode())
    assert (result.reason, result.field, result.transaction_id) == ("invalid_event", "transaction_id", None)
    assert "\\ud800" in result.detail  # the detail stays encodable: the character is escaped
    result.detail.encode("utf-8")


def test_a_raw_nul_byte_inside_a_json_string_is_invalid_json():
    key, value = GOOD["transactions"]
    raw = json.dumps(value).replace('"T1"', '"T\x001"').encode()
    assert decode_event("transactions", key, raw).reason == "invalid_json"


@pytest.mark.parametrize("text", ["Société Générale", "日本株", "Fund \u00a0A", "emoji 📈", "x\u200by"])
def test_printable_unicode_and_visible_non_ascii_text_is_accepted(text):
    assert validate_item("instruments", with_field("instruments", "name", text)).name == text


@pytest.mark.parametrize("key", [b"P\x001", b"P1\x00", b"P1\xff", b"\xedP1", "P1\x00", "P1\ud800"])
def test_a_message_key_with_nul_or_invalid_utf8_is_a_key_mismatch(key):
    _, value = GOOD["transactions"]
    result = decode_event("transactions", key, json.dumps(value).encode())
    assert (result.reason, result.field) == ("key_mismatch", None)
    result.detail.encode("utf-8")


def test_an_invalid_utf8_key_never_matches_the_id_its_replacement_characters_spell():
    _, value = GOOD["transactions"]
    raw = json.dumps({**value, "portfolio_id": "P\ufffd"}).encode()
    assert isinstance(decode_event("transactions", "P\ufffd".encode(), raw), Transaction)
    assert decode_event("transactions", b"P\xff", raw).reason == "key_mismatch"


# --- dates -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("topic,name", DATE_FIELDS)
@pytest.mark.parametrize("day", ["1900-01-01", "2026-03-10", "2027-03-10"])
def test_dates_from_1900_to_a_year_after_today_are_accepted(topic, name, day):
    assert getattr(validate_item(topic, with_field(topic, name, day)), name) == date.fromisoformat(day)


@pytest.mark.parametrize("topic,name", DATE_FIELDS)
@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "2027-03-11", "9999-12-31"])
def test_dates_outside_the_window_are_invalid_naming_the_field(topic, name, day):
    assert rejection(topic, name, day) == ("invalid_event", name)


def test_the_window_moves_with_today_and_a_leap_day_maps_to_the_28th_next_year(monkeypatch):
    monkeypatch.setattr(fields, "today", lambda: date(2028, 2, 29))
    assert rejection("prices", "price_date", "2029-02-28") != ("invalid_event", "price_date")
    assert rejection("prices", "price_date", "2029-03-01") == ("invalid_event", "price_date")


def test_the_default_today_is_the_real_utc_date():
    from datetime import datetime, timezone
    assert fields.utc_today() == datetime.now(timezone.utc).date()


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_deposit_at_an_extreme_date_is_rejected_on_the_topic(day):
    raw = json.dumps({"transaction_id": "D1", "portfolio_id": "P1", "type": "DEPOSIT", "trade_date": day,
                      "amount": "100", "currency": "USD"})
    result = decode_event("transactions", "P1", raw.encode())
    assert (result.reason, result.field, result.transaction_id) == ("invalid_event", "trade_date", "D1")


# --- decimals ----------------------------------------------------------------------------------------------

def tx(**changes):
    return {**GOOD["transactions"][1], **changes}


def tx_field(name, value, **others):
    result = validate_item("transactions", tx(**{name: value}, **others))
    return result.field if isinstance(result, Rejection) else getattr(result, name)


# (field, largest accepted, smallest positive accepted, just beyond the largest, one decimal too many)
BOUNDS = [
    ("quantity", "100000000", "0.0001", "100000000.0001", "0.00005"),
    ("price", "1000000", "0.0001", "1000000.0001", "0.00001"),
    ("amount", "100000000000000", "0.00000001", "100000000000000.00000001", "0.000000001"),
    ("fees", "100000000000000", "0.00000001", "100000000000000.00000001", "1.000000001"),
    ("fx_rate", "100000", "0.000001", "100000.000001", "1.0000001"),
]


@pytest.mark.parametrize("name,largest,smallest,beyond,too_fine", BOUNDS)
def test_transaction_decimals_are_accepted_exactly_at_their_bounds(name, largest, smallest, beyond, too_fine):
    from decimal import Decimal
    assert tx_field(name, largest) == Decimal(largest)
    assert tx_field(name, smallest) == Decimal(smallest)


@pytest.mark.parametrize("name,largest,smallest,beyond,too_fine", BOUNDS)
def test_transaction_decimals_just_beyond_their_bounds_are_rejected_naming_the_field(
        name, largest, smallest, beyond, too_fine):
    assert tx_field(name, beyond) == name
    assert tx_field(name, too_fine) == name


def test_trailing_zeros_are_not_decimal_places():
    from decimal import Decimal
    assert tx_field("quantity", "2.50000000") == Decimal("2.5")
    assert tx_field("quantity", "1E+8") == Decimal("1E+8")


def test_a_signed_amount_is_bounded_in_absolute_value():
    assert tx_field("amount", "-100000000000000.00000001") == "amount"
    assert tx_field("amount", "-100000000000000") == -100000000000000


def test_price_and_rate_events_share_the_transaction_bounds():
    assert rejection("prices", "price", "1000000.0001") == ("invalid_event", "price")
    assert rejection("prices", "price", "0.00001") == ("invalid_event", "price")
    assert validate_item("prices", with_field("prices", "price", "1000000")).price == 1000000
    assert rejection("fx_rates", "rate", "100000.000001") == ("invalid_event", "rate")
    assert rejection("fx_rates", "rate", "0.0000001") == ("invalid_event", "rate")
    assert validate_item("fx_rates", with_field("fx_rates", "rate", "0.000001")).rate.as_tuple().exponent == -6


def test_a_split_ratio_is_a_quantity_and_shares_its_bounds():
    split = {"type": "SPLIT", "quantity": "1.5", "price": None, "currency": None}
    assert tx_field("quantity", "100000001", **{k: v for k, v in split.items() if k != "quantity"}) == "quantity"


def test_item4_a_buy_of_1e99_is_rejected_instead_of_swallowing_the_held_quantity():
    assert tx_field("quantity", "1e99") == "quantity"


def test_item4_a_trade_of_9e98_times_9e98_is_rejected():
    result = validate_item("transactions", tx(quantity="9e98", price="9e98"))
    assert (result.reason, result.field) == ("invalid_event", "quantity")
    assert tx_field("price", "9e98") == "price"
