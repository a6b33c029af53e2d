"""Health probes and Prometheus metrics."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from api.auth.deps import ops_access
from api.deps import DatabaseDep, LiveDep, ResourcesDep
from api.errors import Unavailable
from api.metrics import CONTENT_TYPE, render_stages
from api.models import Liveness, Readiness
from api.readiness import OK, judge_stages

router = APIRouter(tags=["health"])


@router.get("/health/live")
async def live() -> Liveness:
    return Liveness()


@router.get("/health/ready", response_model=Readiness, dependencies=[Depends(ops_access("ready"))],
            responses={503: {"model": Readiness, "description": "a component is down, crash-looping, stuck or "
                                                                "lagging: `checks` names it and says why"}})
async def ready(request: Request, database: DatabaseDep, worker: LiveDep, resources: ResourcesDep) -> JSONResponse:
    checks: dict[str, str] = {}
    for name, probe in (("database", database.ping), ("worker", worker.ping)):
        try:
            await probe()
            checks[name] = OK
        except Unavailable as exc:
            checks[name] = exc.message
    watch = request.app.state.stage_watch
    observation, now = await watch.observe(resources)
    checks.update(judge_stages(observation, resources.settings.readiness, watch.progress, now))
    readiness = Readiness(status="ready" if all(v == OK for v in checks.values()) else "not_ready",
                          checks=checks)
    return JSONResponse(readiness.model_dump(), status_code=200 if readiness.status == "ready" else 503)


@router.get("/metrics", response_class=PlainTextResponse, dependencies=[Depends(ops_access("metrics"))])
async def metrics(request: Request, resources: ResourcesDep) -> PlainTextResponse:
    observation, _ = await request.app.state.stage_watch.observe(resources)
    return PlainTextResponse(request.app.state.metrics.render() + render_stages(observation), media_type=CONTENT_TYPE)
