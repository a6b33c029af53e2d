"""A live read's JSON answer, encoded once per kept state (api.live).

While the worker answers 304, api.live hands every request the same kept
state object and api.valuation values it once; what each request still paid
was building its pydantic rows and serializing them, for the same bytes as the
last time (py-spy: about a quarter of the API's CPU for 50 positions). So the
body is kept with the state it was made from, under a key naming everything
else it depends on (the route, the page, the income figure), and a read of an
unchanged portfolio is the worker's 304 and these bytes.

The bytes are what FastAPI itself would send for the model (pydantic's JSON
serializer, field aliases), and every answer, first or repeated, comes from
here, so a kept answer cannot differ from a fresh one.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from fastapi import Response
from pydantic import BaseModel

from api.live import LiveClient

JSON_MEDIA_TYPE = "application/json"


def json_body(model: BaseModel) -> bytes:
    return model.__pydantic_serializer__.to_json(model, by_alias=True)


def live_json_answer(live: LiveClient, portfolio_id: str, state: dict[str, Any], key: Hashable,
                     build: Callable[[], BaseModel]) -> Response:
    """`build()`'s JSON, or the bytes kept from an earlier `build()` on this same state and key."""
    body = live.kept_answer(portfolio_id, state, key)
    if body is None:
        body = json_body(build())
        live.keep_answer(portfolio_id, state, key, body)
    return Response(body, media_type=JSON_MEDIA_TYPE)
