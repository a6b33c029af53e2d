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

_INSERT = """
INSERT INTO stream_events (portfolio_id, kind, payload)
SELECT p, k, d FROM unnest($1::text[], $2::text[], $3::jsonb[]) WITH ORDINALITY AS r(p, k, d, n) ORDER BY n
"""
# Rows older than the retention go; the highest id removed is kept, so the API
# can tell a resume from before it that events are gone.
_PRUNE = """
WITH kept AS (SELECT coalesce((SELECT id FROM stream_events WHERE at >= now() - make_interval(secs => $1)
                               ORDER BY id LIMIT 1), (SELECT max(id) + 1 FROM stream_events)) AS first),
     gone AS (DELETE FROM stream_events WHERE id < (SELECT first FROM kept) RETURNING id)
INSERT INTO stream_log (one, pruned_through) SELECT true, max(id) FROM gone HAVING count(*) > 0
ON CONFLICT (one) DO UPDATE SET pruned_through = greatest(stream_log.pruned_through, EXCLUDED.pruned_through)
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
    global _last_prune
    rows = events(batch, previous, changed_prices, changed_fx)
    if rows:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", STREAM_LOCK_ID)
        await conn.execute(_INSERT, *(list(column) for column in zip(*rows)))
        await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
    if time.monotonic() - _last_prune > PRUNE_EVERY:
        _last_prune = time.monotonic()
        await prune(conn, load_settings().stream_retention)


async def prune(conn: asyncpg.Connection, retention: float) -> None:
    """Remove the rows older than `retention` seconds and remember the highest id removed."""
    await conn.execute(_PRUNE, retention)
