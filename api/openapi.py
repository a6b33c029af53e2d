"""The OpenAPI document's ingest bodies: each endpoint's request body is its
event's real schema, generated from the event model in `schemas` (the one
owner), so /docs shows what a transaction looks like.

Ingest routes read their body themselves (exact decimals, all or nothing:
api.ingest), so FastAPI cannot infer it; `ingest_body(topic)` is the route's
`openapi_extra`, and `install(app)` puts the event models into the
document's components once.
"""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from schemas.decode import TOPIC_MODELS

_REF = "#/components/schemas/{model}"


def ingest_body(topic: str) -> dict[str, Any]:
    event = {"$ref": _REF.format(model=TOPIC_MODELS[topic].__name__)}
    items = {"type": "array", "items": event, "maxItems": 10_000}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "oneOf": [items, {"type": "object", "properties": {"items": items}, "required": ["items"]}]}}}}}


def event_schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in TOPIC_MODELS.values():
        schema = model.model_json_schema(ref_template=_REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def install(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            document.setdefault("components", {}).setdefault("schemas", {}).update(event_schemas())
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
