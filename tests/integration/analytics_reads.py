"""Valuation and analytics read back over HTTP and compared with a scenario's expected.json."""
from __future__ import annotations

from typing import Any

import httpx

from tests.support.scenario import Mismatches

POSITION_VALUES = ("price", "price_date", "fx", "mv_local", "mv_base", "unrealized_local", "unrealized_base")
# expected.json `valuation` key → GET /valuation field
VALUATION_FIELDS = {"securities_mv_base": "mv_base", "cash_mv_base": "cash_base", "total_mv_base": "total_base",
                    "known_securities_mv_base": "known_mv_base", "known_cash_mv_base": "known_cash_base"}
PERFORMANCE_FIGURES = ("twr", "twr_annualized", "mwr_annualized", "mwr_period")
RISK_FIGURES = ("volatility", "sharpe", "sortino", "max_drawdown", "beta", "alpha", "tracking_error",
                "information_ratio", "var", "cvar")
ALLOCATION_KEYS = ("asset_class", "sector", "currency", "country", "security")


async def _get(client: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    params = {k: v for k, v in params.items() if v is not None}
    return (await client.get(path, params=params)).raise_for_status().json()


async def compare_position_values(m: Mismatches, client: httpx.AsyncClient, pid: str, expected: dict,
                                  as_of: str | None) -> None:
    body = await _get(client, f"/portfolios/{pid}/positions", as_of=as_of, limit=1000)
    got = {p["security_id"]: p for p in body["positions"]}
    for sid, exp in expected["positions"].items():
        actual = got.get(sid, {})
        for f in POSITION_VALUES:
            if f == "price_date":
                if exp[f] != actual.get(f):
                    m.append(f"{pid}/{sid}.price_date: expected {exp[f]}, got {actual.get(f)}")
            else:
                m.dec(f"{pid}/{sid}.{f}", exp[f], actual.get(f))
        if exp["valuation_status"] != actual.get("valuation_status"):
            m.append(f"{pid}/{sid}.valuation_status: expected {exp['valuation_status']}, "
                     f"got {actual.get('valuation_status')}")


async def compare_cash_values(m: Mismatches, client: httpx.AsyncClient, pid: str, expected: dict,
                              as_of: str | None) -> None:
    body = await _get(client, f"/portfolios/{pid}/cash", as_of=as_of, limit=1000)
    got = {b["currency"]: b for b in body["balances"]}
    for ccy, exp in expected["cash_valuation"].items():
        actual = got.get(ccy, {})
        m.dec(f"{pid} cash {ccy}.balance", exp["balance"], actual.get("amount"))
        m.dec(f"{pid} cash {ccy}.fx", exp["fx"], actual.get("fx"))
        m.dec(f"{pid} cash {ccy}.mv_base", exp["mv_base"], actual.get("amount_base"))
        if exp["valuation_status"] != actual.get("valuation_status"):
            m.append(f"{pid} cash {ccy}.valuation_status: {exp['valuation_status']} vs {actual}")


async def compare_valuation(m: Mismatches, client: httpx.AsyncClient, pid: str, expected: dict,
                            as_of: str | None) -> None:
    body = await _get(client, f"/portfolios/{pid}/valuation", as_of=as_of)
    for exp_key, field in VALUATION_FIELDS.items():
        m.dec(f"{pid} valuation.{field}", expected["valuation"][exp_key], body[field])
    if expected["valuation"]["complete"] != body["complete"]:
        m.append(f"{pid} valuation.complete: expected {expected['valuation']['complete']}, got {body['complete']}")


async def compare_allocation(m: Mismatches, client: httpx.AsyncClient, pid: str, expected: dict,
                             as_of: str | None) -> None:
    for by in ALLOCATION_KEYS:
        body = await _get(client, f"/portfolios/{pid}/allocation", by=by, as_of=as_of)
        got = {b["name"]: b["weight"] for b in body["buckets"]}
        exp = expected["allocation"][by]
        if set(exp) != set(got):
            m.append(f"{pid} allocation by {by}: expected buckets {sorted(exp)}, got {sorted(got)}")
        for name, weight in exp.items():
            m.num(f"{pid} allocation {by}/{name}", weight, got.get(name))
        if expected["allocation"]["complete"] != body["complete"]:
            m.append(f"{pid} allocation by {by}.complete: {expected['allocation']['complete']} vs {body['complete']}")


async def compare_performance(m: Mismatches, client: httpx.AsyncClient, pid: str, expected: dict) -> None:
    for period, exp in expected["performance"].items():
        body = await _get(client, f"/portfolios/{pid}/performance", **{"from": exp["from"], "to": exp["to"]})
        for f in PERFORMANCE_FIGURES:
            m.num(f"{pid} performance {period}.{f}", exp[f], body[f])


async def compare_risk(m: Mismatches, client: httpx.AsyncClient, pid: str, expected: dict) -> None:
    for period, exp in expected["risk"].items():
        body = await _get(client, f"/portfolios/{pid}/risk", **{
            "from": exp["from"], "to": exp["to"], "benchmark": exp["benchmark"],
            "risk_free": exp["risk_free"], "confidence": exp["confidence"]})
        for f in RISK_FIGURES:
            m.num(f"{pid} risk {period}.{f}", exp[f], body[f])


async def compare_timeseries(m: Mismatches, client: httpx.AsyncClient, pid: str, expected: dict, as_of: str) -> None:
    items, offset = [], 0
    while True:
        body = await _get(client, f"/portfolios/{pid}/timeseries", to=as_of, limit=1000, offset=offset)
        items += body["items"]
        offset += len(body["items"])
        if offset >= body["total"] or not body["items"]:
            break
    exp_dates = [e["date"] for e in expected["timeseries"]]
    got_dates = [i["date"] for i in items]
    if exp_dates != got_dates:
        m.append(f"{pid} timeseries dates: expected {len(exp_dates)} from {exp_dates[:1]}, got {len(got_dates)}"
                 f" from {got_dates[:1]}; first difference "
                 f"{next(((a, b) for a, b in zip(exp_dates, got_dates) if a != b), None)}")
        return
    for exp, got in zip(expected["timeseries"], items):
        where = f"{pid} timeseries {exp['date']}"
        m.dec(f"{where}.mv", exp["mv"], got["mv"])
        m.dec(f"{where}.in", exp["in"], got["inflow"])
        m.dec(f"{where}.out", exp["out"], got["outflow"])
        m.num(f"{where}.r", exp["r"], got["r"])
