"""Query-parameter dates (from, to, as_of) are held to the events' date window (schemas.fields):
outside it a 422 names the parameter, instead of answering for year 1 or 9999."""
from __future__ import annotations

from datetime import date

import pytest

from schemas import fields

# With today 2026-03-01 the window is 1900-01-01 .. 2027-03-01.
TODAY = date(2026, 3, 1)
PARAMETERS = [("/portfolios/P1/performance", "from"), ("/portfolios/P1/performance", "to"),
              ("/portfolios/P1/risk", "to"), ("/portfolios/P1/timeseries", "from"),
              ("/portfolios/P1/transactions", "to"), ("/portfolios/P1/position-history", "from"),
              ("/portfolios/P1/cash", "as_of"), ("/portfolios/P1/positions", "as_of"),
              ("/portfolios/P1/valuation", "as_of"), ("/portfolios/P1/allocation", "as_of")]


@pytest.fixture
def fixed_today(monkeypatch):
    monkeypatch.setattr(fields, "today", lambda: TODAY)


@pytest.mark.parametrize("path, parameter", PARAMETERS)
async def test_a_query_date_outside_the_window_is_a_422_naming_the_parameter(
        rows, db_client, fixed_today, path, parameter):
    await rows.portfolio("P1")
    for outside in ("0001-01-01", "1899-12-31", "2027-03-02", "9999-12-31"):
        response = await db_client.get(path, params={parameter: outside})

        assert response.status_code == 422, (parameter, outside)
        assert [(d["field"], d["type"]) for d in response.json()["detail"]] == [(parameter, "date_range")], outside


async def test_the_ends_of_the_window_are_accepted(rows, db_client, fixed_today):
    await rows.portfolio("P1")

    response = await db_client.get("/portfolios/P1/transactions", params={"from": "1900-01-01", "to": "2027-03-01"})

    assert (response.status_code, response.json()["total"]) == (200, 0)
