"""Live reads keep the worker's last answer per portfolio and ask again with its ETag (api.live,
streams.live_versions): an unchanged portfolio costs the worker a 304, and every change shows at once."""
from __future__ import annotations

import json
from decimal import Decimal

from api.live import LiveClient
from folio.produce import Event, produce_events


def _event(topic: str, key: str, value: dict) -> Event:
    return Event(topic, key.encode(), json.dumps(value).encode())


def _portfolio(pid: str) -> Event:
    return _event("portfolios", pid, {"portfolio_id": pid, "name": pid, "base_currency": "USD",
                                      "cost_method": "FIFO", "open_date": "2024-01-02"})


def _tx(pid: str, tid: str, kind: str, **fields) -> Event:
    return _event("transactions", pid, {"transaction_id": tid, "portfolio_id": pid, "type": kind,
                                        "trade_date": "2024-01-03", "currency": "USD", **fields})


def _price(price: str) -> Event:
    return _event("prices", "XCACHE", {"security_id": "XCACHE", "price_date": "2024-01-03", "price": price,
                                       "currency": "USD"})


async def _api_figures(stack) -> tuple[Decimal, Decimal]:
    """XCACHE's quantity and market value through the API, asked twice (the second from what it kept)."""
    async with stack.client() as api:
        answers = [await api.get("/portfolios/PCACHE/positions") for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200], answers[0].text
    assert answers[1].content == answers[0].content
    [row] = [r for r in answers[1].json()["positions"] if r["security_id"] == "XCACHE"]
    return Decimal(row["quantity"]), Decimal(row["mv_local"])


def _quantity(state: dict) -> Decimal:
    return sum((Decimal(p["quantity"]) for p in state["positions"] if p["security_id"] == "XCACHE"), Decimal(0))


async def test_an_unchanged_portfolio_is_answered_from_the_kept_state_and_each_change_shows_at_once(start_stack):
    stack = await start_stack()
    await produce_events(stack.bootstrap, [
        _event("instruments", "XCACHE", {"security_id": "XCACHE", "name": "Cache Co", "currency": "USD",
                                         "asset_class": "EQUITY", "sector": "IT", "country": "US"}),
        _price("100"), _portfolio("PCACHE"), _portfolio("PCACHE-OTHER")])
    await stack.wait_idle(include_sink=False)
    await produce_events(stack.bootstrap, [_tx("PCACHE", "D1", "DEPOSIT", amount="10000"),
                                           _tx("PCACHE", "B1", "BUY", security_id="XCACHE", quantity="10",
                                               price="100", fees="0")])
    await stack.wait_idle(include_sink=False)
    live = LiveClient(",".join(stack.worker_urls()), token=stack.worker_token)
    try:
        first = await live.portfolio("PCACHE")
        assert _quantity(first) == 10
        assert await _api_figures(stack) == (10, 1000)
        assert await live.portfolio("PCACHE") is first  # the worker said 304: nothing rebuilt, nothing parsed

        # Another portfolio's trade does not touch this one's version.
        await produce_events(stack.bootstrap, [_tx("PCACHE-OTHER", "D2", "DEPOSIT", amount="5")])
        await stack.wait_idle(include_sink=False)
        assert await live.portfolio("PCACHE") is first

        # Its own trade does: 10 + 5 shares.
        await produce_events(stack.bootstrap, [_tx("PCACHE", "B2", "BUY", security_id="XCACHE", quantity="5",
                                                   price="100", fees="0")])
        await stack.wait_idle(include_sink=False)
        traded = await live.portfolio("PCACHE")
        assert traded is not first and _quantity(traded) == 15
        assert await _api_figures(stack) == (15, 1500)  # the API's kept answer went with its state
        assert await live.portfolio("PCACHE") is traded

        # So does a price: the answer carries the quotes it is valued at.
        await produce_events(stack.bootstrap, [_price("120")])
        await stack.wait_idle(include_sink=False)
        priced = await live.portfolio("PCACHE")
        assert priced is not traded and _quantity(priced) == 15
        assert "120" in json.dumps(priced["market"])
    finally:
        await live.aclose()

    # Through the API, whose own LiveClient keeps states and answers the same way: 15 × 120 = 1800.
    assert await _api_figures(stack) == (15, 1800)
