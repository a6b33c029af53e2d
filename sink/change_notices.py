"""Change notices: what the API listens to before it answers from memory.

Migration 011 owns the rule (triggers on `portfolios`, `transactions`,
`daily_series` and `market_horizon` notify at commit); this module owns its
channel's name and payload for the Python side (api.db_changes).
"""
from __future__ import annotations

CHANNEL = "folio_changed"  # the same name is written in sink/migrations/011_change_notices.sql
EVERYTHING = ""  # the payload that names no portfolio: every portfolio's answers may have changed
