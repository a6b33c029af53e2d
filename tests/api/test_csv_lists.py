"""api.csv_lists: list answers as CSV, and formula cells made inert."""
from __future__ import annotations

import csv
import io

import pytest

from api.csv_lists import rows_csv, safe_cell


@pytest.mark.parametrize("cell", ["=1+2", "+1+2", "-1+2", "@SUM(A1)", "\tx", "\rx", "-", "-12.50abc", "--1"])
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_quote(cell):
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-12.50", "12.50", "0", "-7", "1e-05", "-1.5E+3", "Apple", "", "a=b"])
def test_plain_numbers_and_ordinary_text_stay_as_they_are(cell):
    assert safe_cell(cell) == cell


def test_rows_are_written_under_a_header_with_nested_values_as_json_and_null_as_empty():
    text = rows_csv(["id", "cash", "note", "ok"], [
        {"id": "T1", "cash": {"USD": "-12.50"}, "note": None, "ok": True},
        {"id": "T2", "cash": {}, "note": 'says "hi", twice', "ok": False}])
    assert list(csv.reader(io.StringIO(text))) == [
        ["id", "cash", "note", "ok"],
        ["T1", '{"USD":"-12.50"}', "", "true"],
        ["T2", "{}", 'says "hi", twice', "false"]]
