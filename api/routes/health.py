"""Health probes and Prometheus metrics."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import DatabaseDep, LiveDep
from api.errors import Unavailable
from api.metrics import CONTENT_TYPE
from api.models import Liveness, Readiness

router = APIRouter(tags=["health"])


@router.get("/health/live")
async def live() -> Liveness:
    return Liveness()


@router.get("/health/ready", response_model=Readiness,
            responses={503: {"model": Readiness, "description": "a dependency does not answer"}})
async def ready(database: DatabaseDep, worker: LiveDep) -> JSONResponse:
    checks: dict[str, str] = {}
    for name, probe in (("database", database.ping), ("worker", worker.ping)):
        try:
            await probe()
            checks[name] = "ok"
        except Unavailable as exc:
            checks[name] = exc.message
    readiness = Readiness(status="ready" if all(v == "ok" for v in checks.values()) else "not_ready",
                          checks=checks)
    return JSONResponse(readiness.model_dump(), status_code=200 if readiness.status == "ready" else 503)


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.app.state.metrics.render(), media_type=CONTENT_TYPE)
