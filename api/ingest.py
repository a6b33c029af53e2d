"""Ingestion: a request body → validated events → Kafka messages.

A body is a JSON array of events, or `{"items": [...]}`. It is parsed
exactly (numbers with a fraction become Decimal, never float), each item is
validated with the topic's event schema, and the request is all or nothing:
any invalid item → IngestRejected naming every bad item and its field.
Two items with the same identity (`IDENTITY`) are refused too: the second
would reach the consumers as a duplicate they silently ignore (or as an
overwrite of the first), so the 202 would not tell the truth. Versions of one
transaction may follow each other in one request, in increasing order (e.g.
a booking and its cancellation): that is how the ledger applies them.
The body's size is bounded before it gets here (api.body_limit: 413).
Valid events are published as their normalized JSON (decimals as strings,
dates as YYYY-MM-DD, unknown fields dropped) under `message_key`.
"""
from __future__ import annotations

from typing import Any

from fastapi import Request

from api.auth.principal import Principal
from api.errors import Forbidden, IngestRejected
from api.publisher import Message
from schemas.decode import PORTFOLIO_KEYED_TOPICS, Event, Rejection, message_key, parse_json, validate_item

# URL segment → topic
TOPICS = {
    "portfolios": "portfolios",
    "instruments": "instruments",
    "transactions": "transactions",
    "prices": "prices",
    "fx-rates": "fx_rates",
}
MAX_ITEMS = 10_000

# What identifies an item per topic; the last field is the one a duplicate is named by.
IDENTITY = {
    "portfolios": ("portfolio_id",),
    "instruments": ("security_id",),
    "transactions": ("portfolio_id", "transaction_id"),
    "prices": ("security_id", "price_date"),
    "fx_rates": ("from_currency", "to_currency", "rate_date"),
}


def _problem(item: int | None, field: str | None, reason: str, message: str) -> dict[str, Any]:
    return {"item": item, "field": field, "reason": reason, "message": message}


async def read_items(request: Request) -> list[Any]:
    """The request's items (dependency): 422 unless a JSON array or {"items": [...]}."""
    raw = await request.body()  # bounded by api.body_limit
    try:
        body = parse_json(raw)
    except ValueError as exc:
        raise IngestRejected([_problem(None, None, "invalid_json", f"body is not UTF-8 JSON: {exc}")]) from None
    if isinstance(body, dict) and "items" in body:
        body = body["items"]
    if not isinstance(body, list):
        raise IngestRejected([_problem(None, "items", "invalid_body",
                                       'body must be a JSON array of events or {"items": [...]}')])
    if len(body) > MAX_ITEMS:
        raise IngestRejected([_problem(None, "items", "too_many_items",
                                       f"at most {MAX_ITEMS} items per request, got {len(body)}")])
    return body


def validate_items(topic: str, items: list[Any]) -> list[Event]:
    events: list[Event] = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        checked = validate_item(topic, item)
        if isinstance(checked, Rejection):
            problems.append(_problem(index, checked.field, checked.reason, checked.detail))
        else:
            events.append(checked)
    if problems:
        raise IngestRejected(problems)
    problems = _duplicates(topic, events)
    if problems:
        raise IngestRejected(problems)
    return events


def check_scope(topic: str, events: list[Event], caller: Principal) -> None:
    """403 unless the caller may write every item: a portfolio-scoped caller
    writes only its portfolios' events, and no market or reference data (a
    price or an instrument moves every portfolio's figures)."""
    if not caller.scoped:
        return
    if topic not in PORTFOLIO_KEYED_TOPICS:
        raise Forbidden(f"{topic} are shared by every portfolio: writing them needs credentials not limited to "
                        "some portfolios")
    problems = [_problem(i, "portfolio_id", "out_of_scope",
                         f"portfolio {e.portfolio_id!r} is outside these credentials' portfolios")
                for i, e in enumerate(events) if not caller.sees(e.portfolio_id)]
    if problems:
        raise IngestForbidden(problems)


class IngestForbidden(Forbidden):
    """Some items are outside the caller's portfolios: nothing was published."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(problems)} item(s) outside the caller's portfolios")
        self.problems = problems

    def body(self) -> dict[str, Any]:
        return {"detail": self.problems}


def identity(topic: str, event: Event) -> dict[str, str | int]:
    """The item's identity as JSON (transactions add their version)."""
    fields = IDENTITY[topic] + (("version",) if topic == "transactions" else ())
    return {f: _json_value(getattr(event, f)) for f in fields}


def _json_value(value: Any) -> str | int:
    return value if isinstance(value, (str, int)) else value.isoformat()


def _duplicates(topic: str, events: list[Event]) -> list[dict[str, Any]]:
    fields = IDENTITY[topic]
    first_seen: dict[tuple, tuple[int, int]] = {}  # identity → (item, version)
    problems = []
    for index, event in enumerate(events):
        key = tuple(getattr(event, f) for f in fields)
        version = getattr(event, "version", 0)
        earlier = first_seen.get(key)
        if earlier is None or (topic == "transactions" and version > earlier[1]):
            first_seen[key] = (index, version)
            continue
        named = ", ".join(f"{f}={_json_value(v)}" for f, v in zip(fields, key))
        if topic == "transactions" and version != earlier[1]:
            field, why = "version", f"version {version} is not above version {earlier[1]} of item {earlier[0]}"
        else:
            field, why = fields[-1], f"same as item {earlier[0]}"
        problem = _problem(index, field, "duplicate_id", f"duplicate id ({named}): {why}")
        problems.append({**problem, "items": [earlier[0], index]})
    return problems


def to_messages(topic: str, events: list[Event]) -> list[Message]:
    return [(message_key(topic, e), e.model_dump_json(exclude_none=True).encode("utf-8")) for e in events]
