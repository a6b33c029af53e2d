"""Client of the positions worker's live endpoint (`GET /live/portfolios/{id}/`).

Faust routes the request to the worker that owns the portfolio's partition;
the answer is the raw state: `{"book", "positions", "cash"}` in the forms of
`core.records` `to_dict()`. Shaping it into API rows is `api.queries.live`.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from api.errors import NotFound, WorkerUnavailable
from folio.telemetry import STAGE_METRICS_PATH


class LiveClient:
    def __init__(self, base_url: str, timeout: float = 5.0, client: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.AsyncClient(base_url=self.base_url, timeout=timeout,
                                                   follow_redirects=True)

    async def portfolio(self, portfolio_id: str) -> dict[str, Any] | None:
        """The portfolio's live state, or None when the worker does not know it."""
        response = await self._get(f"/live/portfolios/{quote(portfolio_id, safe='')}/")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise WorkerUnavailable(f"worker at {self.base_url} answered HTTP {response.status_code}")
        try:
            state = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            state = None
        if not (isinstance(state, dict) and isinstance(state.get("book"), dict)
                and isinstance(state.get("positions"), list) and isinstance(state.get("cash"), list)):
            raise WorkerUnavailable(f"worker at {self.base_url} gave an unexpected answer")
        return state

    async def require_portfolio(self, portfolio_id: str) -> dict[str, Any]:
        state = await self.portfolio(portfolio_id)
        if state is None:
            raise NotFound(f"unknown portfolio {portfolio_id!r}")
        return state

    async def ping(self) -> None:
        """Raises WorkerUnavailable unless the worker says it serves live reads."""
        status = (await self._get("/ready/")).status_code
        if status >= 500:
            raise WorkerUnavailable(f"worker at {self.base_url} answered HTTP {status}")

    async def stage_counters(self) -> dict[str, Any]:
        """The worker process's own counters (folio.telemetry.StageCounters.snapshot())."""
        response = await self._get(STAGE_METRICS_PATH)
        if response.status_code != 200:
            raise WorkerUnavailable(f"{response.url} answered HTTP {response.status_code}")
        return response.json()

    async def _get(self, path: str) -> httpx.Response:
        try:
            return await self._client.get(path)
        except httpx.HTTPError as exc:
            raise WorkerUnavailable(
                f"worker at {self.base_url} unreachable: {type(exc).__name__}: {exc}".rstrip(": ")
            ) from exc

    async def aclose(self) -> None:
        await self._client.aclose()
