"""Out-of-range events on the topics, through the real broker, worker and sink: each becomes a
dead letter naming its field, nothing else moves, and what follows them is still booked."""
from __future__ import annotations

import json
from decimal import Decimal as D

import httpx

from folio.produce import Event, produce_events


def event(topic: str, key: bytes, value: dict | str) -> Event:
    raw = value if type(value) is str else json.dumps(value)
    return Event(topic, key, raw.encode())


def tx(tid: str, kind: str, day: str, **fields) -> dict:
    return {"transaction_id": tid, "portfolio_id": "P1", "type": kind, "trade_date": day, "currency": "USD",
            **fields}


async def test_poison_strings_dates_and_magnitudes_are_dead_lettered_by_field_and_nothing_else_moves(start_stack):
    stack = await start_stack()
    await produce_events(stack.bootstrap, [
        event("portfolios", b"P1", {"portfolio_id": "P1", "name": "One", "base_currency": "USD",
                                    "open_date": "2024-01-01"}),
        event("prices", b"S1", {"security_id": "S1", "price_date": "2024-01-05", "price": "10"}),
    ])
    await stack.wait_idle()
    await produce_events(stack.bootstrap, [
        event("transactions", b"P1", tx("T1", "DEPOSIT", "2024-01-02", amount="790000")),
        event("transactions", b"P1", tx("T2", "BUY", "2024-01-03", security_id="S1", quantity="742.5",
                                        price="10")),
    ])
    await stack.wait_idle()
    poison = [
        # item 1: an escaped NUL in an id (json.dumps writes it as \u0000)
        event("transactions", b"P1", tx("a\u0000b", "DEPOSIT", "2024-01-04", amount="1")),
        # item 3: extreme dates
        event("transactions", b"P1", tx("D9", "DEPOSIT", "9999-12-31", amount="1")),
        event("transactions", b"P1", tx("D0", "DEPOSIT", "0001-01-01", amount="1")),
        # item 4: magnitudes that used to swallow the position and the cash
        event("transactions", b"P1", tx("B99", "BUY", "2024-01-04", security_id="S1", quantity="1e99",
                                        price="10")),
        event("transactions", b"P1", tx("B98", "BUY", "2024-01-04", security_id="S1", quantity="9e98",
                                        price="9e98")),
        # a key that is not UTF-8 but whose replacement characters would spell the id
        event("transactions", b"P\xff", {**tx("K1", "DEPOSIT", "2024-01-04", amount="1"),
                                         "portfolio_id": "P\ufffd"}),
        event("prices", b"S1", {"security_id": "S1", "price_date": "9999-12-31", "price": "11"}),
        event("fx_rates", b"EUR/USD", {"from_currency": "EUR", "to_currency": "USD", "rate_date": "2024-01-04",
                                       "rate": "1e99"}),
        event("instruments", b"S1", '{"security_id": "S1", "name": "x\\u0085y", "currency": "USD"}'),
    ]
    after = event("transactions", b"P1", tx("T3", "DEPOSIT", "2024-01-05", amount="100"))
    await produce_events(stack.bootstrap, [*poison, after])
    await stack.wait_idle()

    async with stack.client(timeout=30) as client:
        letters = (await client.get("/dead-letters", params={"limit": 100})).raise_for_status().json()["items"]
        positions = (await client.get("/portfolios/P1/positions")).raise_for_status().json()["positions"]
        cash = (await client.get("/portfolios/P1/cash")).raise_for_status().json()["balances"]
        txs = (await client.get("/portfolios/P1/transactions")).raise_for_status().json()["items"]
        perf = (await client.get("/portfolios/P1/performance", params={"period": "YTD"})).raise_for_status().json()

    assert sorted((d["source_topic"], d["reason"], d["field"]) for d in letters) == sorted([
        ("transactions", "invalid_event", "transaction_id"),
        ("transactions", "invalid_event", "trade_date"),
        ("transactions", "invalid_event", "trade_date"),
        ("transactions", "invalid_event", "quantity"),
        ("transactions", "invalid_event", "quantity"),
        ("transactions", "key_mismatch", None),
        ("prices", "invalid_event", "price_date"),
        ("fx_rates", "invalid_event", "rate"),
        ("instruments", "invalid_event", "name"),
    ])
    # 742.5 held, untouched; cash 790000 − 7425 + 100 (T3, after the poison, still booked).
    assert [(p["security_id"], D(p["quantity"])) for p in positions] == [("S1", D("742.5"))]
    assert [(c["currency"], D(c["amount"])) for c in cash] == [("USD", D("782675"))]
    assert sorted(t["transaction_id"] for t in txs) == ["T1", "T2", "T3"]
    assert (perf["from"], perf["to"]) == ("2024-01-02", "2024-01-05")
