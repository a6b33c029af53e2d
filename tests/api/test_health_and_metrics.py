"""/health/live, /health/ready and /metrics."""
from __future__ import annotations

import re

from api.readiness import ReadinessLimits


async def test_liveness_answers_200_with_nothing_else_running(make_client):
    client = await make_client()

    response = await client.get("/health/live")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_ready_when_postgres_the_worker_the_broker_and_every_stage_answer(
        make_client, api_database_url, start_worker_stub, start_broker, rows):
    await rows.stage("sink")
    await rows.stage("series")
    client = await make_client(database_url=api_database_url, worker_url=start_worker_stub(),
                               kafka_bootstrap=start_broker())

    response = await client.get("/health/ready")

    assert (response.status_code, response.json()) == (200, {"status": "ready", "checks": {
        "database": "ok", "worker": "ok", "sink": "ok", "series": "ok"}})


async def test_not_ready_names_a_stage_whose_heartbeat_is_older_than_the_bound(
        make_client, api_database_url, start_worker_stub, start_broker, rows):
    await rows.stage("sink", beat_seconds_ago=45)
    await rows.stage("series")
    client = await make_client(database_url=api_database_url, worker_url=start_worker_stub(),
                               kafka_bootstrap=start_broker(), readiness=ReadinessLimits(heartbeat_max_age=30))

    response = await client.get("/health/ready")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert re.fullmatch(r"stuck: last heartbeat 4[56]s ago \(bound 30s\)", checks["sink"]), checks
    assert {name for name, why in checks.items() if why != "ok"} == {"sink"}


async def test_not_ready_names_a_stage_started_too_often_within_the_window(
        make_client, api_database_url, start_worker_stub, start_broker, rows):
    await rows.stage("sink")
    await rows.stage("series", starts_seconds_ago=(500, 100, 50, 10))
    client = await make_client(database_url=api_database_url, worker_url=start_worker_stub(),
                               kafka_bootstrap=start_broker(),
                               readiness=ReadinessLimits(max_starts=3, restart_window=120))

    response = await client.get("/health/ready")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["series"] == "crash-looping: 3 starts in the last 120s"
    assert {name for name, why in checks.items() if why != "ok"} == {"series"}


async def test_not_ready_names_the_broker_when_consumer_lag_cannot_be_read(
        make_client, api_database_url, start_worker_stub, rows):
    await rows.stage("sink")
    await rows.stage("series")
    client = await make_client(database_url=api_database_url, worker_url=start_worker_stub(),
                               kafka_bootstrap="127.0.0.1:9", broker_timeout=2.0)

    response = await client.get("/health/ready")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"].startswith("consumer lag unavailable"), checks
    assert {name for name, why in checks.items() if why != "ok"} == {"broker"}


async def test_not_ready_names_the_worker_when_it_does_not_answer(make_client, api_database_url):
    client = await make_client(database_url=api_database_url, worker_url="http://127.0.0.1:9")

    response = await client.get("/health/ready")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert "unreachable" in checks["worker"]


async def test_not_ready_names_the_database_when_it_does_not_answer(make_client, start_worker_stub):
    client = await make_client(database_url="postgresql://postgres@127.0.0.1:9/folio",
                               worker_url=start_worker_stub())

    response = await client.get("/health/ready")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["worker"] == "ok"
    assert "database unavailable" in checks["database"]


async def test_database_reads_are_503_naming_the_database_when_it_is_down(make_client):
    client = await make_client(database_url="postgresql://postgres@127.0.0.1:9/folio")

    response = await client.get("/portfolios")

    assert response.status_code == 503
    assert response.json()["service"] == "database"


async def test_database_reads_are_503_when_no_database_is_configured(make_client):
    client = await make_client(database_url=None)

    response = await client.get("/dead-letters")

    assert response.status_code == 503
    assert "DATABASE_URL" in response.json()["detail"]


async def test_metrics_count_requests_and_time_them_per_route_template(make_client, start_worker_stub):
    client = await make_client(worker_url=start_worker_stub())
    await client.get("/portfolios/P1/positions")
    await client.get("/portfolios/P2/positions")
    await client.get("/health/live")
    await client.get("/no/such/path")

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'folio_api_requests_total{method="GET",route="/portfolios/{portfolio_id}/positions",status="404"} 2' in text
    assert 'folio_api_requests_total{method="GET",route="/health/live",status="200"} 1' in text
    assert 'folio_api_requests_total{method="GET",route="unmatched",status="404"} 1' in text
    assert re.search(r'folio_api_request_duration_seconds_bucket\{method="GET",'
                     r'route="/portfolios/\{portfolio_id\}/positions",le="\+Inf"\} 2\n', text)
    assert 'folio_api_request_duration_seconds_count{method="GET",route="/portfolios/{portfolio_id}/positions"} 2' \
        in text
    assert re.search(r'folio_api_request_duration_seconds_sum\{method="GET",route="/health/live"\} [0-9.e-]+\n', text)


async def test_the_openapi_schema_lists_every_route_with_money_as_strings(make_client):
    client = await make_client()

    schema = (await client.get("/openapi.json")).json()

    assert set(schema["paths"]) >= {
        "/ingest/portfolios", "/ingest/instruments", "/ingest/transactions", "/ingest/prices", "/ingest/fx-rates",
        "/portfolios", "/portfolios/{portfolio_id}", "/portfolios/{portfolio_id}/positions",
        "/portfolios/{portfolio_id}/positions/{security_id}/lots", "/portfolios/{portfolio_id}/transactions",
        "/portfolios/{portfolio_id}/cash", "/portfolios/{portfolio_id}/position-history", "/dead-letters",
        "/health/live", "/health/ready", "/metrics"}
    assert schema["components"]["schemas"]["PositionOut"]["properties"]["quantity"]["type"] == "string"
