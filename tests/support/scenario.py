"""The shared scenarios: where they are, and how to compare our figures with them.

Comparison rules are the scenarios README's: decimals within 1e-9 absolute,
numbers within 1e-9 relative (1e-12 absolute floor), nulls exact, lots by
transaction_id except under AVCO (totals only), dead letters by count per reason.
"""
from __future__ import annotations

import json
import math
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from schemas.decode import Rejection, decode_event

# $FOLIO_SCENARIOS, else ../shared/scenarios beside the repository (as CI lays it out).
SCENARIOS = Path(os.environ.get("FOLIO_SCENARIOS", Path(__file__).resolve().parents[3] / "shared" / "scenarios"))
SCENARIO_NAMES = ("small", "medium")
DEC_TOL = Decimal("1e-9")


def missing_scenario(name: str) -> str | None:
    """Why scenario `name` cannot be read, or None when it is there."""
    folder = SCENARIOS / name
    if (folder / "events.jsonl").is_file() and (folder / "expected.json").is_file():
        return None
    return f"scenario {name!r} not found at {folder} (set FOLIO_SCENARIOS or put shared/ beside the repository)"


def scenario_path(name: str) -> Path:
    """The scenario's folder; a test asking for a missing one is skipped saying so
    (and fails under CI: see tests/conftest.py)."""
    reason = missing_scenario(name)
    if reason:
        pytest.skip(reason)
    return SCENARIOS / name


def scenario_params(per_portfolio: bool = False) -> list:
    """Parameters for tests over every scenario (or every (scenario, portfolio)), built
    at collection: a missing scenario is one case skipped saying why, not a collection error."""
    params = []
    for name in SCENARIO_NAMES:
        reason = missing_scenario(name)
        if reason:
            values = (name, None) if per_portfolio else (name,)
            params.append(pytest.param(*values, id=name, marks=pytest.mark.skip(reason=reason)))
        elif per_portfolio:
            params += [pytest.param(name, pid, id=f"{name}-{pid}") for pid in load_expected(name)["portfolios"]]
        else:
            params.append(pytest.param(name, id=name))
    return params


def load_expected(name: str) -> dict[str, Any]:
    return json.loads((scenario_path(name) / "expected.json").read_text())


def published_messages(name: str) -> list[tuple[str, str, bytes]]:
    """(topic, key, value bytes) of each line, as the scenarios README says to publish it:
    an object value as its own JSON text from the line (numbers untouched), a string
    value (a deliberately invalid payload) as its content verbatim."""
    messages = []
    for raw_line in (scenario_path(name) / "events.jsonl").read_bytes().splitlines():
        if not raw_line:
            continue
        line = json.loads(raw_line)
        value = line["value"]
        raw = value.encode() if isinstance(value, str) else raw_line[raw_line.index(b',"value":') + 9:-1]
        messages.append((line["topic"], line["key"], raw))
    return messages


def event_lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (scenario_path(name) / "events.jsonl").read_text().splitlines() if line]


class Mismatches(list):
    def dec(self, where: str, expected: str | None, actual: Any) -> None:
        if expected is None or actual is None:
            if expected is not None or actual is not None:
                self.append(f"{where}: expected {expected!r}, got {actual!r}")
            return
        if abs(Decimal(str(expected)) - Decimal(str(actual))) > DEC_TOL:
            self.append(f"{where}: expected {expected}, got {actual}")

    def num(self, where: str, expected: float | None, actual: float | None) -> None:
        if expected is None or actual is None:
            if expected is not None or actual is not None:
                self.append(f"{where}: expected {expected!r}, got {actual!r}")
            return
        if not math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-12):
            self.append(f"{where}: expected {expected}, got {actual}")


def compare_positions(m: Mismatches, pid: str, method: str, expected: dict, actual: dict[str, dict]) -> None:
    """`actual`: security_id → {quantity, cost_local, cost_base, avg_cost_local,
    realized_local, realized_base, lots: [{transaction_id, open_date, quantity, cost_local, cost_base}]}."""
    if set(expected) != set(actual):
        m.append(f"{pid} positions: expected {sorted(expected)}, got {sorted(actual)}")
    for sid, exp in expected.items():
        got = actual.get(sid)
        if got is None:
            continue
        for f in ("quantity", "cost_local", "cost_base", "avg_cost_local", "realized_local", "realized_base"):
            m.dec(f"{pid}/{sid}.{f}", exp[f], got.get(f))
        if method == "AVCO":
            continue
        exp_lots = {lot["transaction_id"]: lot for lot in exp["lots"]}
        got_lots = {lot["transaction_id"]: lot for lot in got["lots"]}
        if set(exp_lots) != set(got_lots):
            m.append(f"{pid}/{sid} lots: expected {sorted(exp_lots)}, got {sorted(got_lots)}")
            continue
        for tid, lot in exp_lots.items():
            if lot["open_date"] != str(got_lots[tid]["open_date"]):
                m.append(f"{pid}/{sid}/{tid}.open_date: {lot['open_date']} vs {got_lots[tid]['open_date']}")
            for f in ("quantity", "cost_local", "cost_base"):
                m.dec(f"{pid}/{sid}/{tid}.{f}", lot[f], got_lots[tid][f])


def compare_cash(m: Mismatches, pid: str, expected: dict[str, str], actual: dict[str, Any]) -> None:
    if set(expected) != set(actual):
        m.append(f"{pid} cash currencies: expected {sorted(expected)}, got {sorted(actual)}")
    for ccy, amount in expected.items():
        m.dec(f"{pid} cash {ccy}", amount, actual.get(ccy))


def compare_transactions(m: Mismatches, pid: str, expected: dict[str, dict], actual: dict[str, dict]) -> None:
    """`actual`: transaction_id → {version, realized_local, realized_base, cash: {ccy: amount}} (effective only)."""
    if set(expected) != set(actual):
        missing, extra = set(expected) - set(actual), set(actual) - set(expected)
        m.append(f"{pid} transactions: missing {sorted(missing)[:10]}, extra {sorted(extra)[:10]}")
    for tid, exp in expected.items():
        got = actual.get(tid)
        if got is None:
            continue
        if exp["version"] != got["version"]:
            m.append(f"{pid}/{tid}.version: expected {exp['version']}, got {got['version']}")
        m.dec(f"{pid}/{tid}.realized_local", exp["realized_local"], got["realized_local"])
        m.dec(f"{pid}/{tid}.realized_base", exp["realized_base"], got["realized_base"])
        got_cash = {c: a for c, a in got["cash"].items() if Decimal(str(a)) != 0}
        if set(exp["cash"]) != set(got_cash):
            m.append(f"{pid}/{tid}.cash: expected {exp['cash']}, got {got_cash}")
        for c, a in exp["cash"].items():
            m.dec(f"{pid}/{tid}.cash.{c}", a, got_cash.get(c))


def compare_realized_gains(m: Mismatches, pid: str, expected: dict[str, dict],
                           gains: dict[str, list[tuple[Decimal, Decimal]]]) -> int:
    """`gains`: closing transaction_id → its realized-gains items' (gain_local, gain_base).

    Per closing trade the items must sum to expected.json's realized P&L; a trade that
    realized something must have items, and one with items must have realized it.
    Returns how many closing trades were checked."""
    closing = {tid for tid, exp in expected.items()
               if Decimal(exp["realized_local"]) != 0 or Decimal(exp["realized_base"]) != 0}
    for tid in sorted(set(gains) - set(expected)):
        m.append(f"{pid}/{tid}: realized-gains items for a transaction not in effect")
    for tid in sorted(closing | (set(gains) & set(expected))):
        items = gains.get(tid, [])
        if not items:
            m.append(f"{pid}/{tid}: realized {expected[tid]['realized_local']} but no realized-gains items")
            continue
        m.dec(f"{pid}/{tid}.gains_local", expected[tid]["realized_local"], sum((g for g, _ in items), Decimal(0)))
        m.dec(f"{pid}/{tid}.gains_base", expected[tid]["realized_base"], sum((g for _, g in items), Decimal(0)))
    return len(closing)


def compare_dead_letters(m: Mismatches, expected: dict, by_reason: dict[str, int]) -> None:
    if expected["by_reason"] != by_reason:
        m.append(f"dead letters: expected {expected['by_reason']}, got {by_reason}")


def price_history(name: str) -> dict[str, dict[str, Decimal]]:
    """security_id → {price_date (ISO): price} from a scenario's valid `prices` events.

    Events are decoded exactly as the workers decode them (decimals from the
    raw JSON text, never through a float; invalid events skipped, as they go
    to dead letters), and a later event for the same (security, date)
    corrects the earlier one.
    """
    history: dict[str, dict[str, Decimal]] = {}
    for topic, key, raw in published_messages(name):
        if topic != "prices":
            continue
        event = decode_event("prices", key, raw)
        if isinstance(event, Rejection):
            continue
        history.setdefault(event.security_id, {})[event.price_date.isoformat()] = event.price
    return history
