"""A stopped stack, started again on the same data dir, resumes where it left off."""
from __future__ import annotations

from pathlib import Path

import httpx

from folio.devenv.broker import free_port
from folio.devenv.stack import Stack
from folio.produce import publish
from tests.integration.conftest import publish_scenario


async def _figures(stack: Stack) -> dict:
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as client:
        out = {}
        for pid in ("P001", "P002", "PX-EDGE"):
            for path in ("positions", "cash", "transactions"):
                body = (await client.get(f"/portfolios/{pid}/{path}", params={"limit": 1000})).json()
                out[(pid, path)] = body
        out["dead"] = (await client.get("/dead-letters", params={"limit": 1})).json()["by_reason"]
        return out


async def test_a_second_start_on_the_same_data_dir_serves_the_same_figures_and_keeps_going(tmp_path: Path):
    first = Stack(tmp_path, api_port=free_port(), persist_broker=True)
    await first.start()
    try:
        await publish_scenario(first, "small")
        before = await _figures(first)
    finally:
        await first.stop()

    second = Stack(tmp_path, api_port=free_port(), persist_broker=True)
    await second.start()
    try:
        await second.wait_idle()
        assert await _figures(second) == before
        # and it keeps booking: 1000 USD into P001 (USD base) moves its USD cash by exactly that.
        await publish(second.bootstrap, "transactions", [("P001", (
            b'{"transaction_id":"RESUME-1","portfolio_id":"P001","type":"DEPOSIT",'
            b'"trade_date":"2023-05-01","amount":"1000","currency":"USD"}'))])
        await second.wait_idle()
        after = await _figures(second)
        usd = lambda figures: next(b["amount"] for b in figures[("P001", "cash")]["balances"]  # noqa: E731
                                   if b["currency"] == "USD")
        from decimal import Decimal
        assert Decimal(usd(after)) - Decimal(usd(before)) == Decimal(1000)
        assert after[("P001", "transactions")]["total"] == before[("P001", "transactions")]["total"] + 1
    finally:
        await second.stop()
