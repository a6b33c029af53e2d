"""Prometheus metrics, written by hand: requests and latencies per route, and
what the stages report (`render_stages`: lag, applied and dead-lettered
records, rows written, retries, recompute latency, starts and restarts).

Routes are labelled by their template (`/portfolios/{portfolio_id}/positions`),
never the raw path, so the label set stays small; unmatched paths share
`route="unmatched"`.
"""
from __future__ import annotations

import time
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.stage_status import Observation

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.latency: dict[tuple[str, str], _Histogram] = defaultdict(_Histogram)
        self.in_progress = 0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, str(status))] += 1
        self.latency[(method, route)].observe(seconds)

    def render(self) -> str:
        lines = [
            "# HELP folio_api_requests_total HTTP requests answered, by method, route and status.",
            "# TYPE folio_api_requests_total counter",
        ]
        for (method, route, status), count in sorted(self.requests.items()):
            lines.append(f"folio_api_requests_total{_labels(method=method, route=route, status=status)} {count}")
        lines += [
            "# HELP folio_api_request_duration_seconds Time to answer HTTP requests, by method and route.",
            "# TYPE folio_api_request_duration_seconds histogram",
        ]
        for (method, route), hist in sorted(self.latency.items()):
            cumulative = 0
            for bound, count in zip((*BUCKETS, float("inf")), hist.counts):
                cumulative += count
                le = "+Inf" if bound == float("inf") else repr(bound)
                lines.append("folio_api_request_duration_seconds_bucket"
                             f"{_labels(method=method, route=route, le=le)} {cumulative}")
            lines.append(f"folio_api_request_duration_seconds_sum{_labels(method=method, route=route)} {hist.total!r}")
            lines.append(f"folio_api_request_duration_seconds_count{_labels(method=method, route=route)} {cumulative}")
        lines += [
            "# HELP folio_api_requests_in_progress HTTP requests being answered.",
            "# TYPE folio_api_requests_in_progress gauge",
            f"folio_api_requests_in_progress {self.in_progress}",
        ]
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class MetricsMiddleware:
    """Pure ASGI middleware timing every HTTP request (streaming bodies included)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_progress += 1
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.in_progress -= 1
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - started)


# --- the stages: what api.stage_status observed -------------------------------

Sample = tuple[dict[str, str], float]


def family(name: str, kind: str, help_: str, samples: list[Sample]) -> list[str]:
    """One metric family in the text exposition format: HELP, TYPE, then its samples."""
    lines = [f"# HELP {name} {help_}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        lines.append(f"{name}{_labels(**labels) if labels else ''} {_number(value)}")
    return lines


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _stage_counters(obs: Observation) -> list[tuple[str, str, dict[str, Any]]]:
    """(stage, instance, counters snapshot) of every stage process that reported its counters:
    each positions worker by URL, the sink and the series worker by host:pid."""
    found = [("positions", url, c) for url, c in sorted(obs.worker_counters.items())]
    return found + [(stage, beat.instance, beat.counters) for stage, beat in sorted(obs.heartbeats.items())
                    if beat.counters]


def _histogram(name: str, help_: str, series: list[tuple[dict[str, str], dict[str, Any]]]) -> list[str]:
    lines = [f"# HELP {name} {help_}", f"# TYPE {name} histogram"]
    for labels, h in series:
        cumulative = 0
        for bound, count in zip([*h["buckets"], "+Inf"], h["counts"]):
            cumulative += count
            lines.append(f"{name}_bucket{_labels(**labels, le=str(bound))} {cumulative}")
        lines.append(f"{name}_sum{_labels(**labels)} {_number(h['sum'])}")
        lines.append(f"{name}_count{_labels(**labels)} {cumulative}")
    return lines


def render_stages(obs: Observation) -> str:
    counters = _stage_counters(obs)
    lines: list[str] = []
    lines += family("folio_events_applied_total", "counter",
                    "Records a stage handled without dead-lettering them, since the stage process started.",
                    [({"stage": s, "instance": i, "topology": a["topology"], "topic": a["topic"]}, a["count"])
                     for s, i, c in counters for a in c.get("applied", ())])
    lines += family("folio_events_dead_lettered_total", "counter",
                    "Records a stage dead-lettered, by reason, since the stage process started.",
                    [({"stage": s, "instance": i, "topology": d["topology"], "topic": d["topic"],
                       "reason": d["reason"]}, d["count"]) for s, i, c in counters for d in c.get("dead_lettered", ())])
    lines += family("folio_dead_letters", "gauge", "Dead letters stored in PostgreSQL, by source topic and reason.",
                    [({"source_topic": t, "reason": r}, n) for (t, r), n in sorted(obs.dead_letters.items())])
    lines += family("folio_consumer_lag", "gauge",
                    "Records on a partition that its consumer group has not committed yet.",
                    [({"stage": p.stage, "group": p.group_id, "topic": p.topic, "partition": str(p.partition)},
                      p.lag) for p in obs.lags or ()])
    lines += family("folio_consumer_committed_offset", "gauge", "The consumer group's committed offset.",
                    [({"stage": p.stage, "group": p.group_id, "topic": p.topic, "partition": str(p.partition)},
                      p.committed) for p in obs.lags or ()])
    lines += family("folio_sink_rows_written_total", "counter",
                    "Rows the sink wrote to PostgreSQL, since the sink process started.",
                    [({"stage": s, "instance": i}, c["rows_written"]) for s, i, c in counters if s == "sink"])
    lines += family("folio_stage_retries_total", "counter",
                    "Retries of failures that were not a record's fault (database or broker unavailable).",
                    [({"stage": s, "instance": i, "cause": cause}, n) for s, i, c in counters
                     for cause, n in sorted(c.get("retries", {}).items())])
    lines += _histogram("folio_series_recompute_seconds", "Time to recompute one portfolio's stale series dates.",
                        [({"stage": s, "instance": i}, c["recompute_seconds"]) for s, i, c in counters if s == "series"])
    lines += family("folio_stage_starts_total", "counter", "Times a stage process started (restarts = starts - 1).",
                    [({"stage": s}, b.starts_total) for s, b in sorted(obs.heartbeats.items())])
    lines += family("folio_stage_heartbeat_age_seconds", "gauge", "Seconds since the stage's last heartbeat.",
                    [({"stage": s}, round(b.age_seconds, 3)) for s, b in sorted(obs.heartbeats.items())
                     if b.age_seconds is not None])
    lines += family("folio_stage_started_timestamp_seconds", "gauge", "When the stage process started (Unix time).",
                    [({"stage": s, "instance": i}, c["started_at"]) for s, i, c in counters if "started_at" in c])
    lines += family("folio_up_child_restarts_total", "counter", "Times `folio up` restarted a child process.",
                    [({"child": name}, child.restarts)
                     for name, child in sorted((obs.up_children or {}).items())])
    lines += family("folio_telemetry_source_up", "gauge",
                    "1 when the source of these figures answered the last scrape, else 0.",
                    [({"source": source}, 0 if source in obs.errors else 1)
                     for source in ("broker", "database", "worker", *(("up_status",) if obs.up_children is not None
                                                                       or "up_status" in obs.errors else ()))])
    return "\n".join(lines) + "\n"
