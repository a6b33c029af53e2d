"""GET /portfolios/{id}/timeseries: the stored daily series from PostgreSQL, with r_t."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

# The series of P1 and its daily returns r_t = (MV_t + Out_t) / (MV_{t−1} + In_t) − 1, worked by hand:
#   2024-01-02  mv 1000  in 1000          r = (1000 + 0) / (0 + 1000) − 1     = 0       (MV_{−1} = 0)
#   2024-01-03  mv 1100                   r = 1100 / (1000 + 0) − 1           = 0.1
#   2024-01-04  mv 1650  in 500           r = 1650 / (1100 + 500) − 1         = 0.03125
#   2024-01-05  mv 1500         out 200   r = (1500 + 200) / (1650 + 0) − 1   = 1/33
#   2024-01-08  mv null                   r = null (its own MV is unknown)
#   2024-01-09  mv 1600                   r = null (MV_{t−1} is unknown)
EXPECTED = [
    ("2024-01-02", "1000", "1000", "0", 0.0),
    ("2024-01-03", "1100", "0", "0", 0.1),
    ("2024-01-04", "1650", "500", "0", 0.03125),
    ("2024-01-05", "1500", "0", "200", 1 / 33),
    ("2024-01-08", None, None, None, None),
    ("2024-01-09", "1600", "0", "0", None),
]


@pytest.fixture
async def series(analytics_rows):
    rows = analytics_rows
    await rows.portfolio("P1")
    await rows.transaction("P1", "D1", type="DEPOSIT", trade_date=date(2024, 1, 2), amount="1000",
                           cash_effect={"USD": "1000"})
    await rows.series("P1", date(2024, 1, 2), "1000", inflow="1000")
    await rows.series("P1", date(2024, 1, 3), "1100")
    await rows.series("P1", date(2024, 1, 4), "1650", inflow="500")
    await rows.series("P1", date(2024, 1, 5), "1500", outflow="200")
    await rows.series("P1", date(2024, 1, 8), None, inflow=None, outflow=None)
    await rows.series("P1", date(2024, 1, 9), "1600")
    # Another portfolio's rows never show up in P1's series.
    await rows.portfolio("P2")
    await rows.series("P2", date(2024, 1, 3), "777", inflow="777")
    await rows.horizon(date(2024, 1, 9))
    return rows


def _items(body):
    return [(i["date"], i["mv"], i["inflow"], i["outflow"], i["r"]) for i in body["items"]]


def _same(actual, expected):
    """Money compared as exact decimals, returns as floats."""
    assert len(actual) == len(expected)
    for (day, mv, inflow, outflow, r), (e_day, e_mv, e_in, e_out, e_r) in zip(actual, expected):
        assert day == e_day
        for got, want in ((mv, e_mv), (inflow, e_in), (outflow, e_out)):
            assert (got is None and want is None) or Decimal(got) == Decimal(want), (day, got, want)
        assert r == (None if e_r is None else pytest.approx(e_r, rel=1e-12, abs=1e-15)), (day, r, e_r)


async def test_the_timeseries_lists_every_stored_date_with_its_daily_return(series, db_client):
    response = await db_client.get("/portfolios/P1/timeseries")

    assert response.status_code == 200
    body = response.json()
    assert (body["portfolio_id"], body["base_currency"], body["total"]) == ("P1", "USD", 6)
    _same(_items(body), EXPECTED)


async def test_from_and_to_cut_the_listed_dates_but_returns_still_link_to_the_date_before(series, db_client):
    response = await db_client.get("/portfolios/P1/timeseries", params={"from": "2024-01-04", "to": "2024-01-05"})

    assert response.status_code == 200
    body = response.json()
    # 2024-01-04's r still divides by 2024-01-03's MV (1100 + 500), though that date is not listed.
    assert body["total"] == 2
    _same(_items(body), EXPECTED[2:4])


async def test_from_alone_lists_every_date_from_it_on(series, db_client):
    body = (await db_client.get("/portfolios/P1/timeseries", params={"from": "2024-01-06"})).json()

    assert body["total"] == 2
    _same(_items(body), EXPECTED[4:])


async def test_to_alone_lists_every_date_up_to_it(series, db_client):
    body = (await db_client.get("/portfolios/P1/timeseries", params={"to": "2024-01-03"})).json()

    assert body["total"] == 2
    _same(_items(body), EXPECTED[:2])


async def test_a_page_of_the_timeseries_says_the_total_of_all_pages(series, db_client):
    body = (await db_client.get("/portfolios/P1/timeseries", params={"limit": 2, "offset": 1})).json()

    assert (body["total"], body["limit"], body["offset"]) == (6, 2, 1)
    _same(_items(body), EXPECTED[1:3])


async def test_a_period_without_any_stored_date_is_an_empty_list(series, db_client):
    body = (await db_client.get("/portfolios/P1/timeseries", params={"from": "2023-01-01", "to": "2023-12-31"})).json()

    assert (body["total"], body["items"]) == (0, [])


async def test_from_after_to_is_a_422_naming_from(series, db_client):
    response = await db_client.get("/portfolios/P1/timeseries", params={"from": "2024-01-05", "to": "2024-01-04"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "from"


async def test_a_malformed_date_is_a_422_naming_the_parameter(series, db_client):
    bad_from = await db_client.get("/portfolios/P1/timeseries", params={"from": "2024-1-5"})
    bad_to = await db_client.get("/portfolios/P1/timeseries", params={"to": "05/01/2024"})

    assert (bad_from.status_code, bad_from.json()["detail"][0]["field"]) == (422, "from")
    assert (bad_to.status_code, bad_to.json()["detail"][0]["field"]) == (422, "to")


async def test_the_timeseries_of_an_unknown_portfolio_is_404(series, db_client):
    assert (await db_client.get("/portfolios/NOPE/timeseries")).status_code == 404
