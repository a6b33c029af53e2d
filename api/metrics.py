"""Prometheus metrics, written by hand: requests and latencies per route.

Routes are labelled by their template (`/portfolios/{portfolio_id}/positions`),
never the raw path, so the label set stays small; unmatched paths share
`route="unmatched"`.
"""
from __future__ import annotations

import time
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
