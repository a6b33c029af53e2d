"""GET /portfolios/{id}/stream over the app, on PostgreSQL rows written by hand: resume, reset, bad ids."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D

import httpx

from tests.support.sse import stream_opening


def _events(response: httpx.Response) -> list[tuple[str, str, dict]]:
    """(event, id, data) of each event in a stream's body."""
    found = []
    for block in response.text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":"))
        if fields:
            found.append((fields["event"], fields["id"], json.loads(fields["data"])))
    return found


async def _log(rows, *events: tuple[int, int, str | None, str, dict]) -> None:
    await rows.conn.executemany(
        "INSERT INTO stream_events (id, txid, portfolio_id, kind, payload) VALUES ($1, $2, $3, $4, $5::jsonb)",
        [(i, txid, pid, kind, json.dumps(payload)) for i, txid, pid, kind, payload in events])


async def test_a_resume_replays_the_events_after_the_id_valued_at_the_latest_prices(db_client, rows):
    await rows.portfolio("P1")
    await rows.position("P1", "AAPL", quantity="10", cost_local="1000")
    await rows.price("AAPL", date(2024, 1, 2), "110")
    await rows.conn.execute("INSERT INTO cash_balances VALUES ('P1', 'USD', -1000, 1, 1)")
    await _log(rows,
               (1, 500, "P1", "transaction", {"transaction_id": "T1", "version": 1, "status": "booked",
                                              "type": "BUY", "trade_date": "2024-01-02", "security_id": "AAPL"}),
               (2, 500, "P1", "position", {"security_id": "AAPL", "currency": "USD", "quantity": "10",
                                           "cost_local": "1000", "cost_base": "1000", "realized_local": "0",
                                           "realized_base": "0", "listed": True}),
               (3, 500, "P2", "cash", {"currency": "USD", "balance": "5", "listed": True}),
               (4, 500, "P1", "cash", {"currency": "USD", "balance": "-1000", "listed": True}))

    response = await stream_opening(db_client.app, "/portfolios/P1/stream",
                                    {"Last-Event-ID": "1"}, until=b"id: 4v")

    events = _events(response)
    assert (response.status_code, response.headers["content-type"]) == (200, "text/event-stream; charset=utf-8")
    assert [(name, event_id) for name, event_id, _ in events] == [("position", "2"), ("cash", "4"), ("valuation", "4v")]
    position, cash, valuation = (data for _, _, data in events)
    # 10 AAPL at 110 = 1100 against a cost of 1000; cash −1000: total 100.
    assert (D(position["mv_base"]), D(position["unrealized_base"]), position["valuation_status"]) == (
        D(1100), D(100), "ok")
    assert (cash["currency"], D(cash["balance"]), D(cash["amount_base"])) == ("USD", D(-1000), D(-1000))
    assert (D(valuation["mv_base"]), D(valuation["cash_base"]), D(valuation["total_base"])) == (
        D(1100), D(-1000), D(100))


async def test_a_last_event_id_older_than_the_log_keeps_gets_a_reset_event(db_client, rows):
    await rows.portfolio("P1")
    await rows.conn.execute("INSERT INTO stream_log (pruned_through) VALUES (5)")
    await _log(rows, (6, 600, "P1", "cash", {"currency": "USD", "balance": "1", "listed": True}))

    response = await stream_opening(db_client.app, "/portfolios/P1/stream",
                                    {"Last-Event-ID": "3v"}, until=b"event: reset")

    name, event_id, data = _events(response)[0]
    assert (name, event_id, data["last_event_id"]) == ("reset", "6v", "3v")
    assert "FOLIO_STREAM_RETENTION" in data["reason"]


async def test_a_malformed_last_event_id_is_a_422_naming_it(db_client, rows):
    await rows.portfolio("P1")

    response = await db_client.get("/portfolios/P1/stream", headers={"Last-Event-ID": "12x"})

    assert (response.status_code, response.json()["detail"][0]["field"]) == (422, "Last-Event-ID")


async def test_an_unknown_portfolio_is_a_404(db_client, rows):
    assert (await db_client.get("/portfolios/NOPE/stream")).status_code == 404
