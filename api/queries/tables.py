"""The sink's tables (sink/migrations/*.sql) as SQLAlchemy Core tables: the
columns the API reads. The sink owns the schema; this only mirrors it."""
from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()


def _num(name: str, nullable: bool = False) -> Column:
    return Column(name, Numeric(asdecimal=True), nullable=nullable)


portfolios = Table(
    "portfolios", metadata,
    Column("portfolio_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("base_currency", Text, nullable=False),
    Column("cost_method", Text, nullable=False),
    Column("open_date", Date, nullable=False),
    Column("benchmark_id", Text),
)

positions = Table(
    "positions", metadata,
    Column("portfolio_id", Text, primary_key=True),
    Column("security_id", Text, primary_key=True),
    Column("currency", Text),
    _num("quantity"), _num("cost_local"), _num("cost_base"),
    _num("realized_local"), _num("realized_base"),
    Column("listed", Boolean, nullable=False),
)

cash_balances = Table(
    "cash_balances", metadata,
    Column("portfolio_id", Text, primary_key=True),
    Column("currency", Text, primary_key=True),
    _num("balance"),
    Column("movers", Integer, nullable=False),
)

lots = Table(
    "lots", metadata,
    Column("portfolio_id", Text, primary_key=True),
    Column("security_id", Text, primary_key=True),
    Column("transaction_id", Text, primary_key=True),
    Column("open_date", Date, nullable=False),
    Column("arrival", BigInteger, nullable=False),
    _num("quantity"), _num("cost_local"), _num("cost_base"),
)

position_history = Table(
    "position_history", metadata,
    Column("portfolio_id", Text, primary_key=True),
    Column("security_id", Text, primary_key=True),
    Column("date", Date, primary_key=True),
    _num("quantity"), _num("cost_local"), _num("cost_base"),
    _num("realized_local"), _num("realized_base"),
)

transactions = Table(
    "transactions", metadata,
    Column("portfolio_id", Text, primary_key=True),
    Column("transaction_id", Text, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("type", Text),
    Column("trade_date", Date),
    Column("settlement_date", Date),
    Column("security_id", Text),
    _num("quantity", True), _num("price", True), _num("amount", True), _num("fees", True),
    Column("currency", Text),
    _num("fx_rate", True), _num("fx_applied", True),
    Column("arrival", BigInteger, nullable=False),
    _num("realized_local"), _num("realized_base"),
    Column("cash_effect", JSONB, nullable=False),
)

realized_lots = Table(
    "realized_lots", metadata,
    Column("portfolio_id", Text, primary_key=True),
    Column("transaction_id", Text, primary_key=True),
    Column("item", Integer, primary_key=True),
    Column("security_id", Text, nullable=False),
    Column("lot_transaction_id", Text),
    Column("open_date", Date),
    Column("close_date", Date, nullable=False),
    _num("quantity"), _num("proceeds_local"), _num("proceeds_base"), _num("cost_local"), _num("cost_base"),
    _num("gain_local"), _num("gain_base"),
)

dead_letters = Table(
    "dead_letters", metadata,
    Column("source_topic", Text, primary_key=True),
    Column("source_partition", Integer, primary_key=True),
    Column("source_offset", BigInteger, primary_key=True),
    Column("key", Text),
    Column("raw_value", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("field", Text),
    Column("transaction_id", Text),
    Column("detail", Text, nullable=False),
    Column("dead_lettered_at", DateTime(timezone=True), nullable=False),
    Column("raw_encoding", Text, nullable=False),
    Column("raw_size", BigInteger),
    Column("raw_sha256", Text),
    Column("raw_truncated", Boolean, nullable=False),
    Column("key_encoding", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("redrive_id", Text),
    Column("redriven_at", DateTime(timezone=True)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("last_failed_at", DateTime(timezone=True)),
)

transaction_versions = Table(
    "transaction_versions", metadata,
    Column("portfolio_id", Text, primary_key=True),
    Column("transaction_id", Text, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("status", Text, nullable=False),
    Column("type", Text),
    Column("trade_date", Date),
    Column("security_id", Text),
    _num("quantity", True), _num("price", True), _num("amount", True), _num("fees", True),
    Column("currency", Text),
    Column("arrival", BigInteger, nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
)

ingest_receipts = Table(
    "ingest_receipts", metadata,
    Column("portfolio_id", Text, primary_key=True),
    Column("transaction_id", Text, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

instruments = Table(
    "instruments", metadata,
    Column("security_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("isin", Text),
    Column("asset_class", Text), Column("sector", Text), Column("country", Text),
)

prices = Table(
    "prices", metadata,
    Column("security_id", Text, primary_key=True),
    Column("price_date", Date, primary_key=True),
    _num("price"),
    Column("currency", Text),
)

fx_rates = Table(
    "fx_rates", metadata,
    Column("from_currency", Text, primary_key=True),
    Column("to_currency", Text, primary_key=True),
    Column("rate_date", Date, primary_key=True),
    _num("rate"),
)

daily_series = Table(
    "daily_series", metadata,
    Column("portfolio_id", Text, primary_key=True),
    Column("date", Date, primary_key=True),
    _num("mv", True), _num("inflow", True), _num("outflow", True),
)

# The latest price or FX date. A portfolio's own horizon (this, or its latest
# booked trade date if later) is the SQL function portfolio_horizon(id),
# migration 004.
market_horizon = Table(
    "market_horizon", metadata,
    Column("singleton", Boolean, primary_key=True),
    Column("horizon", Date, nullable=False),
)

stage_starts = Table(
    "stage_starts", metadata,
    Column("stage", Text, nullable=False),
    Column("instance", Text, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
)

stage_heartbeats = Table(
    "stage_heartbeats", metadata,
    Column("stage", Text, primary_key=True),
    Column("instance", Text, primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("beat_at", DateTime(timezone=True), nullable=False),
    Column("counters", JSONB, nullable=False),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("auth_method", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("endpoint", Text, nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("ids", JSONB, nullable=False),
    Column("client", Text),
    Column("detail", JSONB),
)
