"""Allocation buckets: cash, shorts and overdrafts, Unclassified, incomplete data; weights by hand."""
from __future__ import annotations

import pytest

from core.allocation import ALLOCATION_KEYS, Bucket, allocate
from core.market import InstrumentInfo
from core.valuation import MISSING_FX, MISSING_PRICE, OK, CashValue, PositionValue
from tests.core.factories import D

INSTRUMENTS = {
    "AAA": InstrumentInfo("AAA", "A", "USD", "EQUITY", "Tech", "US"),
    "BBB": InstrumentInfo("BBB", "B", "EUR", "BOND", None, "FR"),       # no sector
    "SHORT": InstrumentInfo("SHORT", "S", "USD", "EQUITY", "Tech", "US"),
    "GONE": InstrumentInfo("GONE", "G", "GBP", "FUND", "Energy", "GB"),
    "NOPX": InstrumentInfo("NOPX", "N", "USD", "EQUITY", "Tech", "US"),
}


def position(sid, mv_base, quantity="1", currency="USD", status=OK):
    mv = None if mv_base is None else D(mv_base)
    return PositionValue(sid, currency, D(quantity), D(0), D(0), D(0), D(0), None, None, None,
                         mv, mv, mv, mv, None, status)


def cash(currency, balance, mv_base, status=OK):
    return CashValue(currency, D(balance), None, None if mv_base is None else D(mv_base), status)


# USD base. AAA 600, BBB 300 (EUR), SHORT −100, GONE closed, UNKNOWN (no instrument, GBP) 100,
# cash USD 150, EUR −50 (overdraft), GBP 0 (left out). Total 600 + 300 − 100 + 100 + 150 − 50 = 1000.
POSITIONS = [position("AAA", "600"), position("BBB", "300", currency="EUR"), position("SHORT", "-100", "-5"),
             position("GONE", "0", "0", currency="GBP"), position("UNKNOWN", "100", currency="GBP")]
CASH = [cash("USD", "150", "150"), cash("EUR", "-40", "-50"), cash("GBP", "0", "0")]


@pytest.mark.parametrize("by, expected", [
    ("asset_class", {"EQUITY": 500, "BOND": 300, "Unclassified": 100, "CASH": 100}),
    ("sector", {"Tech": 500, "Unclassified": 500}),            # BBB 300 + UNKNOWN 100 + cash 100
    ("currency", {"USD": 650, "EUR": 250, "GBP": 100}),         # by instrument currency; cash by its own
    ("country", {"US": 500, "FR": 300, "Unclassified": 200}),   # UNKNOWN 100 + cash 100
    ("security", {"AAA": 600, "BBB": 300, "SHORT": -100, "UNKNOWN": 100, "CASH:USD": 150, "CASH:EUR": -50}),
])
def test_buckets_sum_mv_base_and_weigh_it_over_the_total(by, expected):
    allocation = allocate(POSITIONS, CASH, INSTRUMENTS, by)
    assert allocation.by == by and allocation.complete is True
    assert {b.name: b.mv_base for b in allocation.buckets} == {k: D(v) for k, v in expected.items()}
    assert allocation.weights() == {k: v / 1000 for k, v in expected.items()}


def test_buckets_come_largest_first_and_a_short_weighs_negative():
    allocation = allocate(POSITIONS, CASH, INSTRUMENTS.get, "security")
    assert [b.name for b in allocation.buckets] == ["AAA", "BBB", "CASH:USD", "UNKNOWN", "CASH:EUR", "SHORT"]
    assert allocation.buckets[-1] == Bucket("SHORT", D(-100), -0.1)


def test_a_missing_value_is_left_out_and_weights_cover_the_known_total():
    # AAA 600 and cash USD 150 known (750); NOPX without price, JPY cash without rate.
    positions = [position("AAA", "600"), position("NOPX", None, "3", status=MISSING_PRICE)]
    balances = [cash("USD", "150", "150"), cash("JPY", "-1000", None, MISSING_FX)]
    allocation = allocate(positions, balances, INSTRUMENTS, "currency")
    assert allocation.complete is False
    assert allocation.weights() == {"USD": 1.0}
    assert allocate(positions, balances, INSTRUMENTS, "asset_class").weights() == {"EQUITY": 0.8, "CASH": 0.2}


def test_nothing_to_allocate_gives_no_buckets():
    assert allocate([], [], {}, "sector").buckets == []


def test_an_unknown_key_is_refused():
    assert ALLOCATION_KEYS == ("asset_class", "sector", "currency", "country", "security")
    with pytest.raises(ValueError):
        allocate(POSITIONS, CASH, INSTRUMENTS, "region")
