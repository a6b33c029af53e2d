"""Client of the positions worker's live endpoint (`GET /live/portfolios/{id}/`).

Faust routes the request to the worker that owns the portfolio's partition,
so any worker can be asked. `FOLIO_WORKER_URL` may list several
(comma-separated): the first that is reachable is asked, so live reads go on
when one worker dies. A worker that answers is never skipped: its 503 during
a rebalance is the answer (every worker is rebalancing then). The answer is
the raw state: `{"book", "positions", "cash"}` as core.stored stores
them. Shaping it into API rows is `api.queries.live`.

Each answer carries the worker's version of it (an ETag, see
streams.live_versions); the last state of up to `cache_size` portfolios is
kept with it, the worker is asked with `If-None-Match`, and a 304 returns the
kept state: no rebuild on the worker, no parse here. The version is also
in the answer's body (`version`): a worker that forwards the read to the
owner relays the body and the owner's 304 but not the ETag header. An answer
with no version at all drops the kept state. Kept states are shared between requests: readers never change them.

The worker is asked over aiohttp, not httpx: about 40 us of client CPU per
request here against about 390 us (a live read's main cost once the answer is
kept).
"""
from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import aiohttp

from api.errors import WorkerUnavailable, unknown_portfolio
from folio.tasks import cancel_and_wait
from folio.telemetry import STAGE_METRICS_PATH


@dataclass(frozen=True, slots=True)
class WorkerAnswer:
    origin: str  # scheme://host:port of the worker asked
    status: int
    etag: str | None
    body: bytes


@dataclass(slots=True)
class KeptState:
    etag: str
    state: dict[str, Any]
    size: int  # bytes: the worker's answer, then also each answer encoded from the state
    answers: dict[Hashable, bytes] = field(default_factory=dict)


ANSWERS_PER_STATE = 8  # e.g. a few pages of one portfolio's positions; the oldest goes first


class LiveClient:
    def __init__(self, base_url: str, timeout: float = 5.0, token: str | None = None,
                 cache_size: int = 1024, cache_bytes: int = 64 << 20) -> None:
        self.base_urls = [url.strip().rstrip("/") for url in base_url.split(",") if url.strip()]
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None  # made in the event loop that uses it
        self.cache_size = cache_size
        self.cache_bytes = cache_bytes
        self._kept: OrderedDict[str, KeptState] = OrderedDict()  # by portfolio, least recently used first
        self._kept_bytes = 0
        self._asking: dict[str, asyncio.Future] = {}  # by portfolio: the worker being asked about it now
        self._closed = False

    async def portfolio(self, portfolio_id: str) -> dict[str, Any] | None:
        """The portfolio's live state, or None when the worker does not know it.

        Reads of one portfolio that arrive while the worker is being asked about it share that
        answer (or its error) instead of asking again: what they get is at most one round trip older
        than they are, as if they had come a moment earlier. The ask runs as a task of its own, so a
        reader that goes away does not cancel it for the others.
        """
        flight = self._asking.get(portfolio_id)
        if flight is None or flight.done():
            flight = self._asking[portfolio_id] = asyncio.ensure_future(self._ask_portfolio(portfolio_id))
            flight.add_done_callback(lambda done: self._landed(portfolio_id, done))
        return await asyncio.shield(flight)

    def _landed(self, portfolio_id: str, flight: asyncio.Future) -> None:
        if self._asking.get(portfolio_id) is flight:
            del self._asking[portfolio_id]
        if not flight.cancelled():
            flight.exception()  # retrieved: every reader may have gone, and the error is theirs, not a bug

    async def _ask_portfolio(self, portfolio_id: str) -> dict[str, Any] | None:
        kept = self._kept.get(portfolio_id)
        answer = await self._get(f"/live/portfolios/{quote(portfolio_id, safe='')}/",
                                 {"If-None-Match": kept.etag} if kept else None)
        if answer.status == 304 and kept is not None:
            # Kept again: a concurrent request may have dropped it meanwhile (a 503, an answer
            # without an ETag, the LRU), and what the worker confirmed is still this state.
            self._keep(portfolio_id, kept)
            return kept.state
        self._drop(portfolio_id)
        if answer.status == 404:
            return None
        if answer.status != 200:
            raise WorkerUnavailable(f"worker at {answer.origin} answered HTTP {answer.status}")
        try:
            state = json.loads(answer.body, parse_float=Decimal)
        except ValueError:
            state = None
        if not (isinstance(state, dict) and isinstance(state.get("book"), dict)
                and isinstance(state.get("positions"), list) and isinstance(state.get("cash"), list)):
            raise WorkerUnavailable(f"worker at {answer.origin} gave an unexpected answer")
        version = answer.etag or state.get("version")
        if isinstance(version, str) and version:
            self._keep(portfolio_id, KeptState(version, state, len(answer.body)))
        return state

    def kept_answer(self, portfolio_id: str, state: dict[str, Any], key: Hashable) -> bytes | None:
        """An answer encoded earlier from this very state (None: not kept, or the state is not)."""
        kept = self._kept.get(portfolio_id)
        return kept.answers.get(key) if kept is not None and kept.state is state else None

    def keep_answer(self, portfolio_id: str, state: dict[str, Any], key: Hashable, body: bytes) -> None:
        """Keeps `body` with `state` while that state is the kept one (otherwise nothing is kept)."""
        kept = self._kept.get(portfolio_id)
        if kept is None or kept.state is not state or key in kept.answers:
            return
        if len(kept.answers) >= ANSWERS_PER_STATE:
            oldest = next(iter(kept.answers))
            self._resize(kept, -len(kept.answers.pop(oldest)))
        kept.answers[key] = body
        self._resize(kept, len(body))
        self._trim()

    def _keep(self, portfolio_id: str, kept: KeptState) -> None:
        self._drop(portfolio_id)
        self._kept[portfolio_id] = kept
        self._kept_bytes += kept.size
        self._trim()

    def _drop(self, portfolio_id: str) -> None:
        kept = self._kept.pop(portfolio_id, None)
        if kept is not None:
            self._kept_bytes -= kept.size

    def _resize(self, kept: KeptState, change: int) -> None:
        kept.size += change
        self._kept_bytes += change

    def _trim(self) -> None:
        while self._kept and (len(self._kept) > self.cache_size or self._kept_bytes > self.cache_bytes):
            _, oldest = self._kept.popitem(last=False)
            self._kept_bytes -= oldest.size

    async def require_portfolio(self, portfolio_id: str) -> dict[str, Any]:
        state = await self.portfolio(portfolio_id)
        if state is None:
            raise unknown_portfolio(portfolio_id)
        return state

    async def ping(self) -> None:
        """Raises WorkerUnavailable unless the worker says it serves live reads."""
        answer = await self._get("/ready/")
        if answer.status >= 500:
            raise WorkerUnavailable(f"worker at {answer.origin} answered HTTP {answer.status}")

    async def stage_counters(self) -> dict[str, dict[str, Any] | str]:
        """Each listed worker's own counters (folio.telemetry.StageCounters.snapshot()), or why not, by URL."""
        async def one(url: str) -> dict[str, Any] | str:
            try:
                answer = await self._ask(url, STAGE_METRICS_PATH, None)
            except _UNREACHABLE as exc:
                return _unreachable(url, exc)
            if answer.status != 200:
                return f"worker at {url} answered HTTP {answer.status}"
            try:
                return json.loads(answer.body)
            except ValueError:
                return f"worker at {url} gave an unexpected answer"

        return dict(zip(self.base_urls, await asyncio.gather(*(one(url) for url in self.base_urls))))

    async def _get(self, path: str, headers: dict[str, str] | None = None) -> WorkerAnswer:
        """The first reachable worker's answer."""
        if self._closed:
            raise WorkerUnavailable("the API is shutting down")
        failures = []
        for url in self.base_urls:
            try:
                return await self._ask(url, path, headers)
            except _UNREACHABLE as exc:
                failures.append(_unreachable(url, exc))
        raise WorkerUnavailable("; ".join(failures))

    async def _ask(self, url: str, path: str, headers: dict[str, str] | None) -> WorkerAnswer:
        if self._closed:
            raise WorkerUnavailable("the API is shutting down")
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        async with self._session.get(url + path, headers=headers) as response:
            return WorkerAnswer(f"{response.url.scheme}://{response.url.host}:{response.url.port}", response.status,
                                response.headers.get("ETag"), await response.read())

    async def aclose(self) -> None:
        self._closed = True
        for flight in list(self._asking.values()):  # shared asks outlive their readers: end them here
            await cancel_and_wait(flight)
        if self._session is not None:
            await self._session.close()


# Connection refused, reset, DNS, a timeout: the worker did not answer (any HTTP status is an answer).
_UNREACHABLE = (aiohttp.ClientError, asyncio.TimeoutError)


def _unreachable(url: str, exc: BaseException) -> str:
    return f"worker at {url} unreachable: {type(exc).__name__}: {exc}".rstrip(": ")
