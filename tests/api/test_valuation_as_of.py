"""GET /portfolios/{id}/valuation?as_of= and /allocation?as_of=: positions, cash, prices and FX from PostgreSQL."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

AS_OF = "2024-01-10"


@pytest.fixture
async def book(rows):
    """P1 (base USD) as of 2024-01-10, by hand:

    AAPL (USD, EQUITY, Technology, US): bought 10 @ 150 on 01-02 (cost 1500), sold 4 @ 180 on 01-08 by
      FIFO → 6 left at cost 900, realized 4 × (180 − 150) = 120. Prices: 160 on 01-09 (latest on or
      before 01-10), 999 on 01-11 (later: ignored). mv 6 × 160 = 960, unrealized 960 − 900 = 60.
    SAP (EUR, EQUITY, Technology, DE): bought 5 @ 100 EUR on 01-03 at fx 1.1 → cost 500 EUR / 550 USD.
      Price 120 EUR on 01-05; EUR/USD 1.2 on 01-04 (1.5 on 01-11: later, ignored).
      mv 600 EUR → 600 × 1.2 = 720 USD, unrealized_base 720 − 550 = 170.
    OLD: a position no longer listed (history on 01-02): left out.
    LATE: opened on 01-12, after as_of: left out.
    Cash (cash effects of BOOKED transactions traded by 01-10):
      USD: +5000 (deposit 01-02) − 1500 (AAPL) + 720 (SELL 4 × 180) = 4220; a 01-12 deposit is later.
      EUR: −500 (SAP) + 18 (dividend 20 − fees 2 on 01-09) = −482 → −482 × 1.2 = −578.4 USD.
      A cancelled EUR dividend counts for nothing.
    Income: (20 − 2) × fx_applied 1.25 = 22.5 USD; the cancelled one and a later one are left out.

    mv_base 960 + 720 = 1680; cash_base 4220 − 578.4 = 3641.6; total 5321.6;
    cost_base 900 + 550 = 1450; unrealized 60 + 170 = 230; realized 120 + 0 = 120.
    """
    await rows.portfolio("P1")
    await rows.instrument("AAPL", currency="USD", asset_class="EQUITY", sector="Technology", country="US")
    await rows.instrument("SAP", currency="EUR", asset_class="EQUITY", sector="Technology", country="DE")

    await rows.position("P1", "AAPL", quantity="6", cost_local="900", realized_local="120")
    await rows.history("P1", "AAPL", date(2024, 1, 2), quantity="10", cost_local="1500")
    await rows.history("P1", "AAPL", date(2024, 1, 8), quantity="6", cost_local="900", realized_local="120")
    await rows.position("P1", "SAP", currency="EUR", quantity="5", cost_local="500", cost_base="550")
    await rows.history("P1", "SAP", date(2024, 1, 3), quantity="5", cost_local="500", cost_base="550")
    await rows.position("P1", "OLD", quantity="1", cost_local="10", listed=False)
    await rows.history("P1", "OLD", date(2024, 1, 2), quantity="1", cost_local="10")
    await rows.position("P1", "LATE", quantity="2", cost_local="20")
    await rows.history("P1", "LATE", date(2024, 1, 12), quantity="2", cost_local="20")

    await rows.transaction("P1", "T0", type="DEPOSIT", trade_date=date(2024, 1, 2), amount="5000",
                           cash_effect={"USD": "5000"})
    await rows.transaction("P1", "T1", security_id="AAPL", trade_date=date(2024, 1, 2), quantity="10",
                           price="150", cash_effect={"USD": "-1500"})
    await rows.transaction("P1", "T2", security_id="SAP", trade_date=date(2024, 1, 3), quantity="5", price="100",
                           currency="EUR", fx_applied="1.1", cash_effect={"EUR": "-500"})
    await rows.transaction("P1", "T3", type="SELL", security_id="AAPL", trade_date=date(2024, 1, 8), quantity="4",
                           price="180", realized_local="120", cash_effect={"USD": "720"})
    await rows.transaction("P1", "T4", type="DIVIDEND", security_id="SAP", trade_date=date(2024, 1, 9),
                           amount="20", fees="2", currency="EUR", fx_applied="1.25", cash_effect={"EUR": "18"})
    await rows.transaction("P1", "T5", type="DIVIDEND", security_id="SAP", trade_date=date(2024, 1, 9),
                           amount="99", currency="EUR", fx_applied="1.25", status="CANCELLED", version=2,
                           cash_effect={"EUR": "99"})
    await rows.transaction("P1", "T6", type="DEPOSIT", trade_date=date(2024, 1, 12), amount="1000",
                           cash_effect={"USD": "1000"})
    await rows.transaction("P1", "T7", type="DIVIDEND", security_id="AAPL", trade_date=date(2024, 1, 12),
                           amount="7", cash_effect={"USD": "7"})

    await rows.price("AAPL", date(2024, 1, 2), "150")
    await rows.price("AAPL", date(2024, 1, 9), "160")
    await rows.price("AAPL", date(2024, 1, 11), "999")
    await rows.price("SAP", date(2024, 1, 5), "120", currency="EUR")
    await rows.fx("EUR", "USD", date(2024, 1, 2), "1.1")
    await rows.fx("EUR", "USD", date(2024, 1, 4), "1.2")
    await rows.fx("EUR", "USD", date(2024, 1, 11), "1.5")

    # P2: AAPL (2 @ 150, 01-02) and NOPX (3 @ 100, 01-04), which is never priced; cash USD
    # 1000 − 300 − 300 = 400. As of 01-10: AAPL 2 × 160 = 320; NOPX unknown.
    await rows.portfolio("P2")
    await rows.instrument("NOPX", currency="USD", asset_class="EQUITY", sector="Energy", country="US")
    await rows.position("P2", "AAPL", quantity="2", cost_local="300")
    await rows.history("P2", "AAPL", date(2024, 1, 2), quantity="2", cost_local="300")
    await rows.position("P2", "NOPX", quantity="3", cost_local="300")
    await rows.history("P2", "NOPX", date(2024, 1, 4), quantity="3", cost_local="300")
    await rows.transaction("P2", "T0", type="DEPOSIT", trade_date=date(2024, 1, 2), amount="1000",
                           cash_effect={"USD": "1000"})
    await rows.transaction("P2", "T1", security_id="AAPL", trade_date=date(2024, 1, 2), quantity="2",
                           price="150", cash_effect={"USD": "-300"})
    await rows.transaction("P2", "T2", security_id="NOPX", trade_date=date(2024, 1, 4), quantity="3",
                           price="100", cash_effect={"USD": "-300"})
    return rows


MONEY = ("mv_base", "cash_base", "known_mv_base", "known_cash_base", "cost_base", "unrealized_base",
         "realized_base", "income_base", "total_base")


def _money(body):
    return {k: None if body[k] is None else Decimal(body[k]) for k in MONEY}


def _buckets(body):
    return [(b["name"], Decimal(b["mv_base"]), b["weight"]) for b in body["buckets"]]


def _expected_buckets(pairs):
    total = sum(Decimal(mv) for _, mv in pairs)
    return [(name, Decimal(mv), pytest.approx(float(Decimal(mv) / total), rel=1e-12)) for name, mv in pairs]


# --- valuation --------------------------------------------------------------------------------------

async def test_valuation_as_of_a_date_uses_the_latest_prices_and_rates_on_or_before_it(book, db_client):
    response = await db_client.get("/portfolios/P1/valuation", params={"as_of": AS_OF})

    assert response.status_code == 200
    body = response.json()
    assert (body["portfolio_id"], body["as_of"], body["source"], body["base_currency"], body["complete"]) == \
        ("P1", AS_OF, "db", "USD", True)
    assert _money(body) == {
        "mv_base": Decimal(1680), "cash_base": Decimal("3641.6"),
        "known_mv_base": Decimal(1680), "known_cash_base": Decimal("3641.6"),
        "cost_base": Decimal(1450), "unrealized_base": Decimal(230), "realized_base": Decimal(120),
        "income_base": Decimal("22.5"), "total_base": Decimal("5321.6")}


async def test_valuation_as_of_an_earlier_date_uses_that_dates_positions_and_quotes(book, db_client):
    body = (await db_client.get("/portfolios/P1/valuation", params={"as_of": "2024-01-04"})).json()

    # 01-04: AAPL 10 @ cost 1500, price 150 (01-02) → mv 1500; SAP 5, cost 550 USD, no price yet → missing.
    # Cash: USD 5000 − 1500 = 3500; EUR −500 × 1.2 (01-04) = −600 → 2900. No income yet, nothing realized.
    assert body["complete"] is False
    assert _money(body) == {
        "mv_base": None, "cash_base": Decimal(2900),
        "known_mv_base": Decimal(1500), "known_cash_base": Decimal(2900),
        "cost_base": Decimal(2050), "unrealized_base": None, "realized_base": Decimal(0),
        "income_base": Decimal(0), "total_base": None}


async def test_a_security_without_any_price_makes_the_totals_null_and_the_known_totals_partial(book, db_client):
    body = (await db_client.get("/portfolios/P2/valuation", params={"as_of": AS_OF})).json()

    # AAPL 320 known, NOPX unknown; cash 400 known. Cost 300 + 300 = 600.
    assert body["complete"] is False
    assert _money(body) == {
        "mv_base": None, "cash_base": Decimal(400),
        "known_mv_base": Decimal(320), "known_cash_base": Decimal(400),
        "cost_base": Decimal(600), "unrealized_base": None, "realized_base": Decimal(0),
        "income_base": Decimal(0), "total_base": None}


async def test_valuation_as_of_before_the_first_transaction_is_empty_and_complete(book, db_client):
    body = (await db_client.get("/portfolios/P1/valuation", params={"as_of": "2023-12-31"})).json()

    assert body["complete"] is True
    assert _money(body) == dict.fromkeys(MONEY, Decimal(0))


async def test_valuation_as_of_for_an_unknown_portfolio_is_404_and_a_bad_date_422(book, db_client):
    unknown = await db_client.get("/portfolios/NOPE/valuation", params={"as_of": AS_OF})
    bad = await db_client.get("/portfolios/P1/valuation", params={"as_of": "2024-01-32"})

    assert unknown.status_code == 404
    assert (bad.status_code, bad.json()["detail"][0]["field"]) == (422, "as_of")


# --- allocation -------------------------------------------------------------------------------------

async def test_allocation_by_asset_class_puts_cash_in_its_own_bucket(book, db_client):
    response = await db_client.get("/portfolios/P1/allocation", params={"as_of": AS_OF, "by": "asset_class"})

    assert response.status_code == 200
    body = response.json()
    assert (body["portfolio_id"], body["by"], body["as_of"], body["source"], body["complete"]) == \
        ("P1", "asset_class", AS_OF, "db", True)
    # CASH 4220 − 578.4 = 3641.6; EQUITY 960 + 720 = 1680; total 5321.6; largest first.
    assert _buckets(body) == _expected_buckets([("CASH", "3641.6"), ("EQUITY", "1680")])


async def test_allocation_is_by_asset_class_by_default(book, db_client):
    body = (await db_client.get("/portfolios/P1/allocation", params={"as_of": AS_OF})).json()

    assert body["by"] == "asset_class"
    assert _buckets(body) == _expected_buckets([("CASH", "3641.6"), ("EQUITY", "1680")])


async def test_allocation_by_currency_groups_securities_and_cash_of_one_currency(book, db_client):
    body = (await db_client.get("/portfolios/P1/allocation", params={"as_of": AS_OF, "by": "currency"})).json()

    # USD: AAPL 960 + cash 4220 = 5180; EUR: SAP 720 + cash −578.4 = 141.6.
    assert _buckets(body) == _expected_buckets([("USD", "5180"), ("EUR", "141.6")])


async def test_allocation_by_security_names_each_cash_currency_and_an_overdraft_weighs_negative(book, db_client):
    body = (await db_client.get("/portfolios/P1/allocation", params={"as_of": AS_OF, "by": "security"})).json()

    assert _buckets(body) == _expected_buckets(
        [("CASH:USD", "4220"), ("AAPL", "960"), ("SAP", "720"), ("CASH:EUR", "-578.4")])
    assert sum(b["weight"] for b in body["buckets"]) == pytest.approx(1.0)


async def test_allocation_by_sector_and_country_puts_cash_in_unclassified(book, db_client):
    by_sector = (await db_client.get("/portfolios/P1/allocation", params={"as_of": AS_OF, "by": "sector"})).json()
    by_country = (await db_client.get("/portfolios/P1/allocation", params={"as_of": AS_OF, "by": "country"})).json()

    assert _buckets(by_sector) == _expected_buckets([("Unclassified", "3641.6"), ("Technology", "1680")])
    assert _buckets(by_country) == _expected_buckets([("Unclassified", "3641.6"), ("US", "960"), ("DE", "720")])


async def test_allocation_with_an_unpriced_security_covers_the_known_values_and_says_incomplete(book, db_client):
    body = (await db_client.get("/portfolios/P2/allocation", params={"as_of": AS_OF})).json()

    # Known: CASH 400, EQUITY (AAPL) 320 → weights 400/720 = 5/9 and 320/720 = 4/9.
    assert body["complete"] is False
    assert _buckets(body) == [("CASH", Decimal(400), pytest.approx(5 / 9)),
                              ("EQUITY", Decimal(320), pytest.approx(4 / 9))]


async def test_allocation_by_an_unknown_attribute_is_a_422_naming_by(book, db_client):
    response = await db_client.get("/portfolios/P1/allocation", params={"as_of": AS_OF, "by": "bogus"})

    assert (response.status_code, response.json()["detail"][0]["field"]) == (422, "by")


async def test_allocation_as_of_for_an_unknown_portfolio_is_404(book, db_client):
    assert (await db_client.get("/portfolios/NOPE/allocation", params={"as_of": AS_OF})).status_code == 404
