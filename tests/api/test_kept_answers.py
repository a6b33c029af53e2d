"""Live reads answer an unchanged portfolio with the bytes encoded from its kept state (api.kept_answers),
and answer afresh as soon as the worker's state, the price it holds or the booked income changes."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import asyncpg
import pytest

import api.routes.positions
from core.market import MarketData
from tests.api.conftest import database_name
from tests.api.live_state import cash, live_answer, lot, position


def _aapl(price: str) -> dict:
    """P1: 10 AAPL bought for 1,502.50; cash -1,502.50; AAPL priced at `price`."""
    market = MarketData()
    market.prices.put("AAPL", "2024-01-10", Decimal(price))
    return live_answer("P1", positions=[position("P1", "AAPL", lot("T1", "2024-01-02", 3, "10", "1502.50"))],
                       cash_states=[cash("P1", "USD", "-1502.50")], market=market)


@pytest.fixture
def built(monkeypatch) -> list[str]:
    """The portfolio ids each positions answer was built for (the route's model building, counted)."""
    calls: list[str] = []
    real = api.routes.positions.positions_out

    def counting(portfolio_id, *args):
        calls.append(portfolio_id)
        return real(portfolio_id, *args)

    monkeypatch.setattr(api.routes.positions, "positions_out", counting)
    return calls


async def test_an_unchanged_portfolio_is_answered_with_the_bytes_built_the_first_time(
        make_client, start_worker_stub, built):
    client = await make_client(worker_url=start_worker_stub({"P1": _aapl("160")}))

    first = await client.get("/portfolios/P1/positions")
    again = await client.get("/portfolios/P1/positions")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == first.content and again.headers["content-type"] == "application/json"
    assert built == ["P1"]
    # 10 × 160 = 1,600 against a cost of 1,502.50.
    [aapl] = again.json()["positions"]
    assert (aapl["mv_base"], aapl["unrealized_base"]) == ("1600", "97.50")


async def test_a_new_price_at_the_worker_is_answered_at_once(make_client, start_worker_stub, built):
    url = start_worker_stub({"P1": _aapl("160")})
    client = await make_client(worker_url=url)
    assert (await client.get("/portfolios/P1/positions")).json()["positions"][0]["mv_base"] == "1600"

    start_worker_stub.tables[url]["P1"] = (200, _aapl("170"))

    [aapl] = (await client.get("/portfolios/P1/positions")).json()["positions"]
    assert (aapl["mv_base"], aapl["unrealized_base"]) == ("1700", "197.50")
    assert built == ["P1", "P1"]


async def test_each_page_and_the_csv_form_are_answered_from_their_own_kept_answer(make_client, start_worker_stub):
    two = live_answer("P1", positions=[position("P1", "AAPL", lot("T1", "2024-01-02", 3, "10", "1502.50")),
                                       position("P1", "MSFT", lot("T2", "2024-01-03", 4, "4", "1480"))])
    client = await make_client(worker_url=start_worker_stub({"P1": two}))

    for _ in range(2):
        whole = (await client.get("/portfolios/P1/positions")).json()
        second = (await client.get("/portfolios/P1/positions", params={"limit": 1, "offset": 1})).json()
        as_csv = await client.get("/portfolios/P1/positions", headers={"Accept": "text/csv"})
        assert [p["security_id"] for p in whole["positions"]] == ["AAPL", "MSFT"]
        assert ([p["security_id"] for p in second["positions"]], second["total"], second["offset"]) == (
            ["MSFT"], 2, 1)
        assert as_csv.headers["content-type"].startswith("text/csv")
        assert as_csv.text.splitlines()[1].startswith("AAPL,10,1502.50,1502.50,150.25,0,0,USD,")


async def test_live_cash_is_kept_and_follows_the_worker(make_client, start_worker_stub):
    url = start_worker_stub({"P1": _aapl("160")})
    client = await make_client(worker_url=url)
    for _ in range(2):
        assert [b["amount"] for b in (await client.get("/portfolios/P1/cash")).json()["balances"]] == ["-1502.50"]

    moved = _aapl("160")
    moved["cash"] = [cash("P1", "USD", "497.50")]  # a deposit of 2,000
    start_worker_stub.tables[url]["P1"] = (200, moved)

    assert [b["amount"] for b in (await client.get("/portfolios/P1/cash")).json()["balances"]] == ["497.50"]


async def test_live_valuation_takes_income_booked_since_the_last_answer_at_once(
        make_client, start_worker_stub, api_database_url, rows):
    await rows.portfolio("P1", base_currency="USD")
    client = await make_client(worker_url=start_worker_stub({"P1": _aapl("160")}), database_url=api_database_url)

    before = (await client.get("/portfolios/P1/valuation")).json()
    assert (await client.get("/portfolios/P1/valuation")).json() == before
    # The sink books a dividend of 12.00 (fees 2.00) at 1.10 while the worker's state stays as it was.
    await rows.transaction("P1", "DV1", type="DIVIDEND", security_id="AAPL", trade_date=date(2024, 1, 11),
                           amount="12.00", fees="2.00", currency="EUR", fx_applied="1.10")
    after = (await client.get("/portfolios/P1/valuation")).json()

    # 1,600 securities − 1,502.50 cash = 97.50 total; income (12.00 − 2.00) × 1.10 = 11.00.
    assert (before["income_base"], before["total_base"], before["mv_base"]) == ("0", "97.50", "1600")
    assert (after["income_base"], after["total_base"]) == ("11.0000", "97.50")


async def test_live_valuation_answers_503_naming_the_database_when_postgresql_is_down(make_client, start_worker_stub):
    client = await make_client(worker_url=start_worker_stub({"P1": _aapl("160")}),
                               database_url="postgresql://folio@127.0.0.1:9/folio")  # discard port

    response = await client.get("/portfolios/P1/valuation")

    assert response.status_code == 503
    assert "database unavailable" in response.text


async def test_live_valuation_survives_postgresql_dropping_its_pooled_connections(
        make_client, start_worker_stub, api_database_url, rows, postgres):
    await rows.portfolio("P1", base_currency="USD")
    client = await make_client(worker_url=start_worker_stub({"P1": _aapl("160")}), database_url=api_database_url)
    assert (await client.get("/portfolios/P1/valuation")).status_code == 200
    admin = await asyncpg.connect(postgres.dsn)
    try:  # as a PostgreSQL restart does to every pooled connection
        killed = await admin.fetchval("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                      "WHERE datname = $1 AND pid <> pg_backend_pid()", database_name(api_database_url))
    finally:
        await admin.close()
    assert killed >= 1  # the pooled connection (and the test's own)

    response = await client.get("/portfolios/P1/valuation")

    assert response.status_code == 200, response.text
    assert response.json()["total_base"] == "97.50"
