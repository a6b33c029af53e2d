"""Pydantic models of the five input events and of a dead letter (SPEC §1, §4).

Models are frozen: a decoded event is a fact that may sit in several tables
and caches at once; derive changed copies with `model_copy(update=...)`.
Unknown fields are ignored. Field declaration order is the order in which
faults are reported (the first invalid field names the dead letter's field).
"""

from __future__ import annotations

import base64
import codecs
import hashlib
from datetime import datetime, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

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
    to_amount,
    to_event_date,
    to_price,
    to_quantity,
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

    # Each field's own check and its type rule run in one validator (mode
    # "plain" calls the field's converter itself): a call into Python per
    # field is most of a transaction's decoding time.
    @field_validator("type")
    @classmethod
    def _required_when_booked(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.data.get("status") is TxStatus.BOOKED:
            raise PydanticCustomError("missing", "Field required")
        return value

    @field_validator("trade_date", mode="plain", json_schema_input_type=str | None)
    @classmethod
    def _trade_date(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None:
            return to_event_date(value)
        if info.data.get("status") is TxStatus.BOOKED:
            raise PydanticCustomError("missing", "Field required")
        return None

    @field_validator("security_id", "currency")
    @classmethod
    def _required_for_type(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            data = info.data
            type_ = data.get("type") if data.get("status") is TxStatus.BOOKED else None
            if type_ is not None and type_ in _REQUIRED_BY[info.field_name]:
                raise _required(type_)
        return value

    @field_validator("price", mode="plain", json_schema_input_type=str | int | None)
    @classmethod
    def _price(cls, value: Any, info: ValidationInfo) -> Decimal | None:
        if value is not None:
            return to_price(value)
        data = info.data
        if data.get("status") is TxStatus.BOOKED and data.get("type") in NEEDS_PRICE:
            raise _required(data["type"])
        return None

    @field_validator("quantity", "amount", mode="plain", json_schema_input_type=str | int | None)
    @classmethod
    def _positive_for_type(cls, value: Any, info: ValidationInfo) -> Decimal | None:
        name = info.field_name
        if value is not None:
            value = _CONVERT[name](value)
        # The type rule applies only where the type uses the field: e.g. a BUY
        # may carry a signed gross `amount` that nothing reads.
        data = info.data
        if data.get("status") is not TxStatus.BOOKED:
            return value
        type_ = data.get("type")
        if type_ is not None and type_ in _REQUIRED_BY[name]:
            if value is None:
                raise _required(type_)
            if value <= 0:
                raise PydanticCustomError("not_positive", "must be > 0 for {type}", {"type": str(type_)})
        return value


_CONVERT = {"quantity": to_quantity, "amount": to_amount}
_REQUIRED_BY = {
    "security_id": NEEDS_SECURITY,
    "quantity": NEEDS_QUANTITY,
    "price": NEEDS_PRICE,
    "amount": NEEDS_AMOUNT,
    "currency": NEEDS_CURRENCY,
}


# A dead letter must fit any broker's message limit (Kafka's default is
# 1 MiB) whatever it rejects: it keeps the raw value's first RAW_HEAD_BYTES
# with the full size and sha256, and bounds every other free-text field.
RAW_HEAD_BYTES = 4096
KEY_HEAD_BYTES = 1024
DETAIL_MAX_CHARS = 2000
ID_MAX_CHARS = 256
TEXT = "utf-8"
BASE64 = "base64"


class DeadLetter(BaseModel):
    """A rejected message as published on `dead_letters` (key: the original key).

    `raw_value` is the head of the message value: its text when the head is
    UTF-8 without NUL (`raw_encoding` "utf-8"), otherwise the head's bytes in
    base64 (`raw_encoding` "base64"), so any value is kept exactly and fits a
    PostgreSQL text column. `raw_size` and `raw_sha256` describe the whole
    value; `raw_truncated` says the head is not all of it. `key` follows the
    same rule (`key_encoding`). Letters written before these fields existed
    decode with their defaults (raw_size and raw_sha256 unknown).
    """

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
    raw_encoding: Literal["utf-8", "base64"] = TEXT
    raw_size: int | None = None
    raw_sha256: str | None = None
    raw_truncated: bool = False
    key_encoding: Literal["utf-8", "base64"] = TEXT

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        # Letters from older code or other producers may hold NUL or be huge:
        # any decoded letter fits a PostgreSQL row and the broker, like a built one.
        if type(data) is not dict:
            return data
        data = dict(data)
        for name, encoding, limit in (("raw_value", "raw_encoding", RAW_HEAD_BYTES),
                                      ("key", "key_encoding", KEY_HEAD_BYTES)):
            value = data.get(name)
            if type(value) is str and data.get(encoding, TEXT) == TEXT and (
                    "\x00" in value or len(value) > limit):
                raw = _bytes(value)
                data[name], data[encoding], cut = _head(raw, limit)
                if name == "raw_value":
                    data["raw_truncated"] = bool(data.get("raw_truncated")) or cut
        for name, limit in (("source_topic", ID_MAX_CHARS), ("reason", ID_MAX_CHARS), ("field", ID_MAX_CHARS),
                            ("transaction_id", ID_MAX_CHARS), ("detail", DETAIL_MAX_CHARS)):
            if type(data.get(name)) is str:
                data[name] = _shown(data[name], limit)
        return data

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
        raw_bytes = _bytes(raw)
        raw_head, raw_encoding, truncated = _head(raw_bytes, RAW_HEAD_BYTES)
        key_head, key_encoding = None, TEXT
        if key is not None:
            key_head, key_encoding, _ = _head(_bytes(key), KEY_HEAD_BYTES)
        return cls(
            source_topic=_shown(source_topic, ID_MAX_CHARS),
            partition=partition,
            offset=offset,
            key=key_head,
            key_encoding=key_encoding,
            raw_value=raw_head,
            raw_encoding=raw_encoding,
            raw_size=len(raw_bytes),
            raw_sha256=hashlib.sha256(raw_bytes).hexdigest(),
            raw_truncated=truncated,
            reason=_shown(rejection.reason, ID_MAX_CHARS),
            field=_shown(rejection.field, ID_MAX_CHARS),
            transaction_id=_shown(rejection.transaction_id, ID_MAX_CHARS),
            detail=_shown(rejection.detail, DETAIL_MAX_CHARS),
            dead_lettered_at=at or datetime.now(timezone.utc),
        )

    def raw_head_bytes(self) -> bytes:
        """The kept head of the raw value, as the bytes that were sent."""
        return letter_bytes(self.raw_value, self.raw_encoding)

    def key_bytes(self) -> bytes | None:
        return None if self.key is None else letter_bytes(self.key, self.key_encoding)


def _bytes(raw: bytes | str) -> bytes:
    return raw.encode("utf-8", "surrogatepass") if type(raw) is str else bytes(raw)


def _head(raw: bytes, limit: int) -> tuple[str, str, bool]:
    """(text, encoding, truncated): the first `limit` bytes, as text when that is exact."""
    head = raw[:limit]
    try:
        # A cut through a multi-byte character drops its partial bytes.
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) == len(raw))
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        return text, TEXT, len(text.encode()) < len(raw)
    return base64.b64encode(head).decode("ascii"), BASE64, len(head) < len(raw)


def letter_bytes(value: str, encoding: str | None) -> bytes:
    """The bytes a letter's raw_value or key stands for, given its encoding field."""
    return base64.b64decode(value) if encoding == BASE64 else value.encode("utf-8")


def _shown(text: str | None, limit: int) -> str | None:
    """Free text for people, bounded; NUL (PostgreSQL text cannot hold it) and
    lone surrogates (not Unicode) are written as backslash escapes."""
    if text is None:
        return None
    text = text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
