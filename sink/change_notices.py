"""Change notices: what the API listens to before it answers from memory.

Migration 011 owns the rule (triggers on `portfolios`, `transactions`,
`daily_series` and `market_horizon` notify at commit); this module owns its
channel's name and payload for the Python side (api.db_answers).
"""
from __future__ import annotations

CHANNEL = "folio_changed"  # the same name is written in sink/migrations/011_change_notices.sql
EVERYTHING = ""  # the payload that names no portfolio: every portfolio's answers may have changed
# A listener's heartbeat: it notifies this channel through the connections its reads use and waits to
# hear it back, which proves notices from there reach it (not only that its own connection is up).
PROBE_CHANNEL = "folio_changed_probe"
# Migration 011's triggers, all enabled: a row and a truncate trigger on each of portfolios, transactions
# and daily_series, one on market_horizon.
TRIGGERS = 7
INSTALLED = ("SELECT count(*) FROM pg_trigger WHERE tgenabled = 'O'"
             " AND tgfoid IN (to_regproc('folio_notice_row'), to_regproc('folio_notice_everything'))")
