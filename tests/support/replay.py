"""A scenario replayed through the pure domain in file order (no broker).

Portfolios and transactions go through the ledger; prices, FX rates and
instruments build the market data valuation reads. Rejected events are
counted by reason, as dead letters would be.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache

from core.fx import FxBook
from core.ledger import Rejected, apply_transaction, define_portfolio
from core.market import InstrumentInfo, MarketData, PriceBook
from core.store import MemoryStore
from core.transaction import TxFields
from schemas.decode import Rejection, decode_event
from tests.support.scenario import published_messages


@dataclass(frozen=True)
class Replayed:
    store: MemoryStore
    dead: dict[str, int]
    market: MarketData


def replay_scenario(name: str) -> Replayed:
    store, fx, prices, instruments, dead = MemoryStore(), FxBook(), PriceBook(), {}, Counter()
    for arrival, (topic, key, raw) in enumerate(published_messages(name)):
        event = decode_event(topic, key, raw)
        if isinstance(event, Rejection):
            dead[event.reason] += 1
            continue
        outcome = None
        if topic == "portfolios":
            outcome = define_portfolio(store, event.model_dump(mode="json"), arrival)
        elif topic == "fx_rates":
            fx.put(event.from_currency, event.to_currency, event.rate_date.isoformat(), event.rate)
        elif topic == "prices":
            prices.put(event.security_id, event.price_date.isoformat(), event.price, event.currency)
        elif topic == "instruments":
            instruments[event.security_id] = InstrumentInfo(
                event.security_id, event.name, event.currency, event.asset_class, event.sector, event.country)
        elif topic == "transactions":
            outcome = apply_transaction(store, TxFields.from_event(event), arrival, fx.rate)
        if isinstance(outcome, Rejected):
            dead[outcome.reason] += 1
    return Replayed(store, dict(dead), MarketData(prices, fx, instruments))


@cache
def replayed(name: str) -> Replayed:
    """One shared replay per scenario for tests that only read it."""
    return replay_scenario(name)


def replay(name: str) -> tuple[MemoryStore, dict[str, int]]:
    """A fresh replay: the ledger's store and the dead letters by reason."""
    result = replay_scenario(name)
    return result.store, result.dead
