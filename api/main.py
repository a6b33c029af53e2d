"""The FastAPI app: `create_app()`; `uvicorn api.main:api` serves the one
made from the environment (see api.settings for the variables)."""
from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from api import docs, openapi, ui
from api.errors import install_error_handlers
from api.metrics import Metrics, MetricsMiddleware
from api.resources import Resources
from api.routes import api_router
from api.body_limit import BodyLimit
from api.security_headers import SecurityHeaders
from api.settings import ApiSettings
from api.stage_status import StageWatch
from folio.logs import configure as configure_logging


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    resources: Resources = app.state.resources
    resources.start()
    try:
        yield
    finally:
        await resources.aclose()


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings.from_env()
    app = FastAPI(
        title="Folio",
        summary="Real-time portfolio positions, lots and cash",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served offline by api.docs
        redoc_url=None,
    )
    app.state.resources = Resources(settings)
    app.state.metrics = Metrics()
    app.state.stage_watch = StageWatch()
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type"], max_age=600)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)  # outermost: every answer, errors included
    install_error_handlers(app)
    app.include_router(api_router)
    app.include_router(docs.router)
    app.include_router(ui.router)
    openapi.install(app)
    app.mount(docs.STATIC_PATH, StaticFiles(directory=docs.STATIC_DIR), name="static")
    app.mount(ui.ASSETS_PATH, StaticFiles(directory=ui.ASSETS_DIR), name="ui-assets")
    return app


def freeze_startup_objects() -> None:
    """Keep what exists now (modules, the app, its routes and models: ~170k objects) out of every
    later garbage collection. A full collection otherwise walks them all, 86-173 ms measured on a
    busy 2-core machine: a stall of every request and position stream round in flight, which made
    the stream's p99 (bench/README.md, "Position stream latency"). Later objects are collected as usual."""
    gc.collect()
    gc.freeze()


configure_logging("api", default_level="WARNING")
api = create_app()
freeze_startup_objects()
