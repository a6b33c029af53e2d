"""The audit log under `folio up`'s stack: the sink's migrations make the
table, the API records a write with the caller's real address."""
from __future__ import annotations

import httpx


async def test_an_ingest_through_the_stack_is_audited_with_the_peer_address_not_a_forwarded_one(start_stack):
    stack = await start_stack()
    async with httpx.AsyncClient(base_url=stack.api_url, headers=stack.api_headers, timeout=30) as client:
        ingest = await client.post("/ingest/portfolios", headers={"X-Forwarded-For": "203.0.113.9"}, json=[
            {"portfolio_id": "P-AUDIT", "name": "Audited", "base_currency": "USD", "cost_method": "FIFO",
             "open_date": "2024-01-02"}])
        log = await client.get("/audit", params={"action": "ingest"})

    assert (ingest.status_code, ingest.json()["audited"]) == (202, True)
    [entry] = log.json()["items"]
    assert (entry["actor"], entry["role"], entry["endpoint"], entry["ids"], entry["client"]) == (
        "admin", "admin", "POST /ingest/portfolios", [{"portfolio_id": "P-AUDIT"}], "127.0.0.1")
