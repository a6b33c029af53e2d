"""Item 8 of issue 7 through the real broker, worker and sink: a redriven letter that books is
resolved (not listed as open), and one that fails again stays one letter with two attempts."""
from __future__ import annotations


from folio.dlq import letters_with_state, redrive_run
from folio.produce import publish
from streams.dead_letters import DEAD_LETTERS_TOPIC, dead_letter, letter_value

LATE = b'{"portfolio_id":"LATE","name":"Defined late","base_currency":"USD","open_date":"2024-01-01"}'


def buy(transaction_id: str, portfolio_id: str) -> tuple[str, bytes]:
    return portfolio_id, (
        b'{"transaction_id":"%s","portfolio_id":"%s","type":"BUY","trade_date":"2024-01-02",'
        b'"security_id":"S1","quantity":"10","price":"12.50","fees":"1","currency":"USD"}'
        % (transaction_id.encode(), portfolio_id.encode()))


async def test_a_redriven_letter_that_books_is_resolved_and_one_that_fails_again_stays_one_letter(start_stack):
    stack = await start_stack()
    await publish(stack.bootstrap, "transactions", [buy("L-1", "LATE"), buy("N-1", "NEVER")])
    await stack.wait_idle()
    await publish(stack.bootstrap, "portfolios", [("LATE", LATE)])
    await stack.wait_idle()

    report = await redrive_run(stack.bootstrap, database_url=stack.dsn)
    await stack.wait_idle()

    letters = {d["transaction_id"]: d for d in await letters_with_state(stack.dsn)}
    assert report.published == 2
    assert sorted(letters) == ["L-1", "N-1"]  # 2 letters, not 3
    assert (letters["L-1"]["state"], letters["L-1"]["attempts"]) == ("resolved", 1)
    assert (letters["N-1"]["state"], letters["N-1"]["attempts"], letters["N-1"]["reason"]) == (
        "failed_again", 2, "unknown_portfolio")
    assert {d["redrive_id"] for d in letters.values()} == {report.redrive_id}
    async with stack.client(timeout=30) as client:
        listed = (await client.get("/dead-letters")).json()
        open_letters = (await client.get("/dead-letters", params={"state": "open"})).json()
        booked = (await client.get("/portfolios/LATE/transactions/L-1")).json()
        rejected = (await client.get("/portfolios/NEVER/transactions/N-1")).json()
        # Accepted by ingest, then dead-lettered by the worker: the sink settles its receipt.
        ingested = await client.post("/ingest/transactions", json=[{
            "transaction_id": "N-2", "portfolio_id": "NEVER", "type": "DEPOSIT", "trade_date": "2024-01-02",
            "amount": "5", "currency": "USD"}])
        await stack.wait_idle()
        settled = (await client.get("/portfolios/NEVER/transactions/N-2")).json()
    assert (ingested.status_code, ingested.json()["tracked"]) == (202, True)
    assert (settled["status"], settled["pending_versions"]) == ("dead_lettered", [])
    assert [d["reason"] for d in settled["dead_letters"]] == ["unknown_portfolio"]
    assert (listed["total"], listed["by_state"]) == (2, {"failed_again": 1, "resolved": 1})  # before N-2
    assert open_letters["total"] == 0
    assert (booked["status"], [v["version"] for v in booked["versions"]]) == ("booked", [1])
    assert booked["dead_letters"][0]["state"] == "resolved"
    assert rejected["status"] == "dead_lettered"
    assert [(d["reason"], d["attempts"]) for d in rejected["dead_letters"]] == [("unknown_portfolio", 2)]


async def test_a_redriven_portfolio_definition_that_is_applied_is_resolved(start_stack):
    stack = await start_stack()
    # A definition the worker dead-lettered when its processing raised, at portfolios[0]@40.
    letter = dead_letter("portfolios", 0, 40, b"LATE", LATE, "processing_error", None,
                         "positions worker: RuntimeError: boom")
    await publish(stack.bootstrap, DEAD_LETTERS_TOPIC, [("LATE", letter_value(letter))])
    await stack.wait_idle()

    report = await redrive_run(stack.bootstrap, database_url=stack.dsn)
    await stack.wait_idle()

    letters = await letters_with_state(stack.dsn)
    async with stack.client(timeout=30) as client:
        defined = await client.get("/portfolios/LATE")
    assert (report.published, defined.status_code) == (1, 200)
    assert [(d["source_topic"], d["offset"], d["state"], d["attempts"]) for d in letters] == [
        ("portfolios", 40, "resolved", 1)]


async def test_a_redriven_transaction_the_ledger_ignores_as_already_booked_is_resolved(start_stack):
    stack = await start_stack()
    await publish(stack.bootstrap, "transactions", [buy("L-1", "LATE")])
    await stack.wait_idle()
    await publish(stack.bootstrap, "portfolios", [("LATE", LATE)])
    # Portfolios and transactions are read by different agents: the portfolio must be in before
    # the resend, or the resend is dead-lettered too (seen in a full run: two letters redriven).
    await stack.wait_idle()
    await publish(stack.bootstrap, "transactions", [buy("L-1", "LATE")])  # the producer sends it again
    await stack.wait_idle()

    report = await redrive_run(stack.bootstrap, database_url=stack.dsn)
    await stack.wait_idle()

    letters = await letters_with_state(stack.dsn)
    async with stack.client(timeout=30) as client:
        booked = (await client.get("/portfolios/LATE/transactions/L-1")).json()
    assert report.published == 1
    assert [(d["transaction_id"], d["reason"], d["state"], d["attempts"]) for d in letters] == [
        ("L-1", "unknown_portfolio", "resolved", 1)]
    assert (booked["status"], [v["version"] for v in booked["versions"]]) == ("booked", [1])
