"""A bounded, derandomized property-based fuzz over the OpenAPI, against a whole running stack.

Schemathesis generates valid and invalid requests for every operation of the
API's own OpenAPI document; the API answers from a real PostgreSQL, a real
broker and a real positions worker (folio.devenv.stack). Invariant: no 5xx,
and every answer conforms to the schema (status code, content type, body).
The ingest bodies are declared "array of object", so they are also fuzzed with
near-valid events built from schemas.events carrying hostile values; whatever
the API accepts goes on to the worker and the sink, which must all survive it.
"""
from __future__ import annotations

import asyncio
import json
import random
from collections import Counter

import httpx
import pytest
import requests
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from schemathesis import GenerationMode, openapi
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.main import create_app
from api.models import Accepted, IngestRejection
from api.settings import ApiSettings
from tests.integration.conftest import start_stack  # noqa: F401 - the fixture
from tests.support.hostile import HOSTILE_FRAGMENTS, MEGABYTE, huge_string

pytestmark = pytest.mark.integration

EXAMPLES = 40  # per operation: valid, invalid and known-id requests drawn together
INGEST_EXAMPLES = 60  # per ingest topic, hand-made near-valid events
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                         print_blob=False)
# Known ids, so that generated requests also reach the deep paths, not only 404s.
KNOWN = {"portfolio_id": "API1", "security_id": "SEC-A"}
SEED_EVENTS = {
    "portfolios": [{"portfolio_id": "API1", "name": "Fuzzed over HTTP", "base_currency": "USD",
                    "cost_method": "FIFO", "open_date": "2024-01-02", "benchmark_id": "SEC-B"}],
    "instruments": [{"security_id": "SEC-A", "name": "A", "currency": "USD", "asset_class": "EQUITY"},
                    {"security_id": "SEC-B", "name": "B", "currency": "EUR"}],
    "prices": [{"security_id": "SEC-A", "price_date": d, "price": p} for d, p in
               (("2024-01-03", "10"), ("2024-01-04", "11"), ("2024-01-05", "10.5"))]
              + [{"security_id": "SEC-B", "price_date": d, "price": p} for d, p in
                 (("2024-01-03", "100"), ("2024-01-04", "101"), ("2024-01-05", "99"))],
    "fx-rates": [{"from_currency": "EUR", "to_currency": "USD", "rate_date": "2024-01-02", "rate": "1.1"}],
    "transactions": [
        {"transaction_id": "A-1", "portfolio_id": "API1", "type": "DEPOSIT", "trade_date": "2024-01-02",
         "amount": "1000", "currency": "USD"},
        {"transaction_id": "A-2", "portfolio_id": "API1", "type": "BUY", "trade_date": "2024-01-03",
         "security_id": "SEC-A", "quantity": "10", "price": "10", "currency": "USD"},
        {"transaction_id": "A-3", "portfolio_id": "API1", "type": "BUY", "trade_date": "2024-01-04",
         "security_id": "SEC-B", "quantity": "1", "price": "100", "currency": "EUR"}],
}
TEMPLATES = {topic: events[-1] for topic, events in SEED_EVENTS.items()}
# An answer that never ends cannot be read whole: the stream's inputs (portfolio id, scope,
# Last-Event-ID) are tested in tests/api/test_stream.py and tests/integration/test_position_stream.py.
ENDLESS = {"/portfolios/{portfolio_id}/stream"}


def _schema():
    app = create_app(ApiSettings(database_url=None, worker_url="http://127.0.0.1:9",
                                 kafka_bootstrap="127.0.0.1:9"))
    return openapi.from_dict(app.openapi())


# Edge values the schema allows but random generation rarely hits: period names
# and dates at the ends of the date type (a period reaching before year 1...).
EDGE_DATES = ("0001-01-01", "0001-01-15", "1899-12-31", "1970-01-01", "9999-12-31")
EDGE_PERIODS = ("SI", "MTD", "QTD", "YTD", "1M", "3M", "6M", "1Y", "3Y", "100Y", "Y0001", "Y2024", "Y9999")


def _edge_values(raw_operation: dict) -> dict[str, tuple[str, ...]]:
    edges = {}
    for parameter in raw_operation.get("parameters", []):
        if parameter["in"] != "query":
            continue
        if parameter["name"] == "period":
            edges["period"] = EDGE_PERIODS
        elif '"date"' in json.dumps(parameter["schema"]):
            edges[parameter["name"]] = EDGE_DATES
    return edges


def _edge_cases(operation, raw_operation: dict) -> list:
    """Explicit examples: every edge period at every edge as_of, and every edge from/to pair."""
    edges = _edge_values(raw_operation)
    known = {p.name: KNOWN[p.name] for p in operation.path_parameters if p.name in KNOWN}
    queries = []
    if {"period", "as_of"} <= edges.keys():
        queries += [{"period": p, "as_of": d} for p in edges["period"] for d in edges["as_of"]]
    if {"from", "to"} <= edges.keys():
        queries += [{"from": f, "to": t} for f in edges["from"] for t in edges["to"] if f <= t]
    elif "as_of" in edges:
        queries += [{"as_of": d} for d in edges["as_of"]]
    return [operation.Case(path_parameters=known or None, query=query) for query in queries]


def _with_query(case, values: dict):
    case.query = {**(case.query or {}), **values}
    return case


def _strategy(operation, raw_operation: dict):
    names = {p.name for p in operation.path_parameters}
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    strategies = [operation.as_strategy(mode) for mode in modes]
    known = {name: KNOWN[name] for name in names if name in KNOWN}
    if known:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known))
    edges = _edge_values(raw_operation)
    if edges:
        edge_query = st.fixed_dictionaries({}, optional={name: st.sampled_from(v) for name, v in edges.items()})
        strategies.append(st.tuples(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known),
                                    edge_query).map(lambda drawn: _with_query(*drawn)))
    return st.one_of(strategies)


MEGABYTE_STRING = huge_string(random.Random(1))


def _fragment_strategy():
    text = st.text(st.characters(exclude_categories=()), max_size=20)
    return st.one_of(
        st.sampled_from(HOSTILE_FRAGMENTS),
        text.map(json.dumps),  # any code point, surrogates and controls included, as JSON escapes
        st.just(MEGABYTE_STRING),
        st.integers(min_value=-10**40, max_value=10**40).map(str),
        st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: json.dumps(str(d))),
    )


@st.composite
def near_valid_bodies(draw, topic: str) -> bytes:
    """A JSON array of events of `topic`, each field kept, dropped or given a hostile value;
    sometimes an item is repeated (a duplicate id within one request)."""
    items = []
    for _ in range(draw(st.integers(1, 3))):
        fields = {name: json.dumps(value) for name, value in TEMPLATES[topic].items()}
        for name in list(fields):
            action = draw(st.sampled_from(["keep", "keep", "hostile", "drop"]))
            if action == "hostile":
                fields[name] = draw(_fragment_strategy())
            elif action == "drop":
                del fields[name]
        items.append("{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in fields.items()) + "}")
    if draw(st.booleans()):
        items.append(items[0])
    return ("[" + ",".join(items) + "]").encode()


def _run_operations(base_url: str, headers: dict[str, str], counts: Counter, failures: list[str]) -> None:
    session = requests.Session()
    session.headers.update(headers)  # an admin key: the fuzz is about inputs, not access (tests/api/auth)
    schema = _schema()
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if operation.path in ENDLESS:
            continue
        raw_operation = schema.raw_schema["paths"][operation.path][operation.method.lower()]

        def check(case) -> None:
            counts[label] += 1
            response = case.call(base_url=base_url, session=session, timeout=60)
            try:
                case.validate_response(response, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported together
                found = ", ".join(type(e).__name__ for e in getattr(exc, "exceptions", [exc]))
                failures.append(f"{label} {response.status_code}: {case.as_curl_command()} → {found} "
                                f"| {response.text[:200]}")

        fuzz = given(case=_strategy(operation, raw_operation))(check)
        for case in _edge_cases(operation, raw_operation):
            fuzz = example(case=case)(fuzz)
        FUZZ_SETTINGS(fuzz)()


def _run_ingest_bodies(base_url: str, headers: dict[str, str], counts: Counter, failures: list[str]) -> None:
    client = httpx.Client(base_url=base_url, timeout=60, headers=headers)
    for topic in TEMPLATES:
        label = f"POST /ingest/{topic} (near-valid events)"

        @settings(FUZZ_SETTINGS, max_examples=INGEST_EXAMPLES)
        @given(body=near_valid_bodies(topic))
        def fuzz(body: bytes) -> None:
            counts[label] += 1
            response = client.post(f"/ingest/{topic}", content=body, headers={"content-type": "application/json"})
            if response.status_code == 413 and len(body) > MEGABYTE:
                return  # a body limit (FOLIO_MAX_BODY_BYTES) is a documented answer to a large body
            model = {202: Accepted, 422: IngestRejection}.get(response.status_code)
            try:
                if model is None:
                    raise AssertionError("undocumented status")
                model.model_validate(response.json())
            except (AssertionError, ValidationError, ValueError) as exc:
                failures.append(f"{label} {response.status_code}: {body[:160]!r} → {str(exc)[:120]} "
                                f"| {response.text[:200]}")

        fuzz()
    client.close()


# The fuzz's own admin key comes from FOLIO_API_KEYS: `DELETE /keys/{name}` is
# fuzzed too, and may revoke any key of the keys file (the stack's own admin).
FUZZ_KEY = "fuzz-admin-key"
FUZZ_HEADERS = {"Authorization": f"Bearer {FUZZ_KEY}"}


async def test_every_operation_answers_without_server_errors_and_as_its_schema_says(start_stack):  # noqa: F811
    stack = await start_stack(extra_env={"FOLIO_API_KEYS": f"{FUZZ_KEY}=admin"})
    pids = {name: child.pid for name, child in stack.supervisor.children.items()}
    async with stack.client(timeout=30) as client:
        for topic, events in SEED_EVENTS.items():
            response = await client.post(f"/ingest/{topic}", json=events)
            assert response.status_code == 202, response.text
            if topic == "portfolios":
                await stack.wait_idle(include_sink=False)
    await stack.wait_idle()

    counts: Counter = Counter()
    failures: list[str] = []
    await asyncio.to_thread(_run_operations, stack.api_url, FUZZ_HEADERS, counts, failures)
    await asyncio.to_thread(_run_ingest_bodies, stack.api_url, FUZZ_HEADERS, counts, failures)
    idle_error = None
    try:
        await stack.wait_idle(timeout=120)  # what ingest accepted is consumed by every stage
    except TimeoutError as exc:
        idle_error = str(exc)
    restarted = [name for name, pid in pids.items()
                 if not stack.supervisor.alive(name) or stack.supervisor.children[name].pid != pid]

    report = "\n".join([f"{label}: {n}" for label, n in sorted(counts.items())]
                       + [f"total requests: {sum(counts.values())}, failures: {len(failures)}",
                          f"stages exited: {restarted}", f"not idle: {idle_error}"] + failures[:80])
    print(report)
    assert (failures, restarted, idle_error) == ([], [], None), report
