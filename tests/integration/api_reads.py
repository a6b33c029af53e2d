"""Reading a portfolio's figures back through Folio's HTTP API, live or from PostgreSQL."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from tests.support.scenario import compare_cash, compare_positions, compare_transactions


async def positions(client: httpx.AsyncClient, pid: str, as_of: str | None = None) -> dict[str, dict]:
    params = {"as_of": as_of, "limit": 1000} if as_of else {"limit": 1000}
    body = (await client.get(f"/portfolios/{pid}/positions", params=params)).raise_for_status().json()
    result = {}
    for p in body["positions"]:
        source = {"source": "db", "limit": 1000} if as_of else {"limit": 1000}
        lots = (await client.get(f"/portfolios/{pid}/positions/{p['security_id']}/lots", params=source)
                ).raise_for_status().json()["lots"]
        result[p["security_id"]] = {**p, "lots": lots}
    return result


async def cash(client: httpx.AsyncClient, pid: str, as_of: str | None = None) -> dict[str, str]:
    params = {"as_of": as_of, "limit": 1000} if as_of else {"limit": 1000}
    body = (await client.get(f"/portfolios/{pid}/cash", params=params)).raise_for_status().json()
    return {b["currency"]: b["amount"] for b in body["balances"]}


async def all_items(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    """Every item of a paginated list, page by page."""
    items: list[dict[str, Any]] = []
    while True:
        body = (await client.get(path, params={"limit": 1000, "offset": len(items)})).raise_for_status().json()
        items += body["items"]
        if len(items) >= body["total"] or not body["items"]:
            return items


async def realized_gains(client: httpx.AsyncClient, pid: str) -> dict[str, list[tuple[Decimal, Decimal]]]:
    """Closing transaction_id → its realized-gains items' (gain_local, gain_base)."""
    gains: dict[str, list[tuple[Decimal, Decimal]]] = {}
    for item in await all_items(client, f"/portfolios/{pid}/realized-gains"):
        gains.setdefault(item["transaction_id"], []).append((Decimal(item["gain_local"]), Decimal(item["gain_base"])))
    return gains


async def transactions(client: httpx.AsyncClient, pid: str) -> dict[str, dict[str, Any]]:
    items = await all_items(client, f"/portfolios/{pid}/transactions")
    return {t["transaction_id"]: {"version": t["version"], "realized_local": t["realized_local"],
                                  "realized_base": t["realized_base"], "cash": t["cash_effect"]}
            for t in items}


async def dead_letters_by_reason(client: httpx.AsyncClient) -> dict[str, int]:
    body = (await client.get("/dead-letters", params={"limit": 1})).raise_for_status().json()
    return body["by_reason"]


async def compare_book(m, client: httpx.AsyncClient, expected: dict[str, Any]) -> None:
    """Every expected portfolio's positions and cash (live and as of the scenario date) and transactions."""
    for pid, exp in expected["portfolios"].items():
        for as_of in (None, expected["as_of"]):
            compare_positions(m, pid, exp["cost_method"], exp["positions"], await positions(client, pid, as_of))
            compare_cash(m, pid, exp["cash"], await cash(client, pid, as_of))
        compare_transactions(m, pid, exp["transactions"], await transactions(client, pid))
