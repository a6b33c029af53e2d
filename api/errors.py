"""API errors and their JSON answers.

422 answers keep FastAPI's shape (`{"detail": [{"loc", "msg", "type"}]}`)
and add `field`, the parameter or body field at fault, so every invalid
input is named. Unavailable dependencies (worker, PostgreSQL, broker) answer
503 with a message saying which.
"""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)


class ApiError(Exception):
    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"detail": self.message}


class NotFound(ApiError):
    status_code = 404


def unknown_portfolio(portfolio_id: str) -> NotFound:
    """The one answer for a portfolio that does not exist or is outside the
    caller's scope: the two must be indistinguishable."""
    return NotFound(f"unknown portfolio {portfolio_id!r}")


class Conflict(ApiError):
    """The request cannot apply to the current state (e.g. a key name taken, no keys file)."""

    status_code = 409


class PayloadTooLarge(ApiError):
    status_code = 413


class UnsupportedMediaType(ApiError):
    status_code = 415


class Unavailable(ApiError):
    status_code = 503
    service = "service"

    def body(self) -> dict[str, Any]:
        return {"detail": self.message, "service": self.service}


class WorkerUnavailable(Unavailable):
    service = "worker"


class DatabaseUnavailable(Unavailable):
    service = "database"


class BrokerUnavailable(Unavailable):
    service = "broker"


class InvalidParameter(ApiError):
    """A parameter that is well-formed alone but wrong in context (e.g. from > to)."""

    status_code = 422

    def __init__(self, location: str, name: str, message: str) -> None:
        super().__init__(message)
        self.location = location
        self.name = name

    def body(self) -> dict[str, Any]:
        return {"detail": [{"loc": [self.location, self.name], "field": self.name,
                            "msg": self.message, "type": "value_error"}]}


class IngestRejected(ApiError):
    """Some items of an ingestion request are invalid: nothing was published."""

    status_code = 422

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(problems)} invalid item(s)")
        self.problems = problems

    def body(self) -> dict[str, Any]:
        return {"detail": self.problems}


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    headers = exc.headers() if isinstance(exc, Unauthenticated) else None
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for error in exc.errors():
        loc = list(error.get("loc", ()))
        named = [part for part in loc[1:] if isinstance(part, str)]
        errors.append({**error, "field": named[-1] if named else (loc[0] if loc else None)})
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


async def _database_error(request: Request, exc: sa_exc.DBAPIError) -> JSONResponse:
    if isinstance(exc, sa_exc.DataError):
        # Validation keeps bad input from reaching PostgreSQL; should some
        # still get there it is the caller's input, not a server fault.
        return JSONResponse({"detail": "invalid input", "reason": str(exc.orig)}, status_code=422)
    if exc.connection_invalidated or isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        log.warning("database error: %s", exc)
        return JSONResponse(DatabaseUnavailable(f"database unavailable: {exc.orig}").body(), status_code=503)
    raise exc


# FastAPI's answer when a body model's request body is not decodable (e.g. not UTF-8).
_UNPARSABLE_BODY = "There was an error parsing the body"


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Starlette's own errors as they were, except an undecodable body: that is
    the caller's input, a 422 naming the body like every other bad input."""
    if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
        return JSONResponse({"detail": [{"loc": ["body"], "field": "body", "type": "json_invalid",
                                         "msg": "the body is not UTF-8 JSON"}]}, status_code=422)
    return await http_exception_handler(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(sa_exc.DBAPIError, _database_error)


class Unauthenticated(ApiError):
    """No credentials, or credentials that prove nothing: 401 with a Bearer challenge."""

    status_code = 401

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="folio"'}


class Forbidden(ApiError):
    """Credentials that are good but do not allow this."""

    status_code = 403
