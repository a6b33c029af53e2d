"""Migration 011's triggers: every commit that changes what the API keeps answers of notifies
`folio_changed` with the portfolios it touched ('' for all), once each, and only at commit."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from sink.change_notices import CHANNEL, EVERYTHING


SENTINEL = "~sentinel~"


class Notices:
    """What a listening connection hears; `taken()` returns what arrived before a sentinel notified
    afterwards from another connection (notices arrive in commit order), so nothing is still on its way."""

    def __init__(self, sender: asyncpg.Connection) -> None:
        self.sender = sender
        self.payloads: list[str] = []

    def __call__(self, _conn, _pid, _channel, payload: str) -> None:
        self.payloads.append(payload)

    async def taken(self) -> list[str]:
        await self.sender.execute("SELECT pg_notify($1, $2)", CHANNEL, SENTINEL)
        for _ in range(500):
            if SENTINEL in self.payloads:
                break
            await asyncio.sleep(0.01)
        cut = self.payloads.index(SENTINEL)
        taken, self.payloads = sorted(self.payloads[:cut]), self.payloads[cut + 1:]
        return taken


@pytest.fixture
async def notices(db, sink_database_url) -> AsyncIterator[Notices]:
    listener = await asyncpg.connect(sink_database_url)
    sender = await asyncpg.connect(sink_database_url)
    heard = Notices(sender)
    await listener.add_listener(CHANNEL, heard)
    yield heard
    await listener.close()
    await sender.close()


async def _series(db, *rows: tuple[str, str, str]) -> None:
    await db.executemany("INSERT INTO daily_series (portfolio_id, date, mv) VALUES ($1, $2::text::date, $3::numeric)"
                         " ON CONFLICT (portfolio_id, date) DO UPDATE SET mv = EXCLUDED.mv", rows)


async def test_one_statement_over_two_portfolios_names_each_once(db, notices):
    await db.execute("INSERT INTO daily_series (portfolio_id, date, mv) VALUES"
                     " ('P1', '2024-01-02', 1), ('P1', '2024-01-03', 2), ('P2', '2024-01-02', 3)")

    assert await notices.taken() == ["P1", "P2"]


async def test_updates_and_deletes_name_their_portfolios_and_a_rolled_back_change_names_none(db, notices):
    await _series(db, ("P1", "2024-01-02", "1"), ("P2", "2024-01-02", "1"))
    await notices.taken()

    await db.execute("UPDATE daily_series SET mv = 5 WHERE portfolio_id = 'P2'")
    assert await notices.taken() == ["P2"]
    await db.execute("DELETE FROM daily_series WHERE portfolio_id = 'P1'")
    assert await notices.taken() == ["P1"]
    async with db.transaction():
        await db.execute("UPDATE daily_series SET mv = 6 WHERE portfolio_id = 'P2'")
        assert await notices.taken() == []  # not before the commit (the sentinel committed first)
    assert await notices.taken() == ["P2"]
    with pytest.raises(ZeroDivisionError):
        async with db.transaction():
            await db.execute("UPDATE daily_series SET mv = 7 WHERE portfolio_id = 'P2'")
            raise ZeroDivisionError
    assert await notices.taken() == []


async def test_an_upsert_that_changes_nothing_names_nobody(db, notices):
    await db.execute("INSERT INTO portfolios (portfolio_id, name, base_currency, cost_method, open_date, seq)"
                     " VALUES ('P1', 'one', 'USD', 'FIFO', '2024-01-02', 5)")
    assert await notices.taken() == ["P1"]

    # The sink's seq-guarded upsert of an older version: no row changes.
    await db.execute("INSERT INTO portfolios (portfolio_id, name, base_currency, cost_method, open_date, seq)"
                     " VALUES ('P1', 'old', 'USD', 'FIFO', '2024-01-02', 4) ON CONFLICT (portfolio_id)"
                     " DO UPDATE SET name = EXCLUDED.name WHERE portfolios.seq < EXCLUDED.seq")

    assert await notices.taken() == []


async def test_transactions_name_their_portfolio(db, notices):
    await db.execute("INSERT INTO transactions (portfolio_id, transaction_id, version, status, type, trade_date,"
                     " currency, arrival, realized_local, realized_base, cash_effect, seq)"
                     " VALUES ('P9', 'T1', 1, 'BOOKED', 'DEPOSIT', '2024-01-02', 'USD', 1, 0, 0, '{}', 1)")

    assert await notices.taken() == ["P9"]


async def test_the_market_horizon_and_any_truncate_name_everything(db, notices):
    await db.execute("INSERT INTO market_horizon (singleton, horizon) VALUES (true, '2024-01-05')")
    assert await notices.taken() == [EVERYTHING]
    await db.execute("UPDATE market_horizon SET horizon = '2024-01-08'")
    assert await notices.taken() == [EVERYTHING]

    for table in ("portfolios", "transactions", "daily_series", "market_horizon"):
        await db.execute(f"TRUNCATE {table}")
        assert await notices.taken() == [EVERYTHING], table


async def test_a_portfolio_id_too_long_for_a_payload_names_everything_and_the_write_commits(db, notices):
    long_id = "P" * 9000  # pg_notify refuses payloads of 8,000 bytes or more

    await db.execute("INSERT INTO daily_series (portfolio_id, date, mv) VALUES ($1, '2024-01-02', 1)", long_id)

    assert await notices.taken() == [EVERYTHING]
    assert await db.fetchval("SELECT count(*) FROM daily_series WHERE portfolio_id = $1", long_id) == 1


async def test_an_update_that_moves_rows_to_another_portfolio_names_both(db, notices):
    await _series(db, ("PA", "2024-01-02", "1"))
    await notices.taken()

    await db.execute("UPDATE daily_series SET portfolio_id = 'PB' WHERE portfolio_id = 'PA'")

    assert await notices.taken() == ["PA", "PB"]


async def test_the_sinks_batch_write_names_the_portfolios_it_wrote(db, notices):
    from sink.runner import build_batch
    from sink.writer import write_batch
    from tests.core.factories import make_tx
    from tests.sink.test_writer import CHANGELOGS, Ledger

    ledger = Ledger()
    ledger.apply(make_tx("DEPOSIT", amount="100", trade_date="2024-01-02"))
    await write_batch(db, build_batch(ledger.records(), CHANGELOGS))

    assert await notices.taken() == ["P1"]


async def test_applying_a_migration_names_everything(db, notices, monkeypatch):
    from sink import migrate as migrator

    *done, (version, name, _sql) = migrator.migrations()
    await db.execute("DELETE FROM schema_migrations WHERE version = $1", version)
    monkeypatch.setattr(migrator, "migrations", lambda: [*done, (version, name, "SELECT 1")])  # it again, as a no-op

    assert await migrator.migrate(db) == [name]
    assert await notices.taken() == [EVERYTHING]
