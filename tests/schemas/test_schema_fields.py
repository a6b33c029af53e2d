"""Decimals, dates and versions: what the contract accepts and refuses."""

import json
from datetime import date
from decimal import Decimal

import pytest

from schemas.decode import decode_event, parse_json, validate_item

BUY = {
    "transaction_id": "T1",
    "portfolio_id": "P001",
    "type": "BUY",
    "trade_date": "2023-03-02",
    "security_id": "SEC001",
    "quantity": "10",
    "price": "50",
    "currency": "EUR",
}


def buy(**changes):
    return {**BUY, **changes}


def decode_tx(text: str):
    return decode_event("transactions", "P001", text.encode())


def test_a_decimal_string_and_a_json_number_both_stay_exact():
    tx = decode_tx('{"transaction_id":"T1","portfolio_id":"P001","type":"DEPOSIT","trade_date":"2023-03-02",'
                   '"amount":"0.1","fees":0.2,"currency":"USD"}')
    assert type(tx.amount) is Decimal and type(tx.fees) is Decimal
    assert tx.amount + tx.fees == Decimal("0.3")
    assert str(tx.amount + tx.fees) == "0.3"


def test_json_numbers_keep_every_written_digit():
    tx = decode_tx(json.dumps(buy(price=None)).replace("null", "987654.3219"))
    assert tx.price == Decimal("987654.3219")


def test_integers_and_exponents_are_accepted_as_decimals():
    assert validate_item("transactions", buy(quantity=7)).quantity == Decimal(7)
    assert validate_item("transactions", buy(price="1.5e2")).price == Decimal(150)
    assert validate_item("transactions", buy(price=Decimal("1E+2"))).price == Decimal(100)


def test_negative_zero_becomes_plain_zero():
    fees = validate_item("transactions", buy(fees="-0.00")).fees
    assert fees == 0 and not fees.is_signed()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_rejected_naming_the_field(literal):
    rejection = decode_tx(json.dumps(buy(price=None)).replace("null", literal))
    assert (rejection.reason, rejection.field, rejection.transaction_id) == ("invalid_event", "price", "T1")


@pytest.mark.parametrize("text", ["NaN", "nan", "Infinity", "-Infinity", "inf", "sNaN"])
def test_nan_and_infinity_strings_are_rejected_naming_the_field(text):
    rejection = validate_item("transactions", buy(quantity=text))
    assert (rejection.reason, rejection.field) == ("invalid_event", "quantity")


@pytest.mark.parametrize("flag", [True, False])
def test_booleans_are_not_decimals(flag):
    rejection = validate_item("transactions", buy(fees=flag))
    assert (rejection.reason, rejection.field) == ("invalid_event", "fees")


@pytest.mark.parametrize("text", ["", " 1", "1 ", "1_000", "1,5", "0x10", "١٢", "abc", "1e", "--1", "1e1234567"])
def test_malformed_decimal_strings_are_rejected(text):
    assert validate_item("transactions", buy(quantity=text)).field == "quantity"


def test_binary_floats_are_refused_because_their_digits_are_not_what_was_written():
    rejection = validate_item("transactions", buy(price=0.1))
    assert rejection.field == "price" and "float" in rejection.detail


def test_more_than_34_significant_digits_are_refused_rather_than_rounded():
    assert validate_item("transactions", buy(quantity="1." + "1" * 34)).field == "quantity"
    assert validate_item("transactions", buy(quantity="1." + "0" * 40)).quantity == 1


def test_absurd_magnitudes_are_refused_so_arithmetic_cannot_overflow():
    assert validate_item("transactions", buy(quantity="1e100")).field == "quantity"
    assert validate_item("transactions", buy(quantity="1e-100")).field == "quantity"
    assert validate_item("transactions", buy(quantity="1e99")).field == "quantity"


@pytest.mark.parametrize(
    "text", ["2023-13-45", "2023-02-29", "2023-3-2", "20230302", "2023-03-02T00:00:00", " 2023-03-02", "2023-03-02\n"]
)
def test_dates_must_be_exactly_yyyy_mm_dd_and_real(text):
    assert validate_item("transactions", buy(trade_date=text)).field == "trade_date"


@pytest.mark.parametrize("value", [1677715200, None, True])
def test_dates_are_never_timestamps_or_null_on_a_booking(value):
    assert validate_item("transactions", buy(trade_date=value)).field == "trade_date"


def test_a_leap_day_is_a_real_date():
    assert validate_item("transactions", buy(trade_date="2024-02-29")).trade_date == date(2024, 2, 29)


def test_version_x_is_invalid_naming_version():
    rejection = decode_tx(json.dumps(buy(version="x")))
    assert (rejection.reason, rejection.field, rejection.transaction_id) == ("invalid_event", "version", "T1")


@pytest.mark.parametrize("raw", ['"2"', "1.0", "true", "0", "-1", "null", "9223372036854775808"])
def test_version_must_be_a_json_integer_of_at_least_one(raw):
    rejection = decode_tx(json.dumps(buy(version=None)).replace("null", raw))
    assert rejection.field == "version"


def test_version_defaults_to_one_and_takes_large_integers():
    assert validate_item("transactions", BUY).version == 1
    assert validate_item("transactions", buy(version=2**40)).version == 2**40


def test_parse_json_turns_fractions_into_decimals_and_keeps_integers_int():
    assert parse_json(b'{"a": 0.1, "b": 2, "c": 1e2}') == {"a": Decimal("0.1"), "b": 2, "c": Decimal("1E+2")}
    assert [type(v) for v in parse_json(b'[0.1, 2, NaN]')] == [Decimal, int, Decimal]
