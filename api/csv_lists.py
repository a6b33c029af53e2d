"""`Accept: text/csv` for list responses: one owner of the CSV format.

A route built with `CsvListRoute` answers CSV when the client asks for it:
the rows are a paginated response model's list (`items`, `positions`, `lots`,
`balances`), one column per field of its item model, a header row first.
Cells are the JSON answer's values as written there (decimals as the same
exact strings, numbers as the same text), nested values as compact JSON.
Pagination moves to headers: X-Total-Count, X-Limit, X-Offset.

Spreadsheets run a cell starting with = + - @ (or tab, CR) as a formula
(CSV injection), so such a cell gets a leading `'`; a plain number such as
"-12.50" is left alone so that figures stay numeric and exact.
"""
from __future__ import annotations

import csv
import io
import json
import re
import typing
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from api.models import Paginated

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_PAGE_HEADERS = (("total", "X-Total-Count"), ("limit", "X-Limit"), ("offset", "X-Offset"))


def safe_cell(value: str) -> str:
    """The cell as a spreadsheet will not run it."""
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return safe_cell(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
    return safe_cell(str(value))


def rows_csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(c) for c in columns])
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def list_field(model: Any) -> tuple[str, list[str]] | None:
    """A paginated response model's list of rows: (its key, the item model's columns)."""
    if not (isinstance(model, type) and issubclass(model, Paginated)):
        return None
    for name, info in model.model_fields.items():
        if typing.get_origin(info.annotation) is list:
            (item,) = typing.get_args(info.annotation)
            if isinstance(item, type) and issubclass(item, BaseModel):
                columns = [f.alias or n for n, f in item.model_fields.items()]
                return info.alias or name, columns
    return None


def wants_csv(request: Request) -> bool:
    return any(part.split(";")[0].strip().lower() == "text/csv"
               for part in request.headers.get("accept", "").split(","))


def csv_response(payload: dict[str, Any], key: str, columns: list[str]) -> Response:
    headers = {header: str(payload[name]) for name, header in _PAGE_HEADERS if name in payload}
    headers["Vary"] = "Accept"
    return Response(rows_csv(columns, payload[key]), media_type=CSV_MEDIA_TYPE, headers=headers)


class CsvListRoute(APIRoute):
    """A route whose list answer is also served as CSV (see the module)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if list_field(self.response_model) is not None:
            ok = self.responses.setdefault(self.status_code or 200, {})
            ok.setdefault("content", {})["text/csv"] = {"schema": {"type": "string"}}

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        rows = list_field(self.response_model)
        if rows is None:
            return handler

        async def handle(request: Request) -> Response:
            response = await handler(request)
            if response.status_code != 200 or not wants_csv(request) \
                    or not (response.media_type or "").startswith("application/json"):
                return response
            # Numbers keep their JSON text: the CSV says exactly what the JSON says.
            payload = json.loads(response.body, parse_float=str, parse_int=str)
            return csv_response(payload, *rows)

        return handle
