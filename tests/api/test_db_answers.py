"""Answers read from PostgreSQL are kept until a change notice names their portfolio (api.db_answers):
the rule in ChangeLog, then the live valuation's income and /performance against a real PostgreSQL."""
from __future__ import annotations

import asyncio
from datetime import date

import asyncpg
import pytest

import api.db_answers
import api.routes.performance
import api.routes.valuation
from api.db_answers import APPLICATION_NAME, TRUSTED_FOR, ChangeLog
from tests.api.conftest import database_name
from tests.api.test_kept_answers import _aapl
from tests.api.test_performance import short_ledger  # noqa: F401 - the ledger of P1, its figures worked by hand


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def listening_log(**kwargs) -> tuple[ChangeLog, Clock]:
    clock = Clock()
    changes = ChangeLog(clock=clock, **kwargs)
    changes.listening()
    return changes, clock


# --- the rule ------------------------------------------------------------------------------------

def test_a_notice_for_a_portfolio_invalidates_its_answers_read_before_it_and_no_other_portfolios():
    changes, _ = listening_log()
    token = changes.token()

    changes.notice("P1")

    assert not changes.unchanged("P1", token)
    assert changes.unchanged("P2", token)
    assert changes.unchanged("P1", changes.token())  # read after the notice: it saw the change


def test_a_notice_for_everything_invalidates_every_portfolio():
    changes, _ = listening_log()
    token = changes.token()

    changes.notice("")

    assert not changes.unchanged("P1", token) and not changes.unchanged("P2", token)
    assert changes.unchanged("P2", changes.token())


def test_nothing_is_kept_or_served_while_not_listening_nor_what_was_read_before_listening_again():
    changes, _ = listening_log()
    token = changes.token()

    changes.deaf()  # a notice may be missed from here on

    assert changes.token() is None
    assert not changes.unchanged("P1", token)
    changes.listening()
    assert not changes.unchanged("P1", token)
    assert changes.unchanged("P1", changes.token())


def test_a_listener_whose_heartbeat_stopped_answering_is_not_trusted():
    changes, clock = listening_log()
    token = changes.token()

    clock.now += TRUSTED_FOR + 0.1

    assert changes.token() is None and not changes.unchanged("P1", token)
    changes.heard()
    assert changes.unchanged("P1", token)


def test_a_portfolio_no_longer_remembered_counts_as_changed_at_the_last_forgotten_notice():
    changes, _ = listening_log(remember=2)
    token = changes.token()
    changes.notice("P1")
    later = changes.token()

    changes.notice("P2")
    changes.notice("P3")  # P1 is forgotten

    assert not changes.unchanged("P1", token)
    assert changes.unchanged("P1", later)
    assert not changes.unchanged("P2", later)


# --- against PostgreSQL --------------------------------------------------------------------------

def counted(monkeypatch, module, name: str) -> list[str]:
    """The portfolios `module.name(database, portfolio_id)` was called for: its PostgreSQL reads."""
    calls: list[str] = []
    real = getattr(module, name)

    async def counting(database, portfolio_id):
        calls.append(portfolio_id)
        return await real(database, portfolio_id)

    monkeypatch.setattr(module, name, counting)
    return calls


@pytest.fixture
def performance_reads(monkeypatch) -> list[str]:
    """The portfolios /performance read from PostgreSQL (the route's one statement)."""
    return counted(monkeypatch, api.routes.performance, "period_inputs")


async def eventually(read, expected, timeout: float = 5.0):
    """`read()` once it returns `expected` (a change notice arrives a moment after its commit)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (got := await read()) != expected and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    return got


async def _twr(client, **params) -> float:
    response = await client.get("/portfolios/P1/performance", params=params)
    assert response.status_code == 200, response.text
    return response.json()["twr"]


async def test_an_unchanged_performance_is_answered_from_memory_and_a_new_series_row_is_answered_after_its_notice(
        short_ledger, make_client, api_database_url, performance_reads):  # noqa: F811
    client = await make_client(database_url=api_database_url, db_answers=True)
    period = {"from": "2024-01-03", "to": "2024-01-05"}
    # (1 + 0.1) × (1 + 0.03125) × (1 + 1/33) − 1 = 0.16875 (tests/api/test_performance.py)
    await _twr(client, **period)  # starts the listener: what is read before it listens is not kept
    await asyncio.sleep(0.2)
    first = await _twr(client, **period)
    reads_then = len(performance_reads)

    again = [await _twr(client, **period) for _ in range(5)]

    assert first == pytest.approx(0.16875) and again == [first] * 5
    assert len(performance_reads) == reads_then  # none of the five read PostgreSQL
    # The series worker revalues 2024-01-05 at 1650 (outflow 200): r = (1650 + 200) / 1650 − 1 = 4/33,
    # TWR = 1.134375 × 37/33 − 1 = 0.271875.
    await short_ledger.conn.execute("UPDATE daily_series SET mv = 1650 WHERE portfolio_id = 'P1' AND date = '2024-01-05'")
    assert await eventually(lambda: _twr(client, **period), pytest.approx(0.271875)) == pytest.approx(0.271875)
    # Another portfolio's change leaves P1's answer kept.
    reads_then = len(performance_reads)
    await short_ledger.conn.execute("UPDATE daily_series SET mv = 1300 WHERE portfolio_id = 'PN' AND date = '2024-01-05'")
    await asyncio.sleep(0.2)
    assert await _twr(client, **period) == pytest.approx(0.271875)
    assert len(performance_reads) == reads_then


async def test_a_moved_market_horizon_changes_every_portfolios_default_period_end(
        short_ledger, make_client, api_database_url):  # noqa: F811
    client = await make_client(database_url=api_database_url, db_answers=True)
    since_inception = lambda: client.get("/portfolios/P1/performance", params={"period": "SI"})  # noqa: E731
    assert (await since_inception()).json()["to"] == "2024-01-05"
    await short_ledger.conn.execute("INSERT INTO daily_series (portfolio_id, date, mv, inflow, outflow)"
                                    " VALUES ('P1', '2024-01-08', 1500, 0, 0)")
    await asyncio.sleep(0.2)
    # The series row alone does not move the horizon (the horizon is the market's).
    assert (await since_inception()).json()["to"] == "2024-01-05"

    await short_ledger.horizon(date(2024, 1, 8))

    async def period_end():
        return (await since_inception()).json()["to"]
    assert await eventually(period_end, "2024-01-08") == "2024-01-08"


async def test_live_valuation_takes_booked_income_once_its_notice_arrives_and_reads_it_once_until_then(
        make_client, start_worker_stub, api_database_url, rows, monkeypatch):
    income_reads = counted(monkeypatch, api.routes.valuation, "income_base_now")
    await rows.portfolio("P1", base_currency="USD")
    client = await make_client(worker_url=start_worker_stub({"P1": _aapl("160")}), database_url=api_database_url,
                               db_answers=True)

    async def income():
        return (await client.get("/portfolios/P1/valuation")).json()["income_base"]

    assert await income() == "0"  # starts the listener
    await asyncio.sleep(0.2)
    assert await income() == "0"  # kept from here on
    reads_then = len(income_reads)
    assert [await income() for _ in range(3)] == ["0"] * 3
    assert len(income_reads) == reads_then
    # The sink books a dividend of 12.00 (fees 2.00) at 1.10: income (12.00 − 2.00) × 1.10 = 11.00.
    await rows.transaction("P1", "DV1", type="DIVIDEND", security_id="AAPL", trade_date=date(2024, 1, 11),
                           amount="12.00", fees="2.00", currency="EUR", fx_applied="1.10")

    assert await eventually(income, "11.0000") == "11.0000"


async def test_when_the_listening_connection_is_lost_answers_are_read_afresh_until_it_listens_again(
        short_ledger, make_client, api_database_url, performance_reads, postgres):  # noqa: F811
    client = await make_client(database_url=api_database_url, db_answers=True)
    period = {"from": "2024-01-03", "to": "2024-01-05"}
    await _twr(client, **period)
    await asyncio.sleep(0.2)
    await _twr(client, **period)
    reads_then = len(performance_reads)
    assert await _twr(client, **period) == pytest.approx(0.16875)
    assert len(performance_reads) == reads_then  # kept

    admin = await asyncpg.connect(postgres.dsn)
    try:  # the listener, as a PostgreSQL restart or a dropped network connection would
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1"
            " AND application_name = $2", database_name(api_database_url), APPLICATION_NAME)
    finally:
        await admin.close()
    assert killed >= 1
    # Changed while nobody listened: no notice will ever say so.
    await short_ledger.conn.execute("UPDATE daily_series SET mv = 1650 WHERE portfolio_id = 'P1' AND date = '2024-01-05'")
    await asyncio.sleep(0.05)

    assert await _twr(client, **period) == pytest.approx(0.271875)
    assert len(performance_reads) > reads_then


async def test_the_position_stream_marks_the_portfolios_its_rows_name_changed_before_any_client_hears_of_them():
    from api.db import Database
    from api.queries.stream import LogRow
    from api.stream import StreamHub

    changes, _ = listening_log()
    token = changes.token()
    hub = StreamHub(Database(None), queue_size=10, changes=changes)

    await hub._dispatch([LogRow(7, 100, "P1", "transaction", {}), LogRow(8, 100, None, "price", {})])

    assert not changes.unchanged("P1", token)
    assert changes.unchanged("P2", token)


@pytest.fixture
async def database_without_notices(postgres):
    """A migrated database whose change-notice triggers were dropped (a schema older than the API)."""
    import uuid

    from sink.migrate import migrate
    from tests.api.conftest import _with_database

    name = f"folio_nonotice_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres.dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(postgres.dsn, name)
    conn = await asyncpg.connect(url)
    await migrate(conn)
    await conn.execute("DROP FUNCTION folio_notice_row, folio_notice_portfolios, folio_notice_portfolios_updated,"
                       " folio_notice_everything CASCADE")
    yield url, conn
    await conn.close()
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def test_nothing_is_kept_from_a_database_without_the_change_notice_triggers(
        database_without_notices, make_client, performance_reads):
    url, conn = database_without_notices
    await conn.execute("INSERT INTO portfolios (portfolio_id, name, base_currency, cost_method, open_date, seq)"
                       " VALUES ('P1', 'one', 'USD', 'FIFO', '2024-01-02', 1)")
    client = await make_client(database_url=url, db_answers=True)

    for _ in range(3):
        assert (await client.get("/portfolios/P1/performance", params={"period": "SI"})).status_code == 200
        await asyncio.sleep(0.2)

    assert performance_reads == ["P1"] * 3


@pytest.fixture
async def kept_with_fast_probes(short_ledger, make_client, api_database_url, performance_reads, monkeypatch):  # noqa: F811
    """A client whose listener probes every 0.1 s and trusts itself 0.3 s, with P1's answer kept;
    (client, the period asked, PostgreSQL reads so far)."""
    monkeypatch.setattr(api.db_answers, "HEARTBEAT", 0.1)
    monkeypatch.setattr(api.db_answers, "TRUSTED_FOR", 0.3)
    client = await make_client(database_url=api_database_url, db_answers=True)
    period = {"from": "2024-01-03", "to": "2024-01-05"}
    await _twr(client, **period)  # starts the listener
    await asyncio.sleep(0.3)
    await _twr(client, **period)  # kept
    return client, period, len(performance_reads)


async def test_a_listener_keeps_its_trust_while_its_probes_come_back_through_the_pool(
        kept_with_fast_probes, performance_reads):
    client, period, reads_then = kept_with_fast_probes

    await asyncio.sleep(1.0)  # ten heartbeats, three times the trust

    assert await _twr(client, **period) == pytest.approx(0.16875)
    assert len(performance_reads) == reads_then


async def test_a_listener_that_stops_hearing_its_probes_stops_answering_from_memory(
        kept_with_fast_probes, performance_reads, monkeypatch):
    client, period, reads_then = kept_with_fast_probes
    # As through a transaction pooler: the connection is up, but what the reads' server notifies never arrives.
    monkeypatch.setattr(api.db_answers, "PROBE_CHANNEL", "folio_heard_by_nobody")

    await asyncio.sleep(1.0)

    assert await _twr(client, **period) == pytest.approx(0.16875)
    assert len(performance_reads) == reads_then + 1


async def test_a_trigger_disabled_and_enabled_again_between_two_checks_drops_what_was_kept(
        kept_with_fast_probes, performance_reads, short_ledger):  # noqa: F811
    client, period, _ = kept_with_fast_probes

    async with short_ledger.conn.transaction():  # a write nobody is told of, and no trace in a later check
        await short_ledger.conn.execute("ALTER TABLE daily_series DISABLE TRIGGER daily_series_updated")
        await short_ledger.conn.execute(
            "UPDATE daily_series SET mv = 1650 WHERE portfolio_id = 'P1' AND date = '2024-01-05'")
        await short_ledger.conn.execute("ALTER TABLE daily_series ENABLE TRIGGER daily_series_updated")
    await asyncio.sleep(0.5)  # a few checks

    assert await _twr(client, **period) == pytest.approx(0.271875)
