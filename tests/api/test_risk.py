"""GET /portfolios/{id}/risk: risk figures of the daily returns in PostgreSQL, empyrical's conventions.

Expected figures are computed here with numpy straight from the hand-written
returns below (SPEC §2 "Risk" formulas), never with core.analytics.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest

DAYS = [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4), date(2024, 1, 5), date(2024, 1, 8), date(2024, 1, 9)]
# MV and flows of RK and RN (same series), and r_t = (MV_t + Out_t) / (MV_{t−1} + In_t) − 1 by hand:
#   2024-01-02  mv 1000  in 1000   r = 1000 / 1000 − 1    = 0
#   2024-01-03  mv 1100            r = 1100 / 1000 − 1    = 0.1
#   2024-01-04  mv 990             r = 990 / 1100 − 1     = −0.1
#   2024-01-05  mv 1089            r = 1089 / 990 − 1     = 0.1
#   2024-01-08  mv 871.2           r = 871.2 / 1089 − 1   = −0.2
#   2024-01-09  mv 1045.44         r = 1045.44 / 871.2 − 1 = 0.2
MVS = ["1000", "1100", "990", "1089", "871.2", "1045.44"]
R = np.array([0.0, 0.1, -0.1, 0.1, -0.2, 0.2])
# Benchmark IDX, priced on every date but 2024-01-08 (which takes 2024-01-05's price):
#   100, 105, 94.5, 99.225, (99.225), 109.1475 → b_t = P_t / P_{t−1} − 1 =
#   [none: first date, 0.05, −0.1, 0.05, 0, 0.1]
B = np.array([np.nan, 0.05, -0.1, 0.05, 0.0, 0.1])
# Benchmark IDX2: 50 on 2024-01-02, 55 on 2024-01-09 → [none, 0, 0, 0, 0, 0.1]
B2 = np.array([np.nan, 0.0, 0.0, 0.0, 0.0, 0.1])
SQRT_252 = np.sqrt(252)


def daily_rf(annual):
    return (1 + annual) ** (1 / 252) - 1


def expected_single(r, rf_annual=0.0):
    """volatility, sharpe, sortino by the SPEC's formulas."""
    excess = r - daily_rf(rf_annual)
    downside = np.sqrt(np.mean(np.minimum(excess, 0) ** 2)) * SQRT_252
    return {
        "volatility": np.std(r, ddof=1) * SQRT_252,
        "sharpe": np.mean(excess) / np.std(excess, ddof=1) * SQRT_252,
        "sortino": np.mean(excess) * 252 / downside,
    }


def expected_relative(r, b, rf_annual=0.0):
    """beta, alpha (empyrical: population moments of excess returns), tracking error, information ratio,
    over the dates where both r and b are known."""
    both = ~np.isnan(b)
    r, b = r[both], b[both]
    rf = daily_rf(rf_annual)
    er, eb = r - rf, b - rf
    beta = np.mean((eb - eb.mean()) * (er - er.mean())) / np.mean((eb - eb.mean()) ** 2)
    alpha = (1 + np.mean(er - beta * eb)) ** 252 - 1
    tracking_error = np.std(r - b, ddof=1) * SQRT_252
    return {"beta": beta, "alpha": alpha, "tracking_error": tracking_error,
            "information_ratio": np.mean(r - b) * 252 / tracking_error}


def approx(value):
    return pytest.approx(float(value), rel=1e-9, abs=1e-12)


@pytest.fixture
async def ledger(analytics_rows):
    rows = analytics_rows
    await rows.portfolio("RK", benchmark_id="IDX")
    await rows.portfolio("RN")
    for portfolio_id in ("RK", "RN"):
        await rows.transaction(portfolio_id, "D1", type="DEPOSIT", trade_date=DAYS[0], amount="1000",
                               cash_effect={"USD": "1000"})
        for day, mv in zip(DAYS, MVS):
            await rows.series(portfolio_id, day, mv, inflow="1000" if day == DAYS[0] else "0")
    for day, price in zip(DAYS, ["100", "105", "94.5", "99.225", None, "109.1475"]):
        if price is not None:
            await rows.price("IDX", day, price)
    await rows.price("IDX2", DAYS[0], "50")
    await rows.price("IDX2", DAYS[-1], "55")
    # PN: an unknown value on 2024-01-04 (r of 01-04 and 01-05 unknown).
    await rows.portfolio("PN", benchmark_id="IDX")
    await rows.transaction("PN", "D1", type="DEPOSIT", trade_date=DAYS[0], amount="1000",
                           cash_effect={"USD": "1000"})
    for day, mv in zip(DAYS, ["1000", "1100", None, "1089", "871.2", "1045.44"]):
        await rows.series("PN", day, mv, inflow="1000" if day == DAYS[0] else "0")
    await rows.horizon(DAYS[-1])
    return rows


async def _risk(client, portfolio_id, **params):
    response = await client.get(f"/portfolios/{portfolio_id}/risk", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _assert_figures(body, expected):
    for name, value in expected.items():
        assert body[name] == (None if value is None else approx(value)), name


async def test_risk_since_inception_against_the_portfolios_own_benchmark(ledger, db_client):
    body = await _risk(db_client, "RK")

    assert (body["portfolio_id"], body["from"], body["to"]) == ("RK", "2024-01-02", "2024-01-09")
    assert (body["benchmark"], body["risk_free"], body["confidence"]) == ("IDX", 0.0, 0.95)
    _assert_figures(body, expected_single(R))
    # Wealth 1, 1, 1.1, 0.99, 1.089, 0.8712, 1.04544: the deepest fall is from 1.1 to 0.8712,
    # (0.8712 − 1.1) / 1.1 = −0.208.
    assert body["max_drawdown"] == approx(-0.208)
    # Sorted r: −0.2, −0.1, 0, 0.1, 0.1, 0.2. The 5th percentile sits at (6 − 1) × 0.05 = 0.25 between the
    # first two: −0.2 + 0.25 × 0.1 = −0.175, VaR 0.175. CVaR: the worst int(5 × 0.05) + 1 = 1 day, 0.2.
    assert body["var"] == approx(0.175)
    assert body["cvar"] == approx(0.2)
    # Against IDX on the five dates where b_t is known (the first date has none).
    _assert_figures(body, expected_relative(R, B))


async def test_without_a_benchmark_the_benchmark_figures_are_null(ledger, db_client):
    body = await _risk(db_client, "RN")

    assert body["benchmark"] is None
    _assert_figures(body, dict.fromkeys(("beta", "alpha", "tracking_error", "information_ratio")))
    _assert_figures(body, expected_single(R))
    assert body["max_drawdown"] == approx(-0.208)


async def test_an_explicit_benchmark_is_used_and_echoed(ledger, db_client):
    body = await _risk(db_client, "RN", benchmark="IDX2")

    assert body["benchmark"] == "IDX2"
    _assert_figures(body, expected_relative(R, B2))


async def test_an_explicit_benchmark_overrides_the_portfolios_own(ledger, db_client):
    body = await _risk(db_client, "RK", benchmark="IDX2")

    assert body["benchmark"] == "IDX2"
    _assert_figures(body, expected_relative(R, B2))


async def test_risk_free_and_confidence_change_the_figures_and_are_echoed(ledger, db_client):
    body = await _risk(db_client, "RK", risk_free="0.05", confidence="0.9")

    assert (body["risk_free"], body["confidence"]) == (0.05, 0.9)
    _assert_figures(body, expected_single(R, 0.05))
    _assert_figures(body, expected_relative(R, B, 0.05))
    # Volatility and drawdown do not depend on the risk-free rate.
    assert body["volatility"] == approx(np.std(R, ddof=1) * SQRT_252)
    assert body["max_drawdown"] == approx(-0.208)
    # 10th percentile: (6 − 1) × 0.1 = 0.5 between −0.2 and −0.1 → −0.15, VaR 0.15; CVaR: the worst
    # int(5 × 0.1) + 1 = 1 day, 0.2.
    assert body["var"] == approx(0.15)
    assert body["cvar"] == approx(0.2)


async def test_a_sub_period_uses_its_own_returns_and_the_benchmark_price_before_it(ledger, db_client):
    body = await _risk(db_client, "RK", **{"from": "2024-01-04", "to": "2024-01-08"})

    # r = −0.1, 0.1, −0.2; b = −0.1 (94.5 / 105, the price of the date before F), 0.05, 0.
    r, b = R[2:5], B[2:5]
    assert (body["from"], body["to"]) == ("2024-01-04", "2024-01-08")
    _assert_figures(body, expected_single(r))
    _assert_figures(body, expected_relative(r, b))
    # Wealth 1, 0.9, 0.99, 0.792: from the start (1) down to 0.792 → −0.208.
    assert body["max_drawdown"] == approx(-0.208)


async def test_a_period_with_fewer_than_two_returns_has_null_figures(ledger, db_client):
    body = await _risk(db_client, "RK", **{"from": "2024-01-09", "to": "2024-01-09"})

    _assert_figures(body, dict.fromkeys(("volatility", "sharpe", "sortino", "max_drawdown", "beta", "alpha",
                                         "tracking_error", "information_ratio", "var", "cvar")))


async def test_an_unknown_return_in_the_period_makes_every_figure_null(ledger, db_client):
    body = await _risk(db_client, "PN")

    _assert_figures(body, dict.fromkeys(("volatility", "sharpe", "sortino", "max_drawdown", "beta", "alpha",
                                         "tracking_error", "information_ratio", "var", "cvar")))


async def test_a_period_after_the_unknown_return_is_computed(ledger, db_client):
    body = await _risk(db_client, "PN", **{"from": "2024-01-08", "to": "2024-01-09"})

    # r = −0.2, 0.2: std(ddof=1) = sqrt(((−0.2)² + 0.2²) / 1) = sqrt(0.08).
    assert body["volatility"] == approx(np.sqrt(0.08) * SQRT_252)


async def test_a_named_period_is_anchored_on_as_of(ledger, db_client):
    body = await _risk(db_client, "RK", period="YTD", as_of="2024-01-05")

    # [2024-01-01 → clamped 2024-01-02, 2024-01-05]: r = 0, 0.1, −0.1, 0.1.
    assert (body["period"], body["from"], body["to"]) == ("YTD", "2024-01-02", "2024-01-05")
    _assert_figures(body, expected_single(R[:4]))


def _field(response):
    return response.status_code, response.json()["detail"][0]["field"]


async def test_an_explicit_benchmark_without_prices_is_a_422_naming_benchmark(ledger, db_client):
    response = await db_client.get("/portfolios/RK/risk", params={"benchmark": "NOPX"})

    assert _field(response) == (422, "benchmark")


@pytest.mark.parametrize("risk_free", ["-1", "-1.5", "1.0001", "2", "abc"])
async def test_a_risk_free_rate_outside_minus_one_to_one_is_a_422_naming_risk_free(ledger, db_client, risk_free):
    response = await db_client.get("/portfolios/RK/risk", params={"risk_free": risk_free})

    assert _field(response) == (422, "risk_free")


async def test_a_risk_free_rate_of_exactly_one_is_accepted(ledger, db_client):
    body = await _risk(db_client, "RK", risk_free="1")

    assert body["risk_free"] == 1.0
    _assert_figures(body, expected_single(R, 1.0))


@pytest.mark.parametrize("confidence", ["0", "1", "-0.5", "1.5"])
async def test_a_confidence_of_zero_or_one_or_beyond_is_a_422_naming_confidence(ledger, db_client, confidence):
    response = await db_client.get("/portfolios/RK/risk", params={"confidence": confidence})

    assert _field(response) == (422, "confidence")


@pytest.mark.parametrize(("params", "field"), [
    ({"period": "bogus"}, "period"),
    ({"period": "SI", "from": "2024-01-02"}, "period"),
    ({"from": "2024-01-05", "to": "2024-01-04"}, "from"),
    ({"as_of": "2024-13-01", "period": "SI"}, "as_of"),
])
async def test_bad_periods_are_a_422_naming_the_parameter(ledger, db_client, params, field):
    response = await db_client.get("/portfolios/RK/risk", params=params)

    assert _field(response) == (422, field)


async def test_the_risk_of_an_unknown_portfolio_is_404(ledger, db_client):
    assert (await db_client.get("/portfolios/NOPE/risk")).status_code == 404
