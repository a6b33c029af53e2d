"""POST /ingest/* through the real broker and worker: what is accepted books, a bad batch publishes nothing."""
from __future__ import annotations

from decimal import Decimal as D

import httpx


async def test_ingested_events_book_and_a_batch_with_one_bad_item_publishes_nothing(start_stack):
    stack = await start_stack()
    async with stack.client(timeout=30) as client:
        r = await client.post("/ingest/portfolios", json=[{
            "portfolio_id": "ING", "name": "Ingested", "base_currency": "USD", "cost_method": "LIFO",
            "open_date": "2024-01-01"}])
        assert (r.status_code, r.json()["ids"]) == (202, [{"portfolio_id": "ING"}])
        r = await client.post("/ingest/fx-rates", json=[{
            "from_currency": "EUR", "to_currency": "USD", "rate_date": "2024-01-02", "rate": "1.10"}])
        assert r.status_code == 202
        await stack.wait_idle()

        bad = await client.post("/ingest/transactions", json=[
            {"transaction_id": "I-1", "portfolio_id": "ING", "type": "BUY", "trade_date": "2024-01-02",
             "security_id": "E1", "quantity": "10", "price": "100", "currency": "EUR"},
            {"transaction_id": "I-2", "portfolio_id": "ING", "type": "SELL", "trade_date": "2024-01-03",
             "security_id": "E1", "quantity": "-4", "price": "120", "currency": "EUR"},
        ])
        assert bad.status_code == 422
        assert [(d["item"], d["field"]) for d in bad.json()["detail"]] == [(1, "quantity")]

        good = await client.post("/ingest/transactions", content=(
            b'[{"transaction_id":"I-1","portfolio_id":"ING","type":"BUY","trade_date":"2024-01-02",'
            b'"security_id":"E1","quantity":10,"price":100.10,"currency":"EUR"},'
            b'{"transaction_id":"I-2","portfolio_id":"ING","type":"SELL","trade_date":"2024-01-03",'
            b'"security_id":"E1","quantity":"4","price":"120","fees":"2","currency":"EUR","fx_rate":"1.20"}]'),
            headers={"content-type": "application/json"})
        assert (good.status_code, good.json()["accepted"], good.json()["tracked"]) == (202, 2, True)
        await stack.wait_idle()
        status = (await client.get("/portfolios/ING/transactions/I-2")).json()
        deposited = await client.post("/ingest/transactions", json=[
            {"transaction_id": "I-9", "portfolio_id": "ING", "type": "DEPOSIT", "trade_date": "2024-01-02",
             "amount": "5", "currency": "USD"}])
        await stack.wait_idle()
        cancelled = await client.post("/ingest/transactions", json=[
            {"transaction_id": "I-9", "portfolio_id": "ING", "version": 2, "status": "CANCELLED"}])
        assert (deposited.status_code, cancelled.status_code) == (202, 202)
        await stack.wait_idle()
        status_cancelled = (await client.get("/portfolios/ING/transactions/I-9")).json()

        positions = (await client.get("/portfolios/ING/positions")).json()["positions"]
        txs = {t["transaction_id"]: t for t in (await client.get("/portfolios/ING/transactions")).json()["items"]}
    # BUY 10 @ 100.10 = 1001.00 EUR at the looked-up 1.10 → 1101.10 USD.
    # SELL 4 @ 120 − 2 = 478 EUR; LIFO relieves 4 × 100.10 = 400.40 → 77.60 EUR;
    # base 478 × 1.20 − 400.40 × 1.10 = 573.60 − 440.44 = 133.16 USD. Left: 6 / 600.60 / 660.66.
    assert [(D(p["quantity"]), D(p["cost_local"]), D(p["cost_base"])) for p in positions] == [
        (D(6), D("600.60"), D("660.66"))]
    assert (D(txs["I-2"]["realized_local"]), D(txs["I-2"]["realized_base"])) == (D("77.60"), D("133.16"))
    assert D(txs["I-1"]["fx_rate_applied"]) == D("1.10")
    assert len(txs) == 2  # the rejected batch's I-1 was never published: no duplicate, no version 2
    assert (status["status"], [(v["version"], v["quantity"]) for v in status["versions"]]) == (
        "booked", [(1, "4")])
    assert (status_cancelled["status"], [(v["version"], v["status"]) for v in status_cancelled["versions"]]) == (
        "cancelled", [(1, "BOOKED"), (2, "CANCELLED")])
    assert status_cancelled["pending_versions"] == []
