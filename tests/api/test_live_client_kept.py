"""The live client's kept answers (api.live): a 304 returns the kept state even if another request dropped it;
encoded answers are kept with their state and leave with it; what is kept is capped by bytes."""
from __future__ import annotations

import asyncio

from api.errors import WorkerUnavailable
from api.live import ANSWERS_PER_STATE, LiveClient, WorkerAnswer

STATE = b'{"book": {"portfolio_id": "P1"}, "positions": [], "cash": [], "market": {}}'


class ScriptedWorker(LiveClient):
    """The network boundary replaced by answers given in order (the client's own logic is what is tested)."""

    def __init__(self, *answers: WorkerAnswer) -> None:
        super().__init__("http://worker.invalid")
        self.answers = list(answers)
        self.asked: list[dict | None] = []
        self.gate: asyncio.Event | None = None

    async def _ask(self, url, path, headers):
        self.asked.append(headers)
        answer = self.answers.pop(0)
        if answer.status == 304 and self.gate is not None:
            await self.gate.wait()
        return answer


def _answer(status: int, etag: str | None = None, body: bytes = b"") -> WorkerAnswer:
    return WorkerAnswer("http://worker.invalid", status, etag, body)


async def test_a_304_answers_the_kept_state_and_an_answer_without_etag_drops_it():
    worker = ScriptedWorker(_answer(200, '"e1"', STATE), _answer(304, '"e1"'), _answer(200, None, STATE),
                            _answer(200, None, STATE))
    first = await worker.portfolio("P1")
    assert await worker.portfolio("P1") is first
    assert worker.asked[1] == {"If-None-Match": '"e1"'}
    await worker.portfolio("P1")  # no ETag (forwarded by a non-owner): nothing kept
    await worker.portfolio("P1")
    assert worker.asked[3] is None


async def test_a_304_for_a_state_another_request_dropped_meanwhile_still_answers_it():
    worker = ScriptedWorker(_answer(200, '"e1"', STATE), _answer(304, '"e1"'), _answer(200, None, STATE))
    first = await worker.portfolio("P1")
    worker.gate = asyncio.Event()
    # Reads of one portfolio share one ask (LiveClient.portfolio), so two asks overlap only when
    # something else drops the kept state meanwhile (the LRU for another portfolio): asked directly here.
    waiting = asyncio.create_task(worker._ask_portfolio("P1"))  # sent If-None-Match, waits for its 304
    await asyncio.sleep(0)
    await worker._ask_portfolio("P1")  # meanwhile an answer without ETag drops the kept state
    worker.gate.set()
    assert await waiting is first  # was a KeyError (HTTP 500) before


async def test_an_encoded_answer_is_kept_only_with_the_state_it_was_made_from():
    worker = ScriptedWorker(_answer(200, '"e1"', STATE), _answer(304, '"e1"'), _answer(200, '"e2"', STATE))
    first = await worker.portfolio("P1")
    worker.keep_answer("P1", first, "positions", b'{"answer": 1}')
    assert await worker.portfolio("P1") is first  # 304: the state and its answers stay
    assert worker.kept_answer("P1", first, "positions") == b'{"answer": 1}'
    assert worker.kept_answer("P1", first, "cash") is None

    changed = await worker.portfolio("P1")  # a new version: the old state's answers go with it
    assert worker.kept_answer("P1", changed, "positions") is None
    assert worker.kept_answer("P1", first, "positions") is None
    worker.keep_answer("P1", first, "positions", b"stale")  # made from a state no longer kept: not kept
    assert worker.kept_answer("P1", changed, "positions") is None


async def test_what_is_kept_is_capped_by_bytes_the_least_recently_used_portfolio_first():
    # Each answer's body is len(STATE) bytes; room for two states and one 10-byte answer.
    worker = ScriptedWorker(*(_answer(200, f'"e{n}"', STATE) for n in range(3)))
    worker.cache_bytes = 2 * len(STATE) + 10
    p1 = await worker.portfolio("P1")
    p2 = await worker.portfolio("P2")
    worker.keep_answer("P1", p1, "a", b"0123456789")
    assert worker.kept_answer("P1", p1, "a") == b"0123456789"

    worker.keep_answer("P2", p2, "a", b"x")  # one byte over: P1, the least recently kept, goes
    assert worker.kept_answer("P1", p1, "a") is None and worker.kept_answer("P2", p2, "a") == b"x"
    await worker.portfolio("P3")
    assert worker.kept_answer("P2", p2, "a") == b"x"
    assert worker._kept_bytes == 2 * len(STATE) + 1


async def test_a_state_keeps_at_most_a_few_answers_the_oldest_going_first():
    worker = ScriptedWorker(_answer(200, '"e1"', STATE))
    state = await worker.portfolio("P1")
    for page in range(ANSWERS_PER_STATE + 1):
        worker.keep_answer("P1", state, page, b"%d" % page)
    assert worker.kept_answer("P1", state, 0) is None
    assert worker.kept_answer("P1", state, ANSWERS_PER_STATE) == b"%d" % ANSWERS_PER_STATE
    assert worker._kept_bytes == len(STATE) + ANSWERS_PER_STATE


async def test_a_forwarded_answer_is_kept_by_the_version_in_its_body_and_its_relayed_304_answers_it():
    # A worker that does not own the portfolio relays the owner's body and status, not its headers.
    forwarded = b'{"book": {"portfolio_id": "P1"}, "positions": [], "cash": [], "market": {}, "version": "\\"e7\\""}'
    worker = ScriptedWorker(_answer(200, None, forwarded), _answer(304, None))
    first = await worker.portfolio("P1")
    assert await worker.portfolio("P1") is first
    assert worker.asked[1] == {"If-None-Match": '"e7"'}


async def test_reads_of_one_portfolio_that_arrive_while_it_is_being_asked_share_one_worker_request():
    import asyncio

    from aiohttp import web

    from api.live import LiveClient

    asked: list[str] = []

    async def slow_live(request: web.Request) -> web.Response:
        asked.append(request.match_info["pid"])
        await asyncio.sleep(0.2)
        return web.json_response({"book": {}, "positions": [], "cash": [], "version": '"v1"'},
                                 headers={"ETag": '"v1"'})

    app = web.Application()
    app.router.add_get("/live/portfolios/{pid}/", slow_live)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    client = LiveClient(f"http://127.0.0.1:{port}")
    try:
        first, second, other = await asyncio.gather(client.portfolio("P1"), client.portfolio("P1"),
                                                    client.portfolio("P2"))
        again = await client.portfolio("P1")  # after the shared one landed: asked again
    finally:
        await client.aclose()
        await runner.cleanup()

    assert first is second and first["positions"] == [] and other is not first
    assert sorted(asked) == ["P1", "P1", "P2"]


async def test_closing_the_client_ends_a_shared_ask_still_in_flight_and_asks_nothing_more():
    worker = ScriptedWorker(_answer(304, '"e1"'))
    worker.gate = asyncio.Event()  # the worker never answers
    reading = asyncio.create_task(worker.portfolio("P1"))
    await asyncio.sleep(0)

    await worker.aclose()

    try:
        await reading
    except (asyncio.CancelledError, WorkerUnavailable):
        pass
    else:
        raise AssertionError("the read should have ended with the client")
    assert worker._asking == {}
    try:
        await worker.ping()
    except WorkerUnavailable as exc:
        assert "shutting down" in str(exc)
    else:
        raise AssertionError("a closed client asks nothing")
