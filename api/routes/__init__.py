"""One router per resource; `api_router` gathers them."""
from fastapi import APIRouter

from api.routes import cash, dead_letters, health, history, ingest, portfolios, positions, transactions

api_router = APIRouter()
for module in (ingest, portfolios, positions, transactions, cash, history, dead_letters, health):
    api_router.include_router(module.router)
