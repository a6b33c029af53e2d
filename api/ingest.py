"""Ingestion: a request body → validated events → Kafka messages.

A body is a JSON array of events, or `{"items": [...]}`. It is parsed
exactly (numbers with a fraction become Decimal, never float), each item is
validated with the topic's event schema, and the request is all or nothing:
any invalid item → IngestRejected naming every bad item and its field.
Valid events are published as their normalized JSON (decimals as strings,
dates as YYYY-MM-DD, unknown fields dropped) under `message_key`.
"""
from __future__ import annotations

from typing import Any

from fastapi import Request

from api.errors import IngestRejected
from api.publisher import Message
from schemas.decode import Event, Rejection, message_key, parse_json, validate_item

# URL segment → topic
TOPICS = {
    "portfolios": "portfolios",
    "instruments": "instruments",
    "transactions": "transactions",
    "prices": "prices",
    "fx-rates": "fx_rates",
}
MAX_ITEMS = 10_000


def _problem(item: int | None, field: str | None, reason: str, message: str) -> dict[str, Any]:
    return {"item": item, "field": field, "reason": reason, "message": message}


async def read_items(request: Request) -> list[Any]:
    """The request's items (dependency): 422 unless a JSON array or {"items": [...]}."""
    raw = await request.body()
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
    return events


def to_messages(topic: str, events: list[Event]) -> list[Message]:
    return [(message_key(topic, e), e.model_dump_json(exclude_none=True).encode("utf-8")) for e in events]
