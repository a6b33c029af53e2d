"""core.stored: the one owner of the records' stored layout."""
from __future__ import annotations


import orjson
import pytest

from core.lots import Lot
from core.records import CashState, PortfolioState, PositionState, TxRecord, TxVersion
from core.stored import (TABLES, compound_key, day_from_stored, day_row, decode, encode, lot_from_stored,
                         lot_to_stored, position_from_stored, to_stored)
from tests.core.factories import D, make_tx


def _position() -> PositionState:
    return PositionState(
        "P1", "AAPL", currency="USD", entries=[["2024-01-02", 3, "T1"], ["2024-02-01", 7, "T2"]],
        lots=[Lot("T1", "2024-01-02", 3, D("10"), D("1500.10"), D("1350.09")),
              Lot("T2", "2024-02-01", 7, D("2.5"), D("400"), D("360.5"))],
        realized_local=D("12.34"), realized_base=D("11.1"), listed=True,
        history=[day_row("2024-01-02", D("10"), D("1500.10"), D("1350.09"), D("0"), D("0"))],
        history_from="2024-02-01", seq=4, applied=7)


def test_a_lot_is_stored_as_id_open_date_arrival_quantity_and_both_costs_in_that_order():
    lot = Lot("T1", "2024-01-02", 3, D("-10"), D("-1500.10"), D("-1350.09"))
    assert lot_to_stored(lot) == ["T1", "2024-01-02", 3, "-10", "-1500.10", "-1350.09"]
    assert lot_from_stored(lot_to_stored(lot)) == lot


def test_a_position_is_stored_with_its_totals_summed_by_hand():
    stored = to_stored(_position())
    # 10 + 2.5; 1500.10 + 400; 1350.09 + 360.5
    assert (stored["quantity"], stored["cost_local"], stored["cost_base"]) == ("12.5", "1900.10", "1710.59")
    assert stored["lots"][1] == ["T2", "2024-02-01", 7, "2.5", "400", "360.5"]


def test_every_record_kind_survives_bytes_exactly():
    tx = TxRecord(make_tx("BUY", quantity="10", price="150.01", fees="1.5"), arrival=3, fx=D("0.9"),
                  realized_local=D("-1.25"), realized_base=D("-1.125"), cash={"USD": D("-1501.6")}, seq=2,
                  applied=3, superseded=[TxVersion(make_tx("BUY", quantity="9", price="150.01"), 1, 1)])
    records = {"books": PortfolioState("P1", {"portfolio_id": "P1", "base_currency": "EUR"}, ["AAPL"], ["USD"], 3, 9),
               "ledger": tx, "positions": _position(), "cash": CashState("P1", "USD", D("-1501.60"), 1, 2, 3)}
    assert set(records) == set(TABLES)
    for table, record in records.items():
        assert decode(table, encode(record)) == record


def test_a_position_stored_before_totals_existed_gets_them_from_its_lots():
    old = to_stored(_position())
    del old["quantity"], old["cost_local"], old["cost_base"]
    state = decode("positions", orjson.dumps(old))
    assert (state.quantity, state.cost_local, state.cost_base) == (D("12.5"), D("1900.10"), D("1710.59"))


def test_stored_totals_are_read_not_summed_again():
    # The stored totals are the figures: a reader never pays for summing the lots.
    stored = {**to_stored(_position()), "quantity": "12.50"}
    assert str(position_from_stored(stored).quantity) == "12.50"


def test_the_workers_live_answer_without_entries_and_history_is_a_position_too():
    slim = {k: v for k, v in to_stored(_position()).items() if k not in ("entries", "history")}
    state = position_from_stored(slim)
    assert (state.entries, state.history, state.quantity) == ([], [], D("12.5"))


def test_a_ledger_record_stored_before_superseded_existed_has_none():
    stored = orjson.loads(encode(TxRecord(make_tx("DEPOSIT", amount="5"), arrival=0)))
    del stored["superseded"]
    assert decode("ledger", orjson.dumps(stored)).superseded == []


def test_a_day_row_is_text_and_reads_back_as_decimals():
    row = day_row("2024-01-02", D("10"), D("1E+1"), D("-0.5"), D("0"), D("3.10"))
    assert row == ["2024-01-02", "10", "10", "-0.5", "0", "3.10"]
    assert day_from_stored(row) == ("2024-01-02", D("10"), D("10"), D("-0.5"), D("0"), D("3.10"))


@pytest.mark.parametrize("parts", [("P1", "AAPL"), ("P 1", "T-1/2")])
def test_a_compound_key_joins_ids_with_the_unit_separator(parts):
    assert compound_key(*parts) == "\x1f".join(parts)
