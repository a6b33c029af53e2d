"""A dead-lettered transaction books once its cause is fixed and the dead letters are redriven."""
from __future__ import annotations

import httpx

from folio.dlq import list_dead_letters, redrive
from folio.produce import publish

PORTFOLIO = b'{"portfolio_id":"LATE","name":"Defined late","base_currency":"USD","open_date":"2024-01-01"}'
BUY = (b'{"transaction_id":"L-1","portfolio_id":"LATE","type":"BUY","trade_date":"2024-01-02",'
       b'"security_id":"S1","quantity":"10","price":"12.50","fees":"1","currency":"USD"}')


async def test_a_transaction_for_a_portfolio_defined_later_books_after_redrive(start_stack):
    stack = await start_stack()
    await publish(stack.bootstrap, "transactions", [("LATE", BUY)])
    await stack.wait_idle()
    letters = await list_dead_letters(stack.bootstrap)
    assert [(d["reason"], d["transaction_id"]) for d in letters] == [("unknown_portfolio", "L-1")]

    await publish(stack.bootstrap, "portfolios", [("LATE", PORTFOLIO)])
    await stack.wait_idle()
    assert await redrive(stack.bootstrap) == 1
    assert await redrive(stack.bootstrap) == 0  # each dead letter is redriven once
    await stack.wait_idle()

    async with stack.client(timeout=30) as client:
        position = (await client.get("/portfolios/LATE/positions")).json()["positions"]
        cash = (await client.get("/portfolios/LATE/cash")).json()["balances"]
    # 10 × 12.50 + 1 fee = 126.00 of cost, and the same out of USD cash.
    assert [(p["security_id"], p["quantity"], p["cost_local"]) for p in position] == [("S1", "10", "126.00")]
    assert [(c["currency"], c["amount"]) for c in cash] == [("USD", "-126.00")]
