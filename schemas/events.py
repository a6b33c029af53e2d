"""Pydantic models of the five input events and of a dead letter (SPEC §1, §4).

Models are frozen: a decoded event is a fact that may sit in several tables
and caches at once; derive changed copies with `model_copy(update=...)`.
Unknown fields are ignored. Field declaration order is the order in which
faults are reported (the first invalid field names the dead letter's field).
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from schemas.fields import (
    MISSING,
    Amount,
    Currency,
    Day,
    Fees,
    Identifier,
    OptionalIdentifier,
    OptionalText,
    Quantity,
    QuotedPrice,
    Rate,
    Text,
    TradePrice,
    Version,
)


class CostMethod(StrEnum):
    FIFO = "FIFO"
    LIFO = "LIFO"
    HIFO = "HIFO"
    AVCO = "AVCO"


class TxType(StrEnum):
    BUY = "BUY"
    SELL = "SELL"
    DIVIDEND = "DIVIDEND"
    INTEREST = "INTEREST"
    FEE = "FEE"
    TAX = "TAX"
    DEPOSIT = "DEPOSIT"
    WITHDRAWAL = "WITHDRAWAL"
    TRANSFER_IN = "TRANSFER_IN"
    TRANSFER_OUT = "TRANSFER_OUT"
    SPLIT = "SPLIT"


class TxStatus(StrEnum):
    BOOKED = "BOOKED"
    CANCELLED = "CANCELLED"


_T = TxType
NEEDS_SECURITY = frozenset({_T.BUY, _T.SELL, _T.DIVIDEND, _T.TRANSFER_IN, _T.TRANSFER_OUT, _T.SPLIT})
NEEDS_QUANTITY = frozenset({_T.BUY, _T.SELL, _T.TRANSFER_IN, _T.TRANSFER_OUT, _T.SPLIT})
NEEDS_PRICE = frozenset({_T.BUY, _T.SELL, _T.TRANSFER_IN})
NEEDS_AMOUNT = frozenset({_T.DIVIDEND, _T.INTEREST, _T.FEE, _T.TAX, _T.DEPOSIT, _T.WITHDRAWAL})
NEEDS_CURRENCY = frozenset(_T) - {_T.SPLIT}

_CONFIG = ConfigDict(extra="ignore", frozen=True)


class Portfolio(BaseModel):
    model_config = _CONFIG

    portfolio_id: Identifier
    name: Text
    base_currency: Currency
    cost_method: CostMethod = CostMethod.FIFO
    open_date: Day
    benchmark_id: OptionalIdentifier = None


class Instrument(BaseModel):
    model_config = _CONFIG

    security_id: Identifier
    name: Text
    currency: Currency
    isin: OptionalText = None
    asset_class: OptionalText = None
    sector: OptionalText = None
    country: OptionalText = None


class Price(BaseModel):
    model_config = _CONFIG

    security_id: Identifier
    price_date: Day
    price: QuotedPrice
    currency: Currency | None = None  # None: the instrument's currency


class FxRate(BaseModel):
    """1 `from_currency` = `rate` `to_currency` on `rate_date`."""

    model_config = _CONFIG

    from_currency: Currency
    to_currency: Currency
    rate_date: Day
    rate: Rate

    @field_validator("to_currency")
    @classmethod
    def _differs_from_from(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("from_currency"):
            raise PydanticCustomError("same_currency", "must differ from from_currency")
        return value

    @property
    def pair(self) -> str:
        """The message key: "FROM/TO"."""
        return f"{self.from_currency}/{self.to_currency}"


def _required(type_: TxType) -> PydanticCustomError:
    return PydanticCustomError("missing", "Field required for {type}", {"type": str(type_)})


# Conditionally required fields get `validate_default=True` so that their
# validator also runs when the key is absent.
_CHECK_DEFAULT = Field(default=None, validate_default=True)


class Transaction(BaseModel):
    """A transaction version.

    Declaration order is the fault-reporting order: transaction_id,
    portfolio_id, version, status, type, trade_date, then the rest. Type rules
    are field validators reading the already validated `status` and `type`
    (info.data), so a type-dependent fault is reported in field order like any
    other, and is skipped when `status` or `type` itself is invalid (that
    earlier fault is the one reported). A CANCELLED version needs only
    transaction_id, portfolio_id, an explicit version and status; fields it
    carries must still be well-formed.
    """

    model_config = _CONFIG

    transaction_id: Identifier
    portfolio_id: Identifier
    version: Version = 1
    status: TxStatus = TxStatus.BOOKED
    type: TxType | None = _CHECK_DEFAULT
    trade_date: Day | None = _CHECK_DEFAULT
    settlement_date: Day | None = None
    security_id: Identifier | None = _CHECK_DEFAULT
    quantity: Quantity | None = _CHECK_DEFAULT
    price: TradePrice | None = _CHECK_DEFAULT
    amount: Amount | None = _CHECK_DEFAULT
    fees: Fees = Decimal(0)
    currency: Currency | None = _CHECK_DEFAULT
    fx_rate: Rate | None = None

    @model_validator(mode="before")
    @classmethod
    def _cancellation_needs_explicit_version(cls, data: Any) -> Any:
        # `version` is checked before `status`, so mark it here and let the
        # version validator report it in its place in the fault order.
        if type(data) is dict and "version" not in data and data.get("status") == "CANCELLED":
            data = {**data, "version": MISSING}
        return data

    @field_validator("type", "trade_date")
    @classmethod
    def _required_when_booked(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.data.get("status") is TxStatus.BOOKED:
            raise PydanticCustomError("missing", "Field required")
        return value

    @field_validator("security_id", "price", "currency")
    @classmethod
    def _required_for_type(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            type_ = _rules_type(info)
            if type_ is not None and type_ in _REQUIRED_BY[info.field_name]:
                raise _required(type_)
        return value

    @field_validator("quantity", "amount")
    @classmethod
    def _positive_for_type(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        # Only where the type uses the field: e.g. a BUY may carry a signed
        # gross `amount` that nothing reads.
        type_ = _rules_type(info)
        if type_ is not None and type_ in _REQUIRED_BY[info.field_name]:
            if value is None:
                raise _required(type_)
            if value <= 0:
                raise PydanticCustomError("not_positive", "must be > 0 for {type}", {"type": str(type_)})
        return value


_REQUIRED_BY = {
    "security_id": NEEDS_SECURITY,
    "quantity": NEEDS_QUANTITY,
    "price": NEEDS_PRICE,
    "amount": NEEDS_AMOUNT,
    "currency": NEEDS_CURRENCY,
}


def _rules_type(info: ValidationInfo) -> TxType | None:
    """The type whose rules apply, or None: cancelled, or status/type invalid."""
    data = info.data
    if data.get("status") is not TxStatus.BOOKED:
        return None
    return data.get("type")


class DeadLetter(BaseModel):
    """A rejected message as published on `dead_letters` (key: the original key)."""

    model_config = _CONFIG

    source_topic: str
    partition: int | None
    offset: int | None
    key: str | None
    raw_value: str
    reason: str
    field: str | None
    transaction_id: str | None
    detail: str
    dead_lettered_at: datetime

    @classmethod
    def build(
        cls,
        rejection: Any,
        *,
        source_topic: str,
        partition: int | None,
        offset: int | None,
        key: str | bytes | None,
        raw: bytes | str,
        at: datetime | None = None,
    ) -> DeadLetter:
        """From a `schemas.decode.Rejection` (or anything with its four attributes)."""
        return cls(
            source_topic=source_topic,
            partition=partition,
            offset=offset,
            key=_text(key),
            raw_value=_text(raw),
            reason=rejection.reason,
            field=rejection.field,
            transaction_id=rejection.transaction_id,
            detail=rejection.detail,
            dead_lettered_at=at or datetime.now(timezone.utc),
        )


def _text(raw: bytes | str | None) -> str | None:
    # Bytes that are not UTF-8 are kept readable and lossless as \x escapes.
    if raw is None or type(raw) is str:
        return raw
    return bytes(raw).decode("utf-8", errors="backslashreplace")


__all__ = [
    "CostMethod",
    "TxType",
    "TxStatus",
    "Portfolio",
    "Instrument",
    "Price",
    "FxRate",
    "Transaction",
    "DeadLetter",
]
