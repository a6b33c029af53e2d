"""Dead letters with a lifecycle: open → redriven → resolved, or failed_again (→ redriven …).

A letter's identity is its original source (topic, partition, offset).
`folio dlq redrive` records where each re-published record landed (the
producer's answer) in `dead_letter_redrives`; the sink traces outcomes back:
- a dead letter whose source is such a target updates the original letter
  (attempts + 1, `failed_again`, the latest reason) instead of adding one;
- a ledger row (portfolio and arrival offset), a portfolio definition (its
  `applied` offset) or a valid reference record at a target resolves the
  original letter;
- so does a redriven transaction the ledger ignores as a duplicate: a version
  of its id at least as high was applied before the target's offset, so its
  content is booked (only letters of events that decoded: the ledger's own
  reasons).
Each target's outcome is set once, so a sink batch delivered twice counts
nothing twice. A letter the sink stores only after its redrive and outcomes
(a sink behind on `dead_letters`) takes its state from them (`adopt_redrives`;
the reason stays the first one).

The redrive publishes before it can record its targets, so the sink may store
an outcome first. Both sides take LOCK_ID (transaction-scoped) before looking
at the other's rows, and `record_redrive` settles outcomes already stored:
neither can miss the other.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from schemas.decode import MISSING_FX_RATE, UNKNOWN_PORTFOLIO
from sink.rows import letter_transaction

LOCK_ID = 0x466F6C696F + 7  # beside sink.migrate.LOCK_ID
STATES = ("open", "redriven", "resolved", "failed_again")
TRANSACTIONS_TOPIC = "transactions"
PORTFOLIOS_TOPIC = "portfolios"
# Reasons the ledger gives an event that decoded: redriven, it is a duplicate
# once a version of its id at least as high is in effect.
_LEDGER_REASONS = [UNKNOWN_PORTFOLIO, MISSING_FX_RATE]
# Reference topics the sink keeps as rows with their source offset.
_REFERENCE_TABLES = {"instruments": "instruments", "prices": "prices", "fx_rates": "fx_rates"}

# (target_topic, target_partition, target_offset, target_key, source_topic, source_partition, source_offset)
Redriven = tuple[str, int, int, str | None, str, int, int]
# (topic, partition, offset, reason, field, detail, dead_lettered_at)
Failure = tuple[str, int, int, str, str | None, str, datetime]

_MAPPED = """
SELECT r.target_topic, r.target_partition, r.target_offset FROM dead_letter_redrives r
JOIN unnest($1::text[], $2::integer[], $3::bigint[]) AS k(t, p, o)
  ON r.target_topic = k.t AND r.target_partition = k.p AND r.target_offset = k.o
"""

_FAILED_AGAIN = """
WITH failed AS (
  UPDATE dead_letter_redrives r SET outcome = 'failed', outcome_at = now()
  FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
       AS k(t, p, o, reason, field, detail, at)
  WHERE r.target_topic = k.t AND r.target_partition = k.p AND r.target_offset = k.o AND r.outcome IS NULL
  RETURNING r.source_topic, r.source_partition, r.source_offset, k.reason, k.field, k.detail, k.at)
UPDATE dead_letters d SET attempts = d.attempts + 1, state = 'failed_again', reason = f.reason,
  field = f.field, detail = f.detail, last_failed_at = f.at
FROM failed f
WHERE d.source_topic = f.source_topic AND d.source_partition = f.source_partition
  AND d.source_offset = f.source_offset
"""

_RESOLVE = """
UPDATE dead_letters d SET state = 'resolved', resolved_at = now()
FROM applied a
WHERE d.source_topic = a.source_topic AND d.source_partition = a.source_partition
  AND d.source_offset = a.source_offset AND d.state <> 'resolved'
"""

_APPLIED_AT_SOURCES = """
WITH applied AS (
  UPDATE dead_letter_redrives r SET outcome = 'applied', outcome_at = now()
  FROM unnest($1::text[], $2::integer[], $3::bigint[]) AS k(t, p, o)
  WHERE r.target_topic = k.t AND r.target_partition = k.p AND r.target_offset = k.o AND r.outcome IS NULL
  RETURNING r.source_topic, r.source_partition, r.source_offset)
""" + _RESOLVE

# A ledger row or portfolio definition knows its portfolio (the record's key) and
# source offset, not its partition.
_APPLIED_BY_KEY = """
WITH applied AS (
  UPDATE dead_letter_redrives r SET outcome = 'applied', outcome_at = now()
  FROM unnest($1::text[], $2::text[], $3::bigint[]) AS k(t, key, o)
  WHERE r.target_topic = k.t AND r.target_key = k.key AND r.target_offset = k.o
    AND r.outcome IS NULL
  RETURNING r.source_topic, r.source_partition, r.source_offset)
""" + _RESOLVE


async def lock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_ID)


async def settle_letters(conn: asyncpg.Connection, letters: Sequence[tuple]) -> list[tuple]:
    """Dead-letter rows (sink.rows.dead_letter_row) of one batch → those still to insert.

    A letter of a redriven record updates its original letter instead. Call
    under `lock`, inside the batch's transaction.
    """
    if not letters:
        return []
    mapped = {tuple(r) for r in await conn.fetch(
        _MAPPED, [r[0] for r in letters], [r[1] for r in letters], [r[2] for r in letters])}
    if not mapped:
        return list(letters)
    await fail_again(conn, [(r[0], r[1], r[2], r[5], r[6], r[8], r[9]) for r in letters if r[:3] in mapped])
    return [r for r in letters if r[:3] not in mapped]


# Letters just stored (state open, one attempt) whose source was already redriven.
_ADOPT = """
UPDATE dead_letters d SET
  state = CASE WHEN x.applied THEN 'resolved' WHEN x.failed > 0 THEN 'failed_again' ELSE 'redriven' END,
  attempts = 1 + x.failed, redrive_id = x.redrive_id, redriven_at = x.redriven_at,
  resolved_at = CASE WHEN x.applied THEN now() END
FROM (
  SELECT r.source_topic, r.source_partition, r.source_offset, bool_or(r.outcome = 'applied') AS applied,
         count(*) FILTER (WHERE r.outcome = 'failed') AS failed, max(r.redrive_id) AS redrive_id,
         max(r.redriven_at) AS redriven_at
  FROM dead_letter_redrives r
  JOIN unnest($1::text[], $2::integer[], $3::bigint[]) AS k(t, p, o)
    ON r.source_topic = k.t AND r.source_partition = k.p AND r.source_offset = k.o
  GROUP BY 1, 2, 3) x
WHERE d.source_topic = x.source_topic AND d.source_partition = x.source_partition
  AND d.source_offset = x.source_offset AND d.state = 'open' AND d.attempts = 1
"""


async def adopt_redrives(conn: asyncpg.Connection, stored: Sequence[tuple]) -> None:
    """Letters just stored (dead-letter rows) take the state of redrives recorded before them."""
    if stored:
        await conn.execute(_ADOPT, [r[0] for r in stored], [r[1] for r in stored], [r[2] for r in stored])


async def fail_again(conn: asyncpg.Connection, failures: Sequence[Failure]) -> None:
    if failures:
        await conn.execute(_FAILED_AGAIN, *(list(column) for column in zip(*failures)))


async def resolve_applied(conn: asyncpg.Connection, keyed: Sequence[tuple[str, str, int]],
                          sources: Sequence[tuple[str, int, int]]) -> None:
    """Resolve letters whose redriven record was applied: `keyed` (topic,
    portfolio_id, source offset) of ledger rows and portfolio definitions,
    `sources` (topic, partition, offset) of valid reference records. Call under `lock`."""
    if not (keyed or sources):
        return
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM dead_letter_redrives WHERE outcome IS NULL)"):
        return
    if keyed:
        await conn.execute(_APPLIED_BY_KEY, *(list(column) for column in zip(*keyed)))
    if sources:
        await conn.execute(_APPLIED_AT_SOURCES, *(list(column) for column in zip(*sources)))


# Pending transaction targets whose letter the ledger wrote: the letter's
# columns in `dead_letter_row` order (for `letter_transaction`), then the target's.
_PENDING_LEDGER_LETTERS = """
SELECT d.source_topic, d.source_partition, d.source_offset, d.key, d.raw_value, d.reason, d.field,
       d.transaction_id, d.detail, d.dead_lettered_at, d.raw_encoding, d.raw_size, d.raw_sha256,
       d.raw_truncated, d.key_encoding, r.target_partition, r.target_offset
FROM dead_letter_redrives r JOIN dead_letters d
  ON d.source_topic = r.source_topic AND d.source_partition = r.source_partition
  AND d.source_offset = r.source_offset
WHERE r.outcome IS NULL AND r.target_topic = 'transactions' AND d.reason = ANY($1::text[])
"""

# Applied before the target's offset on the same partition (same key): the
# ledger found it in effect when the target came, and ignored the target.
_ALREADY_BOOKED = """
SELECT k.tp, k.tof FROM unnest($1::text[], $2::text[], $3::integer[], $4::integer[], $5::bigint[])
  AS k(key, tid, v, tp, tof)
WHERE EXISTS (SELECT 1 FROM transaction_versions tv WHERE tv.portfolio_id = k.key
  AND tv.transaction_id = k.tid AND tv.version >= k.v AND tv.arrival < k.tof)
"""


async def resolve_duplicates(conn: asyncpg.Connection) -> None:
    """Resolve letters whose redriven transaction the ledger ignored as a duplicate. Call under `lock`."""
    named = []
    for row in await conn.fetch(_PENDING_LEDGER_LETTERS, _LEDGER_REASONS):
        letter = letter_transaction(tuple(row)[:15])
        if letter is not None and letter[2] is not None:
            named.append((*letter, row["target_partition"], row["target_offset"]))
    if not named:
        return
    booked = await conn.fetch(_ALREADY_BOOKED, *(list(column) for column in zip(*named)))
    if booked:
        await conn.execute(_APPLIED_AT_SOURCES, [TRANSACTIONS_TOPIC] * len(booked),
                           [b["tp"] for b in booked], [b["tof"] for b in booked])


_RECORD = """
INSERT INTO dead_letter_redrives (target_topic, target_partition, target_offset, target_key,
  source_topic, source_partition, source_offset, redrive_id, redriven_at)
SELECT k.tt, k.tp, k.tof, k.tk, coalesce(prev.source_topic, k.st), coalesce(prev.source_partition, k.sp),
       coalesce(prev.source_offset, k.so), $8, $9
FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::text[], $5::text[], $6::integer[], $7::bigint[])
     AS k(tt, tp, tof, tk, st, sp, so)
LEFT JOIN dead_letter_redrives prev
  ON prev.target_topic = k.st AND prev.target_partition = k.sp AND prev.target_offset = k.so
ON CONFLICT DO NOTHING
"""

_MARK_REDRIVEN = """
UPDATE dead_letters d SET state = 'redriven', redrive_id = r.redrive_id, redriven_at = r.redriven_at
FROM dead_letter_redrives r
WHERE r.redrive_id = $1 AND r.outcome IS NULL AND d.source_topic = r.source_topic
  AND d.source_partition = r.source_partition AND d.source_offset = r.source_offset
"""

# Letters already stored for a target (the sink was faster than this record).
_EARLY_FAILURES = """
SELECT d.source_topic, d.source_partition, d.source_offset, d.reason, d.field, d.detail, d.dead_lettered_at
FROM dead_letters d JOIN dead_letter_redrives r
  ON d.source_topic = r.target_topic AND d.source_partition = r.target_partition
  AND d.source_offset = r.target_offset
WHERE r.redrive_id = $1
"""

_EARLY_KEYED = """
SELECT r.target_topic, t.portfolio_id, t.arrival FROM transactions t JOIN dead_letter_redrives r
  ON r.target_topic = 'transactions' AND t.portfolio_id = r.target_key AND t.arrival = r.target_offset
WHERE r.redrive_id = $1
UNION ALL
SELECT r.target_topic, p.portfolio_id, p.applied FROM portfolios p JOIN dead_letter_redrives r
  ON r.target_topic = 'portfolios' AND p.portfolio_id = r.target_key AND p.applied = r.target_offset
WHERE r.redrive_id = $1
"""

_EARLY_REFERENCE = """
SELECT r.target_topic, r.target_partition, r.target_offset FROM dead_letter_redrives r
JOIN {table} x ON x.src_partition = r.target_partition AND x.src_offset = r.target_offset
WHERE r.redrive_id = $1 AND r.target_topic = $2
"""


async def record_redrive(conn: asyncpg.Connection, redrive_id: str, at: datetime,
                         redriven: Sequence[Redriven]) -> None:
    """Record one redrive run: where each letter's record went, letters → `redriven`,
    and any outcome the sink already stored for those records."""
    if not redriven:
        return
    async with conn.transaction():
        await lock(conn)
        await conn.execute(_RECORD, *(list(column) for column in zip(*redriven)), redrive_id, at)
        await conn.execute(_MARK_REDRIVEN, redrive_id)
        early = [tuple(r) for r in await conn.fetch(_EARLY_FAILURES, redrive_id)]
        await fail_again(conn, early)
        if early:
            await conn.execute(
                "DELETE FROM dead_letters d USING unnest($1::text[], $2::integer[], $3::bigint[]) AS k(t, p, o)"
                " WHERE d.source_topic = k.t AND d.source_partition = k.p AND d.source_offset = k.o",
                [e[0] for e in early], [e[1] for e in early], [e[2] for e in early])
        keyed = [tuple(r) for r in await conn.fetch(_EARLY_KEYED, redrive_id)]
        sources = [tuple(r) for topic, table in _REFERENCE_TABLES.items()
                   for r in await conn.fetch(_EARLY_REFERENCE.format(table=table), redrive_id, topic)]
        await resolve_applied(conn, keyed, sources)
        await resolve_duplicates(conn)
