"""One router per resource; `api_router` gathers them, each behind the role it needs.

Reads need `read`, ingestion `write` (and a JSON body: 415 otherwise), the
audit log and key management `admin`; an admin route inside a read router
says so itself (the redrive). The
health router guards its own routes (/health/live is always open).
"""
from fastapi import APIRouter, Depends

from api.auth.deps import require_admin, require_read, require_write
from api.deps import json_body_only
from api.routes import (
    allocation,
    audit,
    cash,
    dead_letters,
    health,
    history,
    ingest,
    keys,
    performance,
    portfolios,
    positions,
    risk,
    timeseries,
    transactions,
    valuation,
)

api_router = APIRouter()
api_router.include_router(ingest.router, dependencies=[Depends(require_write), Depends(json_body_only)])
for module in (portfolios, positions, transactions, cash, valuation, allocation, timeseries, performance,
               risk, history, dead_letters):
    api_router.include_router(module.router, dependencies=[Depends(require_read)])
for module in (audit, keys):
    api_router.include_router(module.router, dependencies=[Depends(require_admin)])
api_router.include_router(health.router)
