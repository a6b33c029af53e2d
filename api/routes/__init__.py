"""One router per resource; `api_router` gathers them."""
from fastapi import APIRouter

from api.routes import (
    allocation,
    cash,
    dead_letters,
    health,
    history,
    ingest,
    performance,
    portfolios,
    positions,
    risk,
    timeseries,
    transactions,
    valuation,
)

api_router = APIRouter()
for module in (ingest, portfolios, positions, transactions, cash, valuation, allocation, timeseries, performance,
               risk, history, dead_letters, health):
    api_router.include_router(module.router)
