"""Hot-path decoding of a Kafka message into an event or a Rejection (SPEC §4).

The first fault decides the reason, in this order: invalid_json (not UTF-8
JSON), invalid_event (not an object, or a field fails: the first failing field
in the model's declaration order is named), key_mismatch (the message key is
not the event's id). A message without a key is a key_mismatch: unkeyed
messages are spread over partitions, which breaks "one portfolio, one
partition". unknown_portfolio and missing_fx_rate need state and are decided
by the stream processors, not here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from typing import Callable

from pydantic import BaseModel, ValidationError

from schemas.events import FxRate, Instrument, Portfolio, Price, Transaction
from schemas.fields import unstorable

INVALID_JSON = "invalid_json"
INVALID_EVENT = "invalid_event"
KEY_MISMATCH = "key_mismatch"
UNKNOWN_PORTFOLIO = "unknown_portfolio"
MISSING_FX_RATE = "missing_fx_rate"

Event = Portfolio | Instrument | Transaction | Price | FxRate

TOPIC_MODELS: dict[str, type[BaseModel]] = {
    "portfolios": Portfolio,
    "instruments": Instrument,
    "transactions": Transaction,
    "prices": Price,
    "fx_rates": FxRate,
}

# The field whose value is the message key, per topic (for messages) ...
KEY_FIELDS = {
    "portfolios": "portfolio_id",
    "instruments": "security_id",
    "transactions": "portfolio_id",
    "prices": "security_id",
    "fx_rates": "pair",
}
_KEY_OF: dict[str, Callable[[object], str]] = {t: attrgetter(f) for t, f in KEY_FIELDS.items()}
# The topics whose messages belong to one portfolio (keyed by its id).
PORTFOLIO_KEYED_TOPICS = tuple(t for t, f in KEY_FIELDS.items() if f == "portfolio_id")

# ... and the field order in which faults are looked for, per model.
_RANK = {m: {name: i for i, name in enumerate(m.model_fields)} for m in TOPIC_MODELS.values()}


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    field: str | None
    detail: str
    transaction_id: str | None = None


# NaN/Infinity literals become non-finite Decimals (never floats) so that the
# field holding them is named as invalid instead of the whole message.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=Decimal)


def parse_json(raw: bytes | bytearray | memoryview | str) -> object:
    """Parse UTF-8 JSON exactly: numbers with a fraction or exponent become
    Decimal, integers int. Raises ValueError for anything that is not UTF-8
    JSON text."""
    text = raw if type(raw) is str else bytes(raw).decode("utf-8")  # strict: no UTF-16/32 sniffing
    try:
        return _DECODER.decode(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    # A "\ud800" escape decodes to a lone surrogate (not storable as UTF-8):
    # the field holding it is refused by its validator, and nothing outside
    # the model's fields is ever re-encoded.


def decode_event(topic: str, key: str | bytes | None, raw: bytes | str) -> Event | Rejection:
    """Decode a message value of `topic` checked against its key."""
    _model(topic)  # an unknown topic is a wiring bug, not bad data: raise
    try:
        obj = parse_json(raw)
    except ValueError as exc:
        return Rejection(INVALID_JSON, None, f"not UTF-8 JSON: {exc}")
    event = validate_item(topic, obj)
    if type(event) is Rejection:
        return event
    expected = _KEY_OF[topic](event)
    if type(key) is not str:
        key = _key_text(key)
    if key != expected:
        detail = f"message key {key!r} differs from {KEY_FIELDS[topic]} {expected!r}"
        return Rejection(KEY_MISMATCH, None, detail, getattr(event, "transaction_id", None))
    return event


def validate_item(topic: str, obj: object) -> Event | Rejection:
    """Validate one already parsed JSON value (no key check). Decimals must
    come as int, Decimal or str: parse with `parse_json`, floats are refused."""
    model = _model(topic)
    if not isinstance(obj, dict):
        return Rejection(INVALID_EVENT, None, f"value is a JSON {_json_kind(obj)}, not an object")
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        return _rejection(model, obj, exc)


def message_key(topic: str, event: Event) -> str:
    """The Kafka key the event belongs under."""
    return _KEY_OF[topic](event)


def _model(topic: str) -> type[BaseModel]:
    try:
        return TOPIC_MODELS[topic]
    except KeyError:
        raise ValueError(f"unknown topic {topic!r}") from None


def _rejection(model: type[BaseModel], obj: dict, exc: ValidationError) -> Rejection:
    rank = _RANK[model]
    errors = exc.errors(include_url=False, include_context=False)
    # pydantic reports in declaration order already; ranking explicitly keeps
    # the contract independent of that detail.
    first = min(errors, key=lambda e: rank.get(e["loc"][0], -1) if e["loc"] else -1)
    field = str(first["loc"][0]) if first["loc"] else None
    message = first["msg"]
    value = first.get("input")
    if first["type"].startswith("string_") and type(value) is str:
        message = unstorable(value) or message  # say which character, not which pattern failed
    detail = f"{field}: {message}" if field else message
    if first["type"] != "missing":
        detail += f" (got {_short(first.get('input'))})"
    tid = obj.get("transaction_id") if model is Transaction else None
    return Rejection(INVALID_EVENT, field, detail, tid if _storable_id(tid) else None)


def _storable_id(value: object) -> bool:
    """A transaction id worth naming in a dead letter: a non-empty string without control characters."""
    return type(value) is str and value != "" and unstorable(value) is None


def _key_text(key: bytes | None) -> str | None:
    if key is None:
        return None
    try:
        return bytes(key).decode("utf-8")
    except UnicodeDecodeError:
        return repr(key)  # can never equal an id, so it is a key_mismatch


def _json_kind(obj: object) -> str:
    if isinstance(obj, list):
        return "array"
    if isinstance(obj, str):
        return "string"
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "boolean"
    return "number"


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
