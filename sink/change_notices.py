"""Change notices: what the API listens to before it answers from memory.

Migrations 011 and 012 own the rule (triggers on `portfolios`, `transactions`,
`daily_series` and `market_horizon` notify at commit); this module owns its
channel's name and payload for the Python side (api.db_answers).
"""
from __future__ import annotations

CHANNEL = "folio_changed"  # the same name is written in sink/migrations/011_change_notices.sql
EVERYTHING = ""  # the payload that names no portfolio: every portfolio's answers may have changed
# A listener's heartbeat: it notifies this channel through the connections its reads use and waits to
# hear it back, which proves notices from there reach it (not only that its own connection is up).
PROBE_CHANNEL = "folio_changed_probe"
# Migrations 011 and 012's triggers, by name; the API trusts its notices only while all are there and
# enabled (ORIGIN or ALWAYS). Their rows' versions tell a trigger disabled and enabled again between checks.
TRIGGERS = ("portfolios_changed", "portfolios_truncated", "transactions_changed", "transactions_truncated",
            "daily_series_inserted", "daily_series_updated", "daily_series_deleted", "daily_series_truncated",
            "market_horizon_changed")
INSTALLED = ("SELECT count(DISTINCT tgname) = cardinality($1::text[]) AS complete,"
             " string_agg(oid::text || ':' || xmin::text || ':' || tgenabled::text, ',' ORDER BY oid) AS version"
             " FROM pg_trigger WHERE tgname = ANY($1::text[]) AND tgenabled IN ('O', 'A') AND NOT tgisinternal")
