"""Response models. Money and quantities are exact decimals written as JSON
strings (`Money`); returns and weights are JSON numbers."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from api.auth.api_keys import NAME_PATTERN
from api.auth.principal import Role
from api.numbers import decimal_text
from schemas.fields import Identifier

Money = Annotated[
    Decimal,
    PlainSerializer(decimal_text, return_type=str),
    WithJsonSchema({"type": "string", "format": "decimal", "examples": ["1234.5600"]}),
]
Source = Literal["live", "db"]
ValuationStatus = Literal["ok", "missing_price", "missing_fx"]


class Paginated(BaseModel):
    total: int
    limit: int
    offset: int


# --- ingest -----------------------------------------------------------------

class Accepted(BaseModel):
    accepted: int
    ids: list[dict[str, str | int]] = Field(
        description="each accepted item's identity, in request order (transactions: portfolio_id, "
                    "transaction_id, version)")
    tracked: bool | None = Field(
        None, description="transactions only: the ids were recorded, so their status reads `pending` "
                           "until applied (false when PostgreSQL could not be reached)")
    audited: bool = Field(
        description="the write is in the audit log (false when PostgreSQL could not take the row: it was "
                    "logged on `folio.audit` instead)")


class IngestProblem(BaseModel):
    item: int | None
    field: str | None
    reason: str
    message: str
    items: list[int] | None = Field(None, description="duplicate_id: the earlier item and this one")


class IngestRejection(BaseModel):
    detail: list[IngestProblem]


# --- portfolios -------------------------------------------------------------

class PortfolioOut(BaseModel):
    portfolio_id: str
    name: str
    base_currency: str
    cost_method: str
    open_date: date
    benchmark_id: str | None = None


class PortfolioList(Paginated):
    items: list[PortfolioOut]


# --- positions and lots -----------------------------------------------------

class PositionOut(BaseModel):
    security_id: str
    quantity: Money
    cost_local: Money
    cost_base: Money
    avg_cost_local: Money | None
    realized_local: Money
    realized_base: Money
    currency: str | None
    price: Money | None = None
    price_date: date | None = None
    fx: Money | None = None
    mv_local: Money | None
    mv_base: Money | None
    unrealized_local: Money | None
    unrealized_base: Money | None
    weight: float | None
    valuation_status: ValuationStatus


class PositionsOut(Paginated):
    portfolio_id: str
    as_of: date | None
    source: Source
    positions: list[PositionOut]


class LotOut(BaseModel):
    transaction_id: str
    open_date: date
    quantity: Money
    cost_local: Money
    cost_base: Money


class LotsOut(Paginated):
    portfolio_id: str
    security_id: str
    source: Source
    lots: list[LotOut]


class PositionHistoryRow(BaseModel):
    security_id: str
    date: date
    quantity: Money
    cost_local: Money
    cost_base: Money
    realized_local: Money
    realized_base: Money


class PositionHistoryOut(Paginated):
    portfolio_id: str
    items: list[PositionHistoryRow]


# --- transactions -----------------------------------------------------------

class TransactionOut(BaseModel):
    transaction_id: str
    portfolio_id: str
    version: int
    status: str
    type: str | None
    trade_date: date | None
    settlement_date: date | None
    security_id: str | None
    quantity: Money | None
    price: Money | None
    amount: Money | None
    fees: Money | None
    currency: str | None
    fx_rate: Money | None
    fx_rate_applied: Money | None
    arrival: int
    realized_local: Money
    realized_base: Money
    cash_effect: dict[str, Money]


class TransactionsOut(Paginated):
    portfolio_id: str
    items: list[TransactionOut]


class TransactionVersionOut(BaseModel):
    """One version of a transaction as the ledger put it in effect."""

    version: int
    status: str
    seen_at: datetime = Field(description="when the sink first stored this version")
    type: str | None
    trade_date: date | None
    security_id: str | None
    quantity: Money | None
    price: Money | None
    amount: Money | None
    fees: Money | None
    currency: str | None
    arrival: int


class TransactionLetterOut(BaseModel):
    source_topic: str
    partition: int
    offset: int
    reason: str
    field: str | None
    detail: str
    state: str
    attempts: int
    dead_lettered_at: datetime


TransactionStatus = Literal["booked", "cancelled", "dead_lettered", "pending"]


class TransactionStatusOut(BaseModel):
    portfolio_id: str
    transaction_id: str
    status: TransactionStatus = Field(description=(
        "pending: a version accepted by ingest is neither in effect nor dead-lettered yet; else booked or "
        "cancelled (the version in effect), else dead_lettered"))
    version: int | None = Field(description="the version in effect, if any")
    versions: list[TransactionVersionOut]
    dead_letters: list[TransactionLetterOut]
    pending_versions: list[int]


# --- cash -------------------------------------------------------------------

class CashBalanceOut(BaseModel):
    currency: str
    amount: Money
    amount_base: Money | None
    fx: Money | None = None
    valuation_status: ValuationStatus = "ok"


class CashOut(Paginated):
    portfolio_id: str
    as_of: date | None
    source: Source
    balances: list[CashBalanceOut]


# --- dead letters -----------------------------------------------------------

class DeadLetterOut(BaseModel):
    source_topic: str
    partition: int
    offset: int
    key: str | None
    raw_value: str
    reason: str
    field: str | None
    transaction_id: str | None
    detail: str
    dead_lettered_at: datetime
    # raw_value is the head of the value: "utf-8" text or "base64" bytes (see README, dead letters).
    raw_encoding: str
    raw_size: int | None
    raw_sha256: str | None
    raw_truncated: bool
    key_encoding: str
    state: str = Field(description="open, redriven, resolved or failed_again")
    attempts: int = Field(description="times its event was rejected (1 + failed redrives)")
    redrive_id: str | None
    redriven_at: datetime | None
    resolved_at: datetime | None
    last_failed_at: datetime | None


class DeadLettersOut(Paginated):
    by_reason: dict[str, int]
    by_state: dict[str, int]
    items: list[DeadLetterOut]


# --- health -----------------------------------------------------------------

class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str]


# --- valuation and analytics ------------------------------------------------

class ValuationOut(BaseModel):
    portfolio_id: str
    as_of: date | None
    source: Source
    base_currency: str
    complete: bool
    mv_base: Money | None
    cash_base: Money | None
    known_mv_base: Money
    known_cash_base: Money
    cost_base: Money
    unrealized_base: Money | None
    realized_base: Money
    income_base: Money
    total_base: Money | None


# --- the position stream (GET /portfolios/{id}/stream): each event's data -----

class StreamPositionOut(PositionOut):
    """`position`: the security's new ledger figures, valued at the latest quotes."""

    portfolio_id: str


class StreamCashOut(BaseModel):
    """`cash`: a currency's new balance."""

    portfolio_id: str
    currency: str
    balance: Money
    amount_base: Money | None
    fx: Money | None
    valuation_status: ValuationStatus


class StreamTransactionOut(BaseModel):
    """`transaction`: a version put in effect (booked, cancelled) or dead-lettered."""

    portfolio_id: str
    transaction_id: str
    version: int | None = Field(description="null: a dead letter whose version cannot be read")
    status: Literal["booked", "cancelled", "dead_lettered"]
    reason: str | None = Field(None, description="dead_lettered: the dead letter's reason")
    field: str | None = Field(None, description="dead_lettered: the field it names, if any")
    type: str | None = None
    trade_date: date | None = None
    security_id: str | None = None


class StreamResetOut(BaseModel):
    """`reset`: the events after `last_event_id` are no longer kept; reload over REST."""

    reason: str
    last_event_id: str


class SeriesPointOut(BaseModel):
    date: date
    mv: Money | None
    inflow: Money | None
    outflow: Money | None
    r: float | None


class TimeseriesOut(Paginated):
    portfolio_id: str
    base_currency: str
    items: list[SeriesPointOut]


class PerformanceOut(BaseModel):
    portfolio_id: str
    period: str | None
    from_: date | None = Field(alias="from", serialization_alias="from")
    to: date | None
    days: int | None
    twr: float | None
    twr_annualized: float | None
    mwr_annualized: float | None
    mwr_period: float | None

    model_config = ConfigDict(populate_by_name=True)


class ContributionRowOut(BaseModel):
    security_id: str
    start_mv_base: Money | None = Field(description="market value at the end of the day before `from`")
    end_mv_base: Money | None = Field(description="market value at the end of `to`")
    net_flows_base: Money = Field(description="into the position (+): BUY cost, transfers in; out (−): SELL "
                                              "proceeds, dividends, transfers out")
    gain_base: Money | None
    return_: float | None = Field(alias="return", serialization_alias="return",
                                  description="Modified Dietz return of the position")
    contribution: float | None = Field(description="gain over the portfolio's invested capital")

    model_config = ConfigDict(populate_by_name=True)


class ContributionOut(Paginated):
    portfolio_id: str
    base_currency: str
    period: str | None
    from_: date | None = Field(alias="from", serialization_alias="from")
    to: date | None
    start_value_base: Money | None
    end_value_base: Money | None
    external_flows_base: Money | None
    gain_base: Money | None
    return_: float | None = Field(alias="return", serialization_alias="return",
                                  description="the portfolio's Modified Dietz return: the contributions' sum")
    cash_gain_base: Money | None = Field(description="interest, fees and FX on balances: the rest of the gain")
    cash_contribution: float | None
    items: list[ContributionRowOut]

    model_config = ConfigDict(populate_by_name=True)


class RiskOut(BaseModel):
    portfolio_id: str
    period: str | None
    from_: date | None = Field(alias="from", serialization_alias="from")
    to: date | None
    benchmark: str | None
    risk_free: float
    confidence: float
    volatility: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float | None
    beta: float | None
    alpha: float | None
    tracking_error: float | None
    information_ratio: float | None
    var: float | None
    cvar: float | None

    model_config = ConfigDict(populate_by_name=True)


class BucketOut(BaseModel):
    name: str
    mv_base: Money
    weight: float | None


class AllocationOut(BaseModel):
    portfolio_id: str
    by: str
    as_of: date | None
    source: Source
    complete: bool
    buckets: list[BucketOut]


# --- admin: audit log, keys, redrive ------------------------------------------

class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="a key's name, a token's subject, `anonymous` (auth off) or `cli:<os user>`")
    auth_method: str = Field(description="api_key, jwt, none (auth off) or cli")
    role: str
    action: str = Field(description="ingest, dead_letters.redrive, keys.create or keys.revoke")
    endpoint: str = Field(description="method and path, or the CLI command")
    item_count: int
    ids: list[Any] = Field(description="the accepted ids as answered, the letters redriven, or the key's name")
    client: str | None = Field(description="the caller's address (the connection's peer)")
    detail: dict[str, Any] | None


class AuditOut(Paginated):
    items: list[AuditEntryOut]


RoleName = Literal[tuple(str(r) for r in Role)]  # type: ignore[valid-type]


class KeyOut(BaseModel):
    """A stored key: never the key, its salt or its hash."""

    name: str
    role: RoleName
    portfolios: list[str] | None = Field(description="the only portfolios the key may touch; null: all")
    created_at: str


class KeysOut(BaseModel):
    items: list[KeyOut]


class KeyCreate(BaseModel):
    name: str = Field(pattern=NAME_PATTERN, description="who the key is for; the audit log records it")
    role: RoleName
    portfolios: list[Identifier] | None = Field(
        None, min_length=1, description="the only portfolios the key may touch; absent or null: all")


class KeyCreated(KeyOut):
    key: str = Field(description="the key itself, shown this once (only its hash is stored)")
    audited: bool


class RedriveOut(BaseModel):
    redrive_id: str
    published: int = Field(description="letters re-published to their source topics")
    refused: list[str] = Field(description="one message per letter that could not be re-published")
    audited: bool

# --- reference data ----------------------------------------------------------

class InstrumentOut(BaseModel):
    security_id: str
    name: str
    currency: str
    isin: str | None = None
    asset_class: str | None = None
    sector: str | None = None
    country: str | None = None


class InstrumentsOut(Paginated):
    items: list[InstrumentOut]


class PriceOut(BaseModel):
    security_id: str
    price_date: date
    price: Money
    currency: str | None = Field(None, description="null: the instrument's currency")


class PricesOut(Paginated):
    items: list[PriceOut]


class FxRateOut(BaseModel):
    from_currency: str
    to_currency: str
    rate_date: date
    rate: Money = Field(description="1 from_currency = rate to_currency")


class FxRatesOut(Paginated):
    items: list[FxRateOut]


# --- income -------------------------------------------------------------------

class IncomeRowOut(BaseModel):
    year: int
    security_id: str | None = Field(description="null: interest not tied to a security")
    currency: str
    gross: Money
    fees: Money
    tax_withheld: Money = Field(description="TAX transactions naming the security")
    net: Money
    net_base: Money | None = Field(description="net at each transaction's booked FX rate; null if one has none")
    transactions: int


class IncomeOut(Paginated):
    portfolio_id: str
    base_currency: str
    items: list[IncomeRowOut]


class RealizedGainOut(BaseModel):
    transaction_id: str = Field(description="the closing trade")
    security_id: str
    lot_transaction_id: str | None = Field(description="the trade that opened the lot; null under AVCO (a pool)")
    open_date: date | None = Field(description="the lot's open date; null under AVCO")
    close_date: date
    holding_days: int | None
    quantity: Money = Field(description="units closed (positive, a covered short too)")
    proceeds_local: Money = Field(description="the trade's net proceeds for these units; a short: the short sale's")
    proceeds_base: Money
    cost_local: Money = Field(description="the lot's cost for these units; a short: the covering trade's")
    cost_base: Money
    gain_local: Money = Field(description="proceeds − cost; per closing trade the gains sum to its realized P&L")
    gain_base: Money


class RealizedGainsOut(Paginated):
    portfolio_id: str
    base_currency: str
    items: list[RealizedGainOut]
