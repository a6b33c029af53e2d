"""The safe HTTP surface against a running stack: the cross-site text/plain post books
nothing, a huge body is refused, and what was accepted is audited with the caller's real
address (uvicorn runs without proxy headers, so X-Forwarded-For cannot forge it)."""
from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.conftest import start_stack  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration

PORTFOLIO = {"portfolio_id": "XS", "name": "Cross-site target", "base_currency": "USD", "cost_method": "FIFO",
             "open_date": "2024-01-02"}


def _cash(transaction_id: str, type_: str, amount: str) -> dict:
    return {"transaction_id": transaction_id, "portfolio_id": "XS", "type": type_, "trade_date": "2024-01-03",
            "amount": amount, "currency": "USD"}


async def _usd(client: httpx.AsyncClient) -> str:
    response = await client.get("/portfolios/XS/cash")
    assert response.status_code == 200, response.text
    return {b["currency"]: b["amount"] for b in response.json()["balances"]}["USD"]


async def test_a_cross_site_text_plain_withdrawal_is_415_and_never_booked_and_30_mb_is_413(start_stack):  # noqa: F811
    stack = await start_stack()
    async with stack.client(timeout=60) as client:
        forged = await client.post("/ingest/portfolios", json=[PORTFOLIO], headers={"X-Forwarded-For": "203.0.113.9"})
        assert forged.status_code == 202 and forged.json()["audited"] is True
        await stack.wait_idle(include_sink=False)
        booked = await client.post("/ingest/transactions", json=[_cash("XS-1", "DEPOSIT", "1000.00"),
                                                                 _cash("XS-2", "WITHDRAWAL", "250.00")])
        assert booked.status_code == 202, booked.text
        await stack.wait_idle()
        assert await _usd(client) == "750.00"  # 1000.00 - 250.00

        attack = await client.post(
            "/ingest/transactions", content=json.dumps([_cash("XS-EVIL", "WITHDRAWAL", "500.00")]).encode(),
            headers={"content-type": "text/plain", "origin": "http://evil.example"})

        assert attack.status_code == 415
        assert "application/json" in attack.json()["detail"]
        assert not any(h.startswith("access-control-") for h in attack.headers)
        # A later legitimate write goes through the whole pipeline: once it is booked, an earlier
        # booking of the attack would have been too.
        later = await client.post("/ingest/transactions", json=[_cash("XS-3", "DEPOSIT", "10.50")])
        assert later.status_code == 202, later.text
        await stack.wait_idle()
        assert await _usd(client) == "760.50"  # 750.00 + 10.50; with the attack booked it would be 260.50
        assert (await client.get("/portfolios/XS/transactions/XS-EVIL")).status_code == 404

        huge = await client.post("/ingest/transactions", content=b"[" + b" " * (30 << 20) + b"]",
                                 headers={"content-type": "application/json"})
        assert huge.status_code == 413 and "FOLIO_MAX_BODY_BYTES" in huge.json()["detail"]
        assert (await client.get("/health/live")).status_code == 200

        log = (await client.get("/audit", params={"action": "ingest"})).json()["items"]
    # Newest first: the two accepted transaction writes and the portfolio; never the refused ones.
    assert [(e["actor"], e["endpoint"], e["ids"], e["client"]) for e in log] == [
        ("admin", "POST /ingest/transactions", [{"portfolio_id": "XS", "transaction_id": "XS-3", "version": 1}],
         "127.0.0.1"),
        ("admin", "POST /ingest/transactions", [{"portfolio_id": "XS", "transaction_id": "XS-1", "version": 1},
                                                {"portfolio_id": "XS", "transaction_id": "XS-2", "version": 1}],
         "127.0.0.1"),
        ("admin", "POST /ingest/portfolios", [{"portfolio_id": "XS"}], "127.0.0.1")]

