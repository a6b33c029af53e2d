"""Every version the ledger applied is in an id's history, even when one worker batch applied several
(the worker writes one ledger value per key per batch, so the changelog alone shows only the last)."""
from __future__ import annotations


from folio.produce import publish

BOOK = b'{"portfolio_id":"VB","name":"Versions","base_currency":"USD","open_date":"2024-01-01"}'


def version(number: int, body: bytes) -> tuple[str, bytes]:
    return "VB", b'{"transaction_id":"V-1","portfolio_id":"VB","version":%d,%s}' % (number, body)


async def test_versions_applied_in_one_batch_all_appear_in_the_status_with_their_outcomes(start_stack):
    stack = await start_stack()
    await publish(stack.bootstrap, "portfolios", [("VB", BOOK)])
    await stack.wait_idle()
    # One produce call: the three versions reach the worker together.
    await publish(stack.bootstrap, "transactions", [
        version(1, b'"type":"DEPOSIT","trade_date":"2024-01-02","amount":"100","currency":"USD"'),
        version(2, b'"type":"DEPOSIT","trade_date":"2024-01-02","amount":"150","currency":"USD"'),
        version(3, b'"status":"CANCELLED"'),
    ])
    await stack.wait_idle()

    async with stack.client(timeout=30) as client:
        response = await client.get("/portfolios/VB/transactions/V-1")
    body = response.json()
    assert (response.status_code, body["status"], body["version"]) == (200, "cancelled", 3)
    assert [(v["version"], v["status"], v["type"], v["amount"]) for v in body["versions"]] == [
        (1, "BOOKED", "DEPOSIT", "100"), (2, "BOOKED", "DEPOSIT", "150"), (3, "CANCELLED", None, None)]
    assert body["pending_versions"] == []
