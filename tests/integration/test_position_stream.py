"""GET /portfolios/{id}/stream through the real broker, worker, sink, PostgreSQL and API processes."""
from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import replace
from decimal import Decimal as D

import httpx

from folio.devenv.broker import free_port
from folio.devenv.processes import api_spec
from tests.support.sse import EventReader, SseEvent

SCOPED_KEY = "k-stream-s1"
STREAM = "/portfolios/S1/stream"


def _buy(tid: str, security: str, quantity: str, price: str, currency: str, pid: str = "S1",
         day: str = "2024-01-02", **extra: str) -> dict:
    return {"transaction_id": tid, "portfolio_id": pid, "type": "BUY", "trade_date": day, "security_id": security,
            "quantity": quantity, "price": price, "currency": currency, **extra}


async def _ingest(client: httpx.AsyncClient, topic: str, items: list[dict]) -> None:
    response = await client.post(f"/ingest/{topic}", json=items)
    assert response.status_code == 202, response.text


async def _portfolio(client: httpx.AsyncClient, *pids: str) -> None:
    await _ingest(client, "portfolios", [{"portfolio_id": pid, "name": pid, "base_currency": "USD",
                                          "open_date": "2024-01-01"} for pid in pids])


def _decimals(data: dict, *names: str) -> tuple:
    return tuple(None if data[n] is None else D(data[n]) for n in names)


async def _rest_until(client: httpx.AsyncClient, path: str, check, timeout: float = 60) -> dict:
    """The REST answer once the worker's live state shows what the stream already said."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body = (await client.get(path)).raise_for_status().json()
        if check(body) or asyncio.get_running_loop().time() > deadline:
            return body
        await asyncio.sleep(0.2)


def _valued(reader: EventReader, total_base: str) -> bool:
    """The latest event is a valuation with this total."""
    last = reader.events[-1] if reader.events else None
    return last is not None and last.name == "valuation" and D(last.data["total_base"] or "NaN") == D(total_base)


def _settled(reader: EventReader, transaction: tuple[str, int, str], quantity: str, balance: str) -> bool:
    """The transaction's event, its position and cash figures, and a valuation after them all have arrived."""
    events = reader.events
    seen = {(e.data["transaction_id"], e.data["version"], e.data["status"]) for e in reader.named("transaction")}
    # A worker's batch can reach the sink over two polls: the position (and a valuation) first,
    # its cash in the next transaction. Not settled until both are there.
    positions, cash = reader.named("position"), reader.named("cash")
    return (transaction in seen and bool(positions) and bool(cash) and events[-1].name == "valuation"
            and D(positions[-1].data["quantity"]) == D(quantity)
            and D(cash[-1].data["balance"]) == D(balance))


async def test_a_stream_client_gets_a_buys_events_with_hand_figures_equal_to_rest_from_either_api_process(
        start_stack):
    stack = await start_stack(extra_env={"FOLIO_STREAM_HEARTBEAT": "0.5",
                                         "FOLIO_API_KEYS": f"{SCOPED_KEY}=read:S1"})
    second_port = free_port()
    stack.supervisor.start(replace(api_spec(second_port, stack.worker_urls()), name="api-2"))
    async with stack.client() as client, httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{second_port}", headers=stack.api_headers, timeout=30) as second:
        while True:  # the second API process answers once it is up
            try:
                if (await second.get("/health/live")).status_code == 200:
                    break
            except httpx.HTTPError:
                await asyncio.sleep(0.3)
        await _portfolio(client, "S1", "S2")
        await _ingest(client, "instruments", [{"security_id": "E1", "name": "E1", "currency": "EUR"}])
        await _ingest(client, "fx-rates", [{"from_currency": "EUR", "to_currency": "USD", "rate_date": "2024-01-02",
                                            "rate": "1.10"}])
        await _ingest(client, "prices", [{"security_id": "E1", "price_date": "2024-01-02", "price": "110"}])
        await stack.wait_idle()

        async with EventReader(client, STREAM) as first, EventReader(second, STREAM) as other:
            await _ingest(client, "transactions", [_buy("T1", "E1", "10", "100", "EUR", fees="5")])
            for reader in (first, other):
                await reader.wait_until(lambda r: _valued(r, "104.50") and r.named("transaction"))
            bought = list(first.events)
            position, cash, transaction, valuation = (
                [e for e in bought if e.name == n][-1].data for n in ("position", "cash", "transaction", "valuation"))
            rest_positions = await _rest_until(client, "/portfolios/S1/positions", lambda b: b["positions"])
            rest_valuation = (await client.get("/portfolios/S1/valuation")).json()

            await _ingest(client, "fx-rates", [{"from_currency": "EUR", "to_currency": "USD",
                                                "rate_date": "2024-01-03", "rate": "1.20"}])
            for reader in (first, other):
                await reader.wait_until(lambda r: _valued(r, "114.00"))
            await _ingest(client, "prices", [{"security_id": "E1", "price_date": "2024-01-03", "price": "120"}])
            for reader in (first, other):
                await reader.wait_until(lambda r: _valued(r, "234.00"))
            after_fx, after_price = (e.data for e in first.events[len(bought):])
            rest_after_price = await _rest_until(client, "/portfolios/S1/valuation",
                                                 lambda b: b["total_base"] == after_price["total_base"])

            # A BUY in GBP, which no rate converts to USD: dead-lettered (missing_fx_rate).
            await _ingest(client, "transactions", [_buy("T2", "G1", "1", "10", "GBP")])
            for reader in (first, other):
                await reader.wait_until(lambda r: len(r.named("transaction")) == 2)
            await first.wait_until(lambda r: "keep-alive" in r.comments)

            async with httpx.AsyncClient(base_url=stack.api_url, timeout=30,
                                         headers={"Authorization": f"Bearer {SCOPED_KEY}"}) as scoped:
                out_of_scope = await scoped.get("/portfolios/S2/stream")
                async with EventReader(scoped, STREAM) as in_scope:
                    pass
            first_seen, other_seen = list(first.events), list(other.events)

    # BUY 10 E1 @ 100 EUR + 5 fees = 1005 EUR at the 1.10 looked up = 1105.50 USD; E1 at 110 EUR:
    # mv 1100 EUR = 1210.00 USD, unrealized 95 EUR / 104.50 USD. Cash −1005 EUR = −1105.50 USD.
    assert _decimals(position, "quantity", "cost_local", "cost_base", "avg_cost_local", "realized_local",
                     "realized_base", "price", "fx", "mv_local", "mv_base", "unrealized_local", "unrealized_base") == (
        D(10), D(1005), D("1105.50"), D("100.5"), D(0), D(0), D(110), D("1.10"), D(1100), D("1210.00"), D(95),
        D("104.50"))
    assert (position["portfolio_id"], position["security_id"], position["valuation_status"]) == ("S1", "E1", "ok")
    assert {k: v for k, v in position.items() if k != "portfolio_id"} == rest_positions["positions"][0]
    assert (cash["currency"], *_decimals(cash, "balance", "amount_base", "fx")) == (
        "EUR", D(-1005), D("-1105.50"), D("1.10"))
    assert {k: transaction[k] for k in ("portfolio_id", "transaction_id", "version", "status", "reason")} == {
        "portfolio_id": "S1", "transaction_id": "T1", "version": 1, "status": "booked", "reason": None}
    assert _decimals(valuation, "mv_base", "cash_base", "total_base", "cost_base", "unrealized_base",
                     "realized_base", "income_base") == (
        D("1210.00"), D("-1105.50"), D("104.50"), D("1105.50"), D("104.50"), D(0), D(0))
    assert valuation == rest_valuation
    # EUR/USD 1.20: mv 1100 × 1.20 = 1320.00, cash −1005 × 1.20 = −1206.00, total 114.00, unrealized 214.50.
    assert _decimals(after_fx, "mv_base", "cash_base", "total_base", "unrealized_base") == (
        D("1320.00"), D("-1206.00"), D("114.00"), D("214.50"))
    # E1 at 120: mv 10 × 120 × 1.20 = 1440.00, total 234.00, unrealized 334.50.
    assert _decimals(after_price, "mv_base", "cash_base", "total_base", "unrealized_base") == (
        D("1440.00"), D("-1206.00"), D("234.00"), D("334.50"))
    assert after_price == rest_after_price
    dead = first_seen[-1].data
    assert {k: dead[k] for k in ("transaction_id", "version", "status", "reason")} == {
        "transaction_id": "T2", "version": 1, "status": "dead_lettered", "reason": "missing_fx_rate"}
    assert [e.name for e in first_seen[len(bought):]] == ["valuation", "valuation", "transaction"]
    # The second API process delivers the same events, ids and figures (each step's valuation included).
    assert [_ledger(e) for e in other_seen] == [_ledger(e) for e in first_seen]
    assert [other_seen[len(bought) - 1].data, *(e.data for e in other_seen[len(bought):])] == [
        valuation, after_fx, after_price, first_seen[-1].data]
    assert (out_of_scope.status_code, in_scope.status) == (404, 200)


def _ledger(event: SseEvent) -> tuple:
    """What an event says of the ledger itself (valuations are valued when delivered)."""
    fields = {"position": ("security_id", "quantity", "cost_local", "cost_base", "realized_local", "realized_base"),
              "cash": ("currency", "balance"), "transaction": ("transaction_id", "version", "status")}
    return (event.name, event.id, tuple(event.data[f] for f in fields.get(event.name, ())))


async def test_a_client_reconnecting_with_last_event_id_gets_exactly_the_missed_events_in_order(start_stack):
    stack = await start_stack()
    async with stack.client() as client:
        await _portfolio(client, "S1")
        await _ingest(client, "prices", [{"security_id": "U1", "price_date": "2024-01-02", "price": "50"}])
        await stack.wait_idle()
        async with EventReader(client, STREAM) as always:
            async with EventReader(client, STREAM) as dropping:
                await _ingest(client, "transactions", [_buy("T1", "U1", "10", "40", "USD")])
                await dropping.wait_until(lambda r: _settled(r, ("T1", 1, "booked"), "10", "-400"))
                last_seen = dropping.last_id
            await _ingest(client, "transactions", [_buy("T2", "U1", "5", "45", "USD", day="2024-01-03")])
            await always.wait_until(lambda r: _settled(r, ("T2", 1, "booked"), "15", "-625"))
            await _ingest(client, "transactions", [
                {"transaction_id": "T3", "portfolio_id": "S1", "type": "SELL", "trade_date": "2024-01-04",
                 "security_id": "U1", "quantity": "8", "price": "55", "currency": "USD"}])
            await always.wait_until(lambda r: _settled(r, ("T3", 1, "booked"), "7", "-185"))
            await _ingest(client, "transactions", [{"transaction_id": "T2", "portfolio_id": "S1", "version": 2,
                                                    "status": "CANCELLED"}])
            await always.wait_until(lambda r: _settled(r, ("T2", 2, "cancelled"), "2", "40"))
            reference = list(always.events)
            async with EventReader(client, STREAM, {"Last-Event-ID": last_seen}) as resumed:
                await resumed.wait_until(lambda r: r.last_id == reference[-1].id)
            # From the middle of a sink transaction: its position event, before its cash and valuation.
            middle = next(e for e in reference if e.name == "position" and e.id > last_seen)
            async with EventReader(client, STREAM, {"Last-Event-ID": middle.id}) as from_middle:
                await from_middle.wait_until(lambda r: r.last_id == reference[-1].id)
            async with EventReader(client, STREAM, {"Last-Event-ID": "999999999"}) as unknown:
                await unknown.wait_until(lambda r: r.events)

    missed = [e for e in reference if _after(e.id, last_seen)]
    assert [_ledger(e) for e in resumed.events] == [_ledger(e) for e in missed]
    assert len({e.id for e in resumed.events}) == len(resumed.events)
    assert [(e.name, e.data.get("transaction_id"), e.data.get("status")) for e in missed
            if e.name == "transaction"] == [("transaction", "T2", "booked"), ("transaction", "T3", "booked"),
                                            ("transaction", "T2", "cancelled")]
    assert [_ledger(e) for e in from_middle.events] == [_ledger(e) for e in reference if _after(e.id, middle.id)]
    # The book after the cancellation: T1 10 @ 40, T3 sells 8 @ 55 (FIFO): 2 left at cost 80, realized 120.
    final = [e for e in resumed.events if e.name == "position"][-1].data
    assert _decimals(final, "quantity", "cost_local", "realized_local") == (D(2), D(80), D(120))
    assert (unknown.events[0].name, unknown.events[0].data["last_event_id"]) == ("reset", "999999999")


def _after(event_id: str, other: str) -> bool:
    def key(i: str) -> tuple[int, bool]:
        return int(i.rstrip("v")), i.endswith("v")
    return key(event_id) > key(other)


async def test_a_client_that_stops_reading_is_dropped_while_a_reading_one_gets_every_event(start_stack):
    stack = await start_stack(extra_env={"FOLIO_STREAM_QUEUE": "1000"})
    # Rounds well under the queue; together more than the kernel buffers a stalled loopback socket (~3 MB).
    batches, per_batch = 30, 200
    async with stack.client() as client:
        await _portfolio(client, "S1")
        await stack.wait_idle()
        async with EventReader(client, STREAM) as reading:
            stalled = socket.socket()
            stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stalled.connect(("127.0.0.1", stack.api_port))
            stalled.sendall(f"GET {STREAM} HTTP/1.1\r\nHost: folio\r\nAuthorization: "
                            f"{stack.api_headers['Authorization']}\r\n\r\n".encode())
            for b in range(batches):
                await _ingest(client, "transactions", [_buy(f"T{b}-{i}", f"SEC-{b}-{i}", "1", "1", "USD")
                                                       for i in range(per_batch)])
                await reading.wait_until(lambda r: len(r.named("transaction")) == (b + 1) * per_batch)
            closed = await asyncio.to_thread(_read_to_end, stalled)
            transactions = {e.data["transaction_id"] for e in reading.named("transaction")}
            still_open = not reading.ended

    assert closed  # the server closed the stalled client's connection
    assert len(transactions) == batches * per_batch and still_open


def _read_to_end(sock: socket.socket, timeout: float = 60) -> bool:
    """Drain the socket; True when the server closed it (within `timeout`)."""
    deadline = time.monotonic() + timeout
    sock.settimeout(timeout)
    try:
        while sock.recv(1 << 16):
            if time.monotonic() > deadline:
                return False
        return True
    except (TimeoutError, ConnectionError):
        return False
    finally:
        sock.close()
