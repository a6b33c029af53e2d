"""One router per resource; `api_router` gathers them, each behind the role it needs.

Reads need `read`, ingestion `write` (and a JSON body: 415 otherwise), the
audit log and key management `admin`; an admin route inside a read router
says so itself (the redrive). Reference data (instruments, prices, FX rates)
is shared by every portfolio and names none, so any read credential,
portfolio-scoped or not, may read it. The
health router guards its own routes (/health/live is always open).
"""
from fastapi import APIRouter, Depends

from api.auth.deps import require_admin, require_read, require_write
from api.deps import json_body_only
from api.routes import (
    allocation,
    audit,
    cash,
    contribution,
    dead_letters,
    fx_rates,
    health,
    history,
    income,
    ingest,
    keys,
    instruments,
    performance,
    portfolios,
    positions,
    prices,
    realized_gains,
    risk,
    stream,
    timeseries,
    transactions,
    valuation,
)

api_router = APIRouter()
api_router.include_router(ingest.router, dependencies=[Depends(require_write), Depends(json_body_only)])
for module in (portfolios, positions, transactions, cash, valuation, allocation, timeseries, performance,
               contribution, risk, history, dead_letters, income, realized_gains, instruments, prices, fx_rates,
               stream):
    api_router.include_router(module.router, dependencies=[Depends(require_read)])
for module in (audit, keys):
    api_router.include_router(module.router, dependencies=[Depends(require_admin)])
api_router.include_router(health.router)
