"""The live client's kept answers (api.live): a 304 returns the kept state even if another request dropped it."""
from __future__ import annotations

import asyncio

from api.live import LiveClient, WorkerAnswer

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
    waiting = asyncio.create_task(worker.portfolio("P1"))  # sent If-None-Match, waits for its 304
    await asyncio.sleep(0)
    await worker.portfolio("P1")  # meanwhile an answer without ETag drops the kept state
    worker.gate.set()
    assert await waiting is first  # was a KeyError (HTTP 500) before
