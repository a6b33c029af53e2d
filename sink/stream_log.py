"""The position stream's event log: one `stream_events` row per change a sink batch writes.

Appended inside the batch's own transaction (sink.writer), so an event exists
exactly when its rows do; `pg_notify('folio_stream')` wakes the API processes
at commit (api.stream). Rows carry the ledger's own figures (decimals as
strings); the API values them. Order within a batch: transactions, then
dead-lettered transactions, positions, cash, prices, FX rates.

A transaction-scoped advisory lock serializes appenders, so ids become
visible in increasing order even if several sinks ever ran: a reader that
saw id n never later finds a new row below n.

At-least-once, like the sink: a changelog record re-delivered after a sink
crash appends its event again (same figures, a new id).

Pruning (rows older than FOLIO_STREAM_RETENTION) is not part of a batch's
transaction: a minute of rows at full throughput, or a day's after a
restart, would be one large DELETE holding up the write and its locks. The
sink calls `prune_if_due` after a batch commits; it deletes at most
PRUNE_ROWS rows per statement, each its own transaction, and at most
PRUNE_ROUNDS statements per call, so catching up is spread over batches.
"""
from __future__ import annotations

import time
from decimal import Decimal

import asyncpg
import orjson

from folio.config import load_settings
from sink.rows import Batch, letter_transaction

NOTIFY_CHANNEL = "folio_stream"
STREAM_LOCK_ID = 0x466F6C696F5353  # "FolioSS"
PRUNE_EVERY = 60.0  # seconds between prunes of rows older than the retention
PRUNE_ROWS = 5000  # rows one pruning statement deletes at most
PRUNE_ROUNDS = 10  # pruning statements per call at most; the rest waits for the next batch

_INSERT = """
INSERT INTO stream_events (portfolio_id, kind, payload)
SELECT p, k, d FROM unnest($1::text[], $2::text[], $3::jsonb[]) WITH ORDINALITY AS r(p, k, d, n) ORDER BY n
"""
# The first row to keep: the oldest within the retention, else the one after the newest.
_FIRST_KEPT = """
SELECT coalesce((SELECT id FROM stream_events WHERE at >= now() - make_interval(secs => $1) ORDER BY id LIMIT 1),
                (SELECT max(id) + 1 FROM stream_events))
"""
# The oldest rows below it, at most $3 of them; the highest id removed is kept, so the
# API can tell a resume from before it that events are gone.
_PRUNE = """
WITH gone AS (DELETE FROM stream_events WHERE id IN (
                SELECT id FROM stream_events WHERE id >= $1 AND id < $2 ORDER BY id LIMIT $3) RETURNING id),
     noted AS (INSERT INTO stream_log (one, pruned_through) SELECT true, max(id) FROM gone HAVING count(*) > 0
               ON CONFLICT (one) DO UPDATE
               SET pruned_through = greatest(stream_log.pruned_through, EXCLUDED.pruned_through))
SELECT count(*) AS removed, max(id) AS through FROM gone
"""
_last_prune = 0.0


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def events(batch: Batch, previous: dict[tuple[str, str], tuple], changed_prices: list[tuple],
           changed_fx: list[tuple]) -> list[tuple[str | None, str, str]]:
    """(portfolio_id or None, kind, payload JSON) for each change of the batch, in stream order.

    `previous`: (trade_date, seq) of each transaction stored before the batch
    (sink.marks.previous_transactions); a version at or below it was already
    told (a ledger state repeats the versions it superseded).
    """
    out: list[tuple[str | None, str, dict]] = []
    for pid, tid, version, status, type_, trade_date, security_id, *_, seq in batch.transaction_versions.values():
        if seq <= previous.get((pid, tid), (None, 0))[1]:
            continue
        out.append((pid, "transaction", {"transaction_id": tid, "version": version, "status": status.lower(),
                                         "type": type_, "trade_date": trade_date, "security_id": security_id}))
    for row in batch.dead_letters.values():
        named = letter_transaction(row)
        if named is not None:
            out.append((named[0], "transaction", {"transaction_id": named[1], "version": named[2],
                                                  "status": "dead_lettered", "reason": row[5], "field": row[6]}))
    for change in batch.positions.values():
        pid, sid, currency, qty, cost_l, cost_b, real_l, real_b, listed, _seq = change.position_row()
        out.append((pid, "position", {"security_id": sid, "currency": currency, "quantity": qty,
                                      "cost_local": cost_l, "cost_base": cost_b, "realized_local": real_l,
                                      "realized_base": real_b, "listed": listed}))
    for pid, currency, balance, movers, _seq in batch.cash.values():
        out.append((pid, "cash", {"currency": currency, "balance": balance, "listed": movers > 0}))
    out += [(None, "price", {"security_id": sid, "price_date": day}) for sid, day in changed_prices]
    out += [(None, "fx", {"from_currency": f, "to_currency": t, "rate_date": day}) for f, t, day in changed_fx]
    return [(pid, kind, orjson.dumps(data, default=_text).decode()) for pid, kind, data in out]


async def append(conn: asyncpg.Connection, batch: Batch, previous: dict[tuple[str, str], tuple],
                 changed_prices: list[tuple], changed_fx: list[tuple]) -> None:
    """Append the batch's events and notify the listeners at commit. Call inside the batch's transaction."""
    rows = events(batch, previous, changed_prices, changed_fx)
    if rows:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", STREAM_LOCK_ID)
        await conn.execute(_INSERT, *(list(column) for column in zip(*rows)))
        await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)


async def prune_if_due(conn: asyncpg.Connection) -> None:
    """Prune when PRUNE_EVERY has passed since the last complete prune. Call outside any transaction."""
    global _last_prune
    if time.monotonic() - _last_prune > PRUNE_EVERY and await prune(conn, load_settings().stream_retention):
        _last_prune = time.monotonic()  # else rows remain: go on at the next batch


async def prune(conn: asyncpg.Connection, retention: float, rows: int = PRUNE_ROWS,
                rounds: int = PRUNE_ROUNDS) -> bool:
    """Remove rows older than `retention` seconds, oldest first, `rows` per statement (each its own
    transaction outside one) and `rounds` statements at most; remember the highest id removed.
    True when no row older than the retention is left."""
    first_kept = await conn.fetchval(_FIRST_KEPT, retention)
    if first_kept is None:  # an empty log
        return True
    low = 0
    for _ in range(rounds):
        result = await conn.fetchrow(_PRUNE, low, first_kept, rows)
        if result["removed"] < rows:
            return True
        low = result["through"] + 1
    return False
