"""GET /portfolios/{id}/performance: TWR and MWR of a period, over the daily series in PostgreSQL."""
from __future__ import annotations

from datetime import date

import pytest

FIGURES = ("twr", "twr_annualized", "mwr_annualized", "mwr_period")


def approx(value):
    return pytest.approx(value, rel=1e-9, abs=1e-12)


@pytest.fixture
async def short_ledger(analytics_rows):
    """P1: four weekdays of January 2024; PN: the same dates with one price missing (mv null).

    P1's daily returns (r_t = (MV_t + Out_t) / (MV_{t−1} + In_t) − 1):
        2024-01-02  mv 1000  in 1000            r = 1000 / 1000 − 1           = 0
        2024-01-03  mv 1100                     r = 1100 / 1000 − 1           = 0.1
        2024-01-04  mv 1650  in 500             r = 1650 / (1100 + 500) − 1   = 0.03125
        2024-01-05  mv 1500         out 200     r = (1500 + 200) / 1650 − 1   = 1/33
    Its first booked transaction is 2024-01-02; a cancelled one dated 2023-12-15 does not count.
    The market horizon is 2024-01-05.
    """
    rows = analytics_rows
    await rows.portfolio("P1")
    await rows.transaction("P1", "D1", type="DEPOSIT", trade_date=date(2024, 1, 2), amount="1000",
                           cash_effect={"USD": "1000"})
    await rows.transaction("P1", "X0", type="DEPOSIT", trade_date=date(2023, 12, 15), amount="5",
                           status="CANCELLED", version=2, cash_effect={"USD": "5"})
    await rows.transaction("P1", "D2", type="DEPOSIT", trade_date=date(2024, 1, 4), amount="500",
                           cash_effect={"USD": "500"})
    await rows.transaction("P1", "W1", type="WITHDRAWAL", trade_date=date(2024, 1, 5), amount="200",
                           cash_effect={"USD": "-200"})
    await rows.series("P1", date(2024, 1, 2), "1000", inflow="1000")
    await rows.series("P1", date(2024, 1, 3), "1100")
    await rows.series("P1", date(2024, 1, 4), "1650", inflow="500")
    await rows.series("P1", date(2024, 1, 5), "1500", outflow="200")

    # PN: 2024-01-03 has no value (a price was missing), so r(01-03) and r(01-04) are unknown;
    # r(01-05) = 1210 / 1100 − 1 = 0.1 is known.
    await rows.portfolio("PN")
    await rows.transaction("PN", "D1", type="DEPOSIT", trade_date=date(2024, 1, 2), amount="1000",
                           cash_effect={"USD": "1000"})
    await rows.series("PN", date(2024, 1, 2), "1000", inflow="1000")
    await rows.series("PN", date(2024, 1, 3), None)
    await rows.series("PN", date(2024, 1, 4), "1100")
    await rows.series("PN", date(2024, 1, 5), "1210")
    await rows.horizon(date(2024, 1, 5))
    return rows


@pytest.fixture
async def year_ledger(analytics_rows):
    """Two portfolios spanning years, for annualization and MWR worked by hand. Horizon 2025-01-01.

    P2 (first transaction 2022-12-30):
        2022-12-30  mv 1000  in 1000    r = 0
        2023-01-02  mv 1000             r = 0
        2024-01-02  mv 1200  in 100     r = 1200 / (1000 + 100) − 1 = 1/11
        2025-01-01  mv 1320             r = 1320 / 1200 − 1        = 0.1
    Day counts: 2023-01-02 → 2024-01-02 is 365 days (2023 is not a leap year), 2024-01-02 →
    2025-01-01 is 365 days (2024-01-02 + 366 would be 2025-01-02).

    P3 (first transaction 2023-01-02): 2023-01-02 mv 1000 in 1000; 2024-01-02 mv 1100 (365 days later).
    """
    rows = analytics_rows
    await rows.portfolio("P2", open_date=date(2022, 12, 30))
    await rows.transaction("P2", "D1", type="DEPOSIT", trade_date=date(2022, 12, 30), amount="1000",
                           cash_effect={"USD": "1000"})
    await rows.transaction("P2", "D2", type="DEPOSIT", trade_date=date(2024, 1, 2), amount="100",
                           cash_effect={"USD": "100"})
    await rows.series("P2", date(2022, 12, 30), "1000", inflow="1000")
    await rows.series("P2", date(2023, 1, 2), "1000")
    await rows.series("P2", date(2024, 1, 2), "1200", inflow="100")
    await rows.series("P2", date(2025, 1, 1), "1320")

    await rows.portfolio("P3", open_date=date(2023, 1, 2))
    await rows.transaction("P3", "D1", type="DEPOSIT", trade_date=date(2023, 1, 2), amount="1000",
                           cash_effect={"USD": "1000"})
    await rows.series("P3", date(2023, 1, 2), "1000", inflow="1000")
    await rows.series("P3", date(2024, 1, 2), "1100")
    await rows.horizon(date(2025, 1, 1))
    return rows


async def _performance(client, portfolio_id, **params):
    response = await client.get(f"/portfolios/{portfolio_id}/performance", params=params)
    assert response.status_code == 200, response.text
    return response.json()


# --- TWR over explicit and named periods ---------------------------------------------------------

async def test_twr_of_an_explicit_period_links_the_daily_returns_inside_it(short_ledger, db_client):
    body = await _performance(db_client, "P1", **{"from": "2024-01-03", "to": "2024-01-05"})

    # (1 + 0.1) × (1 + 0.03125) × (1 + 1/33) − 1 = 1.134375 × 34/33 − 1 = 1.16875 − 1 = 0.16875;
    # 3 days: not annualized.
    assert (body["portfolio_id"], body["period"], body["from"], body["to"], body["days"]) == \
        ("P1", None, "2024-01-03", "2024-01-05", 3)
    assert body["twr"] == approx(0.16875)
    assert body["twr_annualized"] is None


async def test_mwr_of_a_few_days_is_given_even_when_its_annual_rate_is_huge(short_ledger, db_client):
    body = await _performance(db_client, "P1", **{"from": "2024-01-03", "to": "2024-01-05"})

    # Flows: −1000 (MV_{F−1}) at day 0, −500 (inflow) at day 1, +200 (outflow) + 1500 (MV_T) at day 2.
    # With x = (1 + irr)^(−1/365): −1000 − 500x + 1700x² = 0 → x = (500 + √(500² + 4·1700·1000)) / 3400
    # = (500 + √7 050 000) / 3400 ≈ 0.927995; irr = x^(−365) − 1 ≈ 7.0e11 and the period rate
    # (1 + irr)^(2/365) − 1 = x^(−2) − 1 ≈ 0.16121.
    x = (500 + 7_050_000 ** 0.5) / 3400
    assert body["mwr_annualized"] == pytest.approx(x ** -365 - 1, rel=1e-6)
    assert body["mwr_period"] == pytest.approx(x ** -2 - 1, rel=1e-9)


async def test_since_inception_runs_from_the_first_booked_transaction_to_the_market_horizon(short_ledger,
                                                                                          db_client):
    body = await _performance(db_client, "P1", period="SI")

    # The cancelled 2023-12-15 deposit does not start the period; horizon 2024-01-05 ends it.
    # TWR = (1 + 0) × 1.16875 − 1 = 0.16875 over 4 days.
    assert (body["period"], body["from"], body["to"], body["days"]) == ("SI", "2024-01-02", "2024-01-05", 4)
    assert body["twr"] == approx(0.16875)
    assert body["twr_annualized"] is None


async def test_an_explicit_from_before_the_first_transaction_is_clamped_to_it(short_ledger, db_client):
    body = await _performance(db_client, "P1", **{"from": "2023-12-01", "to": "2024-01-04"})

    # F = 2024-01-02, days = 3; TWR = 1 × 1.1 × 1.03125 − 1 = 0.134375.
    assert (body["from"], body["to"], body["days"]) == ("2024-01-02", "2024-01-04", 3)
    assert body["twr"] == approx(0.134375)


async def test_from_alone_runs_to_the_market_horizon(short_ledger, db_client):
    body = await _performance(db_client, "P1", **{"from": "2024-01-04"})

    # [2024-01-04, 2024-01-05]: TWR = 1.03125 × 34/33 − 1 = 35.0625/33 − 1 = 0.0625; 2 days.
    assert (body["from"], body["to"], body["days"]) == ("2024-01-04", "2024-01-05", 2)
    assert body["twr"] == approx(0.0625)


async def test_ytd_is_anchored_on_as_of_and_clamped_to_the_first_transaction(short_ledger, db_client):
    body = await _performance(db_client, "P1", period="YTD", as_of="2024-01-04")

    # YTD of 2024-01-04 is [2024-01-01, 2024-01-04], clamped to 2024-01-02: days 3, TWR 0.134375.
    assert (body["period"], body["from"], body["to"], body["days"]) == ("YTD", "2024-01-02", "2024-01-04", 3)
    assert body["twr"] == approx(0.134375)


async def test_a_calendar_year_period_is_cut_at_the_market_horizon(short_ledger, db_client):
    body = await _performance(db_client, "P1", period="Y2024")

    # Y2024 = [2024-01-01, 2024-12-31] cut at the horizon 2024-01-05 and clamped to 2024-01-02.
    assert (body["from"], body["to"], body["days"]) == ("2024-01-02", "2024-01-05", 4)
    assert body["twr"] == approx(0.16875)


async def test_period_names_are_case_insensitive(short_ledger, db_client):
    body = await _performance(db_client, "P1", period="ytd", as_of="2024-01-04")

    assert (body["from"], body["to"], body["days"]) == ("2024-01-02", "2024-01-04", 3)
    assert body["twr"] == approx(0.134375)


async def test_one_month_is_the_thirty_days_ending_on_as_of(year_ledger, db_client):
    body = await _performance(db_client, "P2", period="1M")

    # 1M of the horizon 2025-01-01 = [2024-12-03, 2025-01-01], 30 days; the only valuation date in
    # it is 2025-01-01: TWR = r = 0.1, not annualized.
    # MWR: −MV_{F−1} = −1200 (value of 2024-01-02, the last valuation date before F) at F, then
    # +MV_T = +1320 at T, 29 days later: (1 + irr)^(29/365) = 1.1, so irr = 1.1^(365/29) − 1 and the
    # period rate (1 + irr)^(29/365) − 1 = 0.1.
    assert (body["period"], body["from"], body["to"], body["days"]) == ("1M", "2024-12-03", "2025-01-01", 30)
    assert body["twr"] == approx(0.1)
    assert body["twr_annualized"] is None
    assert body["mwr_annualized"] == approx(1.1 ** (365 / 29) - 1)
    assert body["mwr_period"] == approx(0.1)


# --- Annualization and MWR worked by hand ----------------------------------------------------------

async def test_over_two_years_twr_is_annualized_and_mwr_is_the_xirr_of_the_flows(year_ledger, db_client):
    body = await _performance(db_client, "P2", **{"from": "2023-01-02", "to": "2025-01-01"})

    # days = 365 + 365 + 1 = 731.
    # TWR = (1 + 0) × (12/11) × 1.1 − 1 = 0.2; annualized (1.2)^(365.25/731) − 1.
    # MWR flows: −MV_{F−1} = −1000 (value of 2022-12-30) at 2023-01-02, −100 (inflow) at +365 days,
    # +1320 (MV_T) at +730 days. At 10 %: 1000 × 1.1² + 100 × 1.1 = 1210 + 110 = 1320, so irr = 0.1
    # exactly, and the period rate (1.1)^(730/365) − 1 = 0.21.
    assert (body["from"], body["to"], body["days"]) == ("2023-01-02", "2025-01-01", 731)
    assert body["twr"] == approx(0.2)
    assert body["twr_annualized"] == approx(1.2 ** (365.25 / 731) - 1)
    assert body["mwr_annualized"] == approx(0.1)
    assert body["mwr_period"] == approx(0.21)


async def test_since_inception_mwr_starts_from_the_first_inflows(year_ledger, db_client):
    body = await _performance(db_client, "P2", period="SI")

    # [2022-12-30, 2025-01-01]: days = 2 (12-30, 12-31) + 731 + 1 (2023-01-01) = 734; TWR 0.2.
    # No valuation date before F: the flows are −1000 at 2022-12-30, −100 at +368 days (2024-01-02)
    # and +1320 at +733 days (2025-01-01); the irr is the rate that discounts them to 0.
    assert (body["from"], body["to"], body["days"]) == ("2022-12-30", "2025-01-01", 734)
    assert body["twr"] == approx(0.2)
    assert body["twr_annualized"] == approx(1.2 ** (365.25 / 734) - 1)
    irr = body["mwr_annualized"]
    assert -1000 - 100 * (1 + irr) ** (-368 / 365) + 1320 * (1 + irr) ** (-733 / 365) == pytest.approx(0, abs=1e-6)
    assert body["mwr_period"] == approx((1 + irr) ** (733 / 365) - 1)


async def test_a_period_of_exactly_366_days_is_not_annualized(year_ledger, db_client):
    body = await _performance(db_client, "P3", period="SI", as_of="2024-01-02")

    # [2023-01-02, 2024-01-02] = 366 days: twr_annualized null. TWR = 1100/1000 − 1 = 0.1.
    # MWR: −1000 at day 0, +1100 at day 365: irr = 0.1 exactly, period rate 1.1^(365/365) − 1 = 0.1.
    assert (body["from"], body["to"], body["days"]) == ("2023-01-02", "2024-01-02", 366)
    assert body["twr"] == approx(0.1)
    assert body["twr_annualized"] is None
    assert body["mwr_annualized"] == approx(0.1)
    assert body["mwr_period"] == approx(0.1)


async def test_a_period_of_367_days_is_annualized(year_ledger, db_client):
    body = await _performance(db_client, "P3", **{"from": "2023-01-02", "to": "2024-01-03"})

    # 367 days: TWR 0.1 (no valuation date on 2024-01-03), annualized 1.1^(365.25/367) − 1.
    # MWR: MV_T (the value on the last valuation date on or before T, 1100) is put at T, 366 days after
    # F: (1 + irr)^(366/365) = 1.1, irr = 1.1^(365/366) − 1, and the period rate is 0.1.
    assert body["days"] == 367
    assert body["twr"] == approx(0.1)
    assert body["twr_annualized"] == approx(1.1 ** (365.25 / 367) - 1)
    assert body["mwr_annualized"] == approx(1.1 ** (365 / 366) - 1)
    assert body["mwr_period"] == approx(0.1)


async def test_a_calendar_year_with_one_valuation_date_values_the_opening_and_closing_positions(year_ledger,
                                                                                              db_client):
    body = await _performance(db_client, "P2", period="Y2023")

    # Y2023 = [2023-01-01, 2023-12-31], 365 days; its only valuation date is 2023-01-02 (r = 0).
    # MWR: −1000 (value of 2022-12-30) at 2023-01-01, +1000 (value of 2023-01-02) at 2023-12-31: irr 0.
    assert (body["from"], body["to"], body["days"]) == ("2023-01-01", "2023-12-31", 365)
    assert body["twr"] == approx(0.0)
    assert body["mwr_annualized"] == approx(0.0)
    assert body["mwr_period"] == approx(0.0)


# --- Missing values and empty periods ----------------------------------------------------------------

async def test_a_period_ending_on_an_unknown_value_has_null_figures(short_ledger, db_client):
    body = await _performance(db_client, "PN", **{"from": "2024-01-02", "to": "2024-01-03"})

    # MV(2024-01-03) is unknown: r(01-03) and MV_T are unknown, so TWR and MWR are null.
    assert (body["from"], body["to"], body["days"]) == ("2024-01-02", "2024-01-03", 2)
    assert {k: body[k] for k in FIGURES} == dict.fromkeys(FIGURES)


async def test_a_period_crossing_an_unknown_value_has_a_null_twr(short_ledger, db_client):
    body = await _performance(db_client, "PN", period="SI")

    assert (body["twr"], body["twr_annualized"]) == (None, None)


async def test_a_period_after_the_unknown_value_is_computed(short_ledger, db_client):
    body = await _performance(db_client, "PN", **{"from": "2024-01-05", "to": "2024-01-05"})

    # r(2024-01-05) = 1210 / 1100 − 1 = 0.1 needs only known values.
    assert body["twr"] == approx(0.1)


async def test_a_period_before_the_first_transaction_is_empty_and_its_figures_null(short_ledger, db_client):
    body = await _performance(db_client, "P1", period="Y2023")

    # Y2023 ends before the first transaction (2024-01-02): nothing to measure.
    assert (body["from"], body["to"], body["days"]) == ("2023-01-01", "2023-12-31", None)
    assert {k: body[k] for k in FIGURES} == dict.fromkeys(FIGURES)


async def test_an_explicit_period_before_the_first_transaction_has_null_figures(short_ledger, db_client):
    body = await _performance(db_client, "P1", **{"from": "2023-11-01", "to": "2023-11-30"})

    assert {k: body[k] for k in FIGURES} == dict.fromkeys(FIGURES)


async def test_a_period_after_the_last_valuation_date_has_null_figures(short_ledger, db_client):
    body = await _performance(db_client, "P1", **{"from": "2024-02-01", "to": "2024-02-29"})

    assert (body["from"], body["to"]) == ("2024-02-01", "2024-02-29")
    assert {k: body[k] for k in FIGURES} == dict.fromkeys(FIGURES)


async def test_a_portfolio_without_transactions_has_null_figures(short_ledger, db_client):
    await short_ledger.portfolio("EMPTY")

    body = await _performance(db_client, "EMPTY", period="SI")

    assert {k: body[k] for k in FIGURES} == dict.fromkeys(FIGURES)


# --- Bad input ---------------------------------------------------------------------------------------

def _field(response):
    return response.status_code, response.json()["detail"][0]["field"]


async def test_an_unknown_period_name_is_a_422_naming_period(short_ledger, db_client):
    for name in ("bogus", "0Y", "2M", "Y24"):
        response = await db_client.get("/portfolios/P1/performance", params={"period": name})
        assert _field(response) == (422, "period"), name


async def test_a_period_together_with_from_or_to_is_a_422_naming_period(short_ledger, db_client):
    with_from = await db_client.get("/portfolios/P1/performance", params={"period": "SI", "from": "2024-01-02"})
    with_to = await db_client.get("/portfolios/P1/performance", params={"period": "YTD", "to": "2024-01-05"})

    assert _field(with_from) == (422, "period")
    assert _field(with_to) == (422, "period")


async def test_from_after_to_is_a_422_naming_from(short_ledger, db_client):
    response = await db_client.get("/portfolios/P1/performance", params={"from": "2024-01-05", "to": "2024-01-04"})

    assert _field(response) == (422, "from")


async def test_malformed_dates_are_a_422_naming_the_parameter(short_ledger, db_client):
    bad_as_of = await db_client.get("/portfolios/P1/performance", params={"period": "SI", "as_of": "2024-1-5"})
    bad_from = await db_client.get("/portfolios/P1/performance", params={"from": "20240102"})
    bad_to = await db_client.get("/portfolios/P1/performance", params={"to": "2024-02-30"})

    assert _field(bad_as_of) == (422, "as_of")
    assert _field(bad_from) == (422, "from")
    assert _field(bad_to) == (422, "to")


async def test_a_period_anchored_before_year_1900_is_a_422_naming_as_of(short_ledger, db_client):
    # Found by the OpenAPI fuzz: 1Y back from 0001-01-15 overflowed the date type and answered 500.
    # Query dates now keep to the events' window, which leaves no period room to overflow.
    for path in ("/portfolios/P1/performance", "/portfolios/P1/risk"):
        response = await db_client.get(path, params={"period": "1Y", "as_of": "0001-01-15"})
        assert _field(response) == (422, "as_of"), path


async def test_the_performance_of_an_unknown_portfolio_is_404(short_ledger, db_client):
    assert (await db_client.get("/portfolios/NOPE/performance")).status_code == 404
