"""Writes one sink batch into PostgreSQL in a single transaction.

Every upsert is guarded by the state's `seq` (changelogs) or the source offset
(reference topics), so re-delivered records never move a row backwards.
"""
from __future__ import annotations

from datetime import date

import asyncpg

from sink import dead_letter_lifecycle as lifecycle
from sink import stream_log
from sink.marks import Mark, previous_transactions, record_marks
from sink.rows import Batch

# RETURNING says whether the row was created or re-based (a new base currency): the whole
# series is stale then, since the sink may have spent the portfolio's transaction marks
# before its row arrived (the series of a portfolio without a row is nothing).
UPSERT_PORTFOLIO = """
WITH old AS (SELECT base_currency FROM portfolios WHERE portfolio_id = $1)
INSERT INTO portfolios (portfolio_id, name, base_currency, cost_method, open_date, benchmark_id,
                        securities, currencies, applied, seq)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10)
ON CONFLICT (portfolio_id) DO UPDATE SET
  name = EXCLUDED.name, base_currency = EXCLUDED.base_currency, cost_method = EXCLUDED.cost_method,
  open_date = EXCLUDED.open_date, benchmark_id = EXCLUDED.benchmark_id,
  securities = EXCLUDED.securities, currencies = EXCLUDED.currencies, applied = EXCLUDED.applied,
  seq = EXCLUDED.seq
WHERE portfolios.seq < EXCLUDED.seq
RETURNING portfolio_id, base_currency IS DISTINCT FROM (SELECT base_currency FROM old) AS rebased
"""

UPSERT_TRANSACTION = """
INSERT INTO transactions (portfolio_id, transaction_id, version, status, type, trade_date,
  settlement_date, security_id, quantity, price, amount, fees, currency, fx_rate, fx_applied,
  arrival, realized_local, realized_base, cash_effect, seq)
VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19::jsonb,$20)
ON CONFLICT (portfolio_id, transaction_id) DO UPDATE SET
  version = EXCLUDED.version, status = EXCLUDED.status, type = EXCLUDED.type,
  trade_date = EXCLUDED.trade_date, settlement_date = EXCLUDED.settlement_date,
  security_id = EXCLUDED.security_id, quantity = EXCLUDED.quantity, price = EXCLUDED.price,
  amount = EXCLUDED.amount, fees = EXCLUDED.fees, currency = EXCLUDED.currency,
  fx_rate = EXCLUDED.fx_rate, fx_applied = EXCLUDED.fx_applied, arrival = EXCLUDED.arrival,
  realized_local = EXCLUDED.realized_local, realized_base = EXCLUDED.realized_base,
  cash_effect = EXCLUDED.cash_effect, seq = EXCLUDED.seq
WHERE transactions.seq < EXCLUDED.seq
"""

UPSERT_CASH = """
INSERT INTO cash_balances (portfolio_id, currency, balance, movers, seq) VALUES ($1,$2,$3,$4,$5)
ON CONFLICT (portfolio_id, currency) DO UPDATE SET
  balance = EXCLUDED.balance, movers = EXCLUDED.movers, seq = EXCLUDED.seq
WHERE cash_balances.seq < EXCLUDED.seq
"""

UPSERT_POSITION = """
INSERT INTO positions (portfolio_id, security_id, currency, quantity, cost_local, cost_base,
                       realized_local, realized_base, listed, seq)
VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
ON CONFLICT (portfolio_id, security_id) DO UPDATE SET
  currency = EXCLUDED.currency, quantity = EXCLUDED.quantity, cost_local = EXCLUDED.cost_local,
  cost_base = EXCLUDED.cost_base, realized_local = EXCLUDED.realized_local,
  realized_base = EXCLUDED.realized_base, listed = EXCLUDED.listed, seq = EXCLUDED.seq
WHERE positions.seq < EXCLUDED.seq
"""

POSITION_SEQS = """
SELECT p.portfolio_id, p.security_id, p.seq FROM positions p
JOIN unnest($1::text[], $2::text[]) AS k(portfolio_id, security_id)
  USING (portfolio_id, security_id)
"""

UPSERT_INSTRUMENTS = """
INSERT INTO instruments (security_id, name, currency, isin, asset_class, sector, country,
                         src_partition, src_offset)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::integer[], $9::bigint[])
ON CONFLICT (security_id) DO UPDATE SET
  name = EXCLUDED.name, currency = EXCLUDED.currency, isin = EXCLUDED.isin,
  asset_class = EXCLUDED.asset_class, sector = EXCLUDED.sector, country = EXCLUDED.country,
  src_partition = EXCLUDED.src_partition, src_offset = EXCLUDED.src_offset
WHERE (instruments.src_partition, instruments.src_offset) < (EXCLUDED.src_partition, EXCLUDED.src_offset)
RETURNING security_id
"""

# One statement per batch; RETURNING says which rows really changed (a replayed
# record changes nothing), and only those stale any series.
UPSERT_PRICES = """
INSERT INTO prices (security_id, price_date, price, currency, src_partition, src_offset)
SELECT * FROM unnest($1::text[], $2::date[], $3::numeric[], $4::text[], $5::integer[], $6::bigint[])
ON CONFLICT (security_id, price_date) DO UPDATE SET
  price = EXCLUDED.price, currency = EXCLUDED.currency,
  src_partition = EXCLUDED.src_partition, src_offset = EXCLUDED.src_offset
WHERE (prices.src_partition, prices.src_offset) < (EXCLUDED.src_partition, EXCLUDED.src_offset)
RETURNING security_id, price_date
"""

UPSERT_FX_RATES = """
INSERT INTO fx_rates (from_currency, to_currency, rate_date, rate, src_partition, src_offset)
SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::numeric[], $5::integer[], $6::bigint[])
ON CONFLICT (from_currency, to_currency, rate_date) DO UPDATE SET
  rate = EXCLUDED.rate, src_partition = EXCLUDED.src_partition, src_offset = EXCLUDED.src_offset
WHERE (fx_rates.src_partition, fx_rates.src_offset) < (EXCLUDED.src_partition, EXCLUDED.src_offset)
RETURNING from_currency, to_currency, rate_date
"""

INSERT_DEAD_LETTER = """
INSERT INTO dead_letters (source_topic, source_partition, source_offset, key, raw_value, reason,
                          field, transaction_id, detail, dead_lettered_at,
                          raw_encoding, raw_size, raw_sha256, raw_truncated, key_encoding)
VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
ON CONFLICT DO NOTHING
"""

UPSERT_TRANSACTION_VERSIONS = """
INSERT INTO transaction_versions (portfolio_id, transaction_id, version, status, type, trade_date,
  security_id, quantity, price, amount, fees, currency, arrival, seq)
SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::text[], $5::text[], $6::date[], $7::text[],
                     $8::numeric[], $9::numeric[], $10::numeric[], $11::numeric[], $12::text[], $13::bigint[],
                     $14::bigint[])
ON CONFLICT (portfolio_id, transaction_id, version) DO UPDATE SET
  status = EXCLUDED.status, type = EXCLUDED.type, trade_date = EXCLUDED.trade_date,
  security_id = EXCLUDED.security_id, quantity = EXCLUDED.quantity, price = EXCLUDED.price,
  amount = EXCLUDED.amount, fees = EXCLUDED.fees, currency = EXCLUDED.currency,
  arrival = EXCLUDED.arrival, seq = EXCLUDED.seq
WHERE transaction_versions.seq < EXCLUDED.seq
"""

# A receipt is settled once its version (or a higher one) is in effect, or the
# version was dead-lettered (NULL: a letter whose version cannot be read).
SETTLE_RECEIPTS_BOOKED = """
DELETE FROM ingest_receipts r USING unnest($1::text[], $2::text[], $3::integer[]) AS k(p, t, v)
WHERE r.portfolio_id = k.p AND r.transaction_id = k.t AND r.version <= k.v
"""
SETTLE_RECEIPTS_DEAD_LETTERED = """
DELETE FROM ingest_receipts r USING unnest($1::text[], $2::text[], $3::integer[]) AS k(p, t, v)
WHERE r.portfolio_id = k.p AND r.transaction_id = k.t AND (k.v IS NULL OR r.version = k.v)
"""


async def write_batch(conn: asyncpg.Connection, batch: Batch) -> int:
    """Write the batch and its series marks atomically; returns how many marks were stored."""
    async with conn.transaction():
        previous = await previous_transactions(conn, batch)
        state_marks: list[Mark] = []
        if batch.portfolios:
            state_marks += await _write_portfolios(conn, batch)
        if batch.transactions:
            await conn.executemany(UPSERT_TRANSACTION, list(batch.transactions.values()))
            await _write_realized_lots(conn, batch)
        if batch.cash:
            await conn.executemany(UPSERT_CASH, list(batch.cash.values()))
        if batch.positions:
            state_marks += await _write_positions(conn, batch)
        if batch.history:
            state_marks += await _write_history(conn, batch)
        changed_instruments = await _upsert_columns(conn, UPSERT_INSTRUMENTS, batch.instruments.values())
        changed_prices = await _upsert_columns(conn, UPSERT_PRICES, batch.prices.values())
        changed_fx = await _upsert_columns(conn, UPSERT_FX_RATES, batch.fx_rates.values())
        await _write_transaction_versions(conn, batch)
        await lifecycle.lock(conn)
        letters = await lifecycle.settle_letters(conn, list(batch.dead_letters.values()))
        if letters:
            await conn.executemany(INSERT_DEAD_LETTER, letters)
            await lifecycle.adopt_redrives(conn, letters)
        # Each version's own arrival: one superseded within the batch was applied too.
        keyed = [(lifecycle.TRANSACTIONS_TOPIC, row[0], row[12]) for row in batch.transaction_versions.values()]
        keyed += [(lifecycle.PORTFOLIOS_TOPIC, row[0], row[8]) for row in batch.portfolios.values()]
        await lifecycle.resolve_applied(conn, keyed, batch.reference_sources)
        if batch.transaction_versions:
            await lifecycle.resolve_duplicates(conn)
        await stream_log.append(conn, batch, previous, changed_prices, changed_fx)
        return await record_marks(conn, batch, previous, state_marks, changed_prices, changed_fx,
                                  changed_instruments)


# The transactions whose stored row is the batch's record (its seq won): their
# realized_lots are replaced; an older record replayed late changes nothing.
CURRENT_TRANSACTIONS = """
SELECT t.portfolio_id, t.transaction_id FROM transactions t
JOIN unnest($1::text[], $2::text[], $3::bigint[]) AS k(p, t, s)
  ON t.portfolio_id = k.p AND t.transaction_id = k.t AND t.seq = k.s
"""
DELETE_REALIZED_LOTS = """
DELETE FROM realized_lots r USING unnest($1::text[], $2::text[]) AS k(p, t)
WHERE r.portfolio_id = k.p AND r.transaction_id = k.t
"""


async def _write_realized_lots(conn: asyncpg.Connection, batch: Batch) -> None:
    keys = list(batch.realized_lots)
    current = [tuple(r) for r in await conn.fetch(CURRENT_TRANSACTIONS, [k[0] for k in keys], [k[1] for k in keys],
                                                  [batch.realized_lots[k][0] for k in keys])]
    if not current:
        return
    await conn.execute(DELETE_REALIZED_LOTS, [k[0] for k in current], [k[1] for k in current])
    rows = [row for key in current for row in batch.realized_lots[key][1]]
    if rows:
        await conn.copy_records_to_table("realized_lots", records=rows)


async def _write_portfolios(conn: asyncpg.Connection, batch: Batch) -> list[Mark]:
    marks: list[Mark] = []
    for row in batch.portfolios.values():
        written = await conn.fetchrow(UPSERT_PORTFOLIO, *row)
        if written is not None and written["rebased"]:
            marks.append((written["portfolio_id"], None, None))
    return marks


async def _write_transaction_versions(conn: asyncpg.Connection, batch: Batch) -> None:
    if batch.transaction_versions:
        await _upsert_columns(conn, UPSERT_TRANSACTION_VERSIONS, batch.transaction_versions.values())
        await conn.execute(SETTLE_RECEIPTS_BOOKED, *(list(c) for c in zip(*batch.transaction_versions)))
    if batch.letter_transactions:
        await conn.execute(SETTLE_RECEIPTS_DEAD_LETTERED, *(list(c) for c in zip(*batch.letter_transactions)))


async def _upsert_columns(conn: asyncpg.Connection, statement: str, rows) -> list[tuple]:
    """Row tuples → one column array per field → one statement; the keys it changed."""
    rows = list(rows)
    if not rows:
        return []
    columns = [list(column) for column in zip(*rows)]
    return [tuple(r) for r in await conn.fetch(statement, *columns)]


UPSERT_HISTORY = """
INSERT INTO position_history (portfolio_id, security_id, date, quantity, cost_local, cost_base,
                              realized_local, realized_base)
SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::numeric[], $5::numeric[], $6::numeric[],
                     $7::numeric[], $8::numeric[])
ON CONFLICT (portfolio_id, security_id, date) DO UPDATE SET
  quantity = EXCLUDED.quantity, cost_local = EXCLUDED.cost_local, cost_base = EXCLUDED.cost_base,
  realized_local = EXCLUDED.realized_local, realized_base = EXCLUDED.realized_base
WHERE (position_history.quantity::text, position_history.cost_local::text, position_history.cost_base::text,
       position_history.realized_local::text, position_history.realized_base::text)
  IS DISTINCT FROM (EXCLUDED.quantity::text, EXCLUDED.cost_local::text, EXCLUDED.cost_base::text,
                    EXCLUDED.realized_local::text, EXCLUDED.realized_base::text)
RETURNING portfolio_id, date
"""
DELETE_HISTORY = """
DELETE FROM position_history h USING unnest($1::text[], $2::text[], $3::date[]) AS k(p, s, d)
WHERE h.portfolio_id = k.p AND h.security_id = k.s AND h.date = k.d
RETURNING h.portfolio_id, h.date
"""


async def _write_history(conn: asyncpg.Connection, batch: Batch) -> list[Mark]:
    """Each changed day's row, as the `days` changelog last had it (in changelog order:
    a replayed batch converges on the same rows); marks from each really changed day on.

    The history marks its own dates because a position's record and its days can reach
    the sink in different batches (another poll, or a batch a dead worker cut short and
    its successor finished): the position's marks may already have been spent on a
    history the days had not yet rewritten."""
    kept = [row for row in batch.history.values() if row is not None]
    gone = [key for key, row in batch.history.items() if row is None]
    changed = []
    if kept:
        changed += await conn.fetch(UPSERT_HISTORY, *(list(column) for column in zip(*kept)))
    if gone:
        changed += await conn.fetch(DELETE_HISTORY, *(list(column) for column in zip(*gone)))
    return [(r["portfolio_id"], r["date"], None) for r in changed]


async def _write_positions(conn: asyncpg.Connection, batch: Batch) -> list[Mark]:
    keys = list(batch.positions)
    stored = {(r["portfolio_id"], r["security_id"]): r["seq"] for r in await conn.fetch(
        POSITION_SEQS, [k[0] for k in keys], [k[1] for k in keys])}
    changes = [c for c in batch.positions.values() if stored.get(c.key, 0) < c.state.seq]
    if not changes:
        return []
    await conn.execute(
        "DELETE FROM lots l USING unnest($1::text[], $2::text[]) AS k(p, s)"
        " WHERE l.portfolio_id = k.p AND l.security_id = k.s",
        [c.key[0] for c in changes], [c.key[1] for c in changes])
    lots = [row for c in changes for row in c.lot_rows()]
    if lots:
        await conn.copy_records_to_table(
            "lots", records=lots,
            columns=["portfolio_id", "security_id", "transaction_id", "open_date", "arrival",
                     "quantity", "cost_local", "cost_base"])
    await conn.executemany(UPSERT_POSITION, [c.position_row() for c in changes])
    # The series recomputes from the earliest date a change rewrote; from the start when
    # the database missed some of the position's changes (a gap, e.g. a compacted changelog).
    marks: list[Mark] = []
    for c in changes:
        extends_stored = c.contiguous and stored.get(c.key, 0) == c.first_seq - 1
        since = date.fromisoformat(c.history_from) if extends_stored and c.history_from is not None else None
        marks.append((c.key[0], since, None))
    return marks
