"""Reads: SQL against the sink's PostgreSQL tables, and shaping of the worker's
live state. Every function returns plain rows (`api.queries.rows`)."""
