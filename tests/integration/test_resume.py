"""A stopped `folio up` stack, started again on the same data dir, resumes where it left off.

Both starts are compared with the scenario's expected.json (not with each
other), and the second keeps booking: a 1000 USD deposit moves P001's USD
cash from expected.json's figure by exactly 1000.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from folio.devenv.broker import free_port
from folio.devenv.stack import Stack
from folio.produce import publish
from tests.integration import api_reads
from tests.integration.conftest import publish_scenario
from tests.integration.test_scenarios_end_to_end import _compare_everything
from tests.support.scenario import load_expected

pytestmark = pytest.mark.integration

DEPOSIT = (b'{"transaction_id":"RESUME-1","portfolio_id":"P001","type":"DEPOSIT",'
           b'"trade_date":"2023-05-01","amount":"1000","currency":"USD"}')


async def _assert_matches_expected(stack: Stack, expected: dict) -> None:
    async with stack.client(timeout=30) as client:
        live = await _compare_everything(client, expected, as_of=None)
        stored = await _compare_everything(client, expected, as_of=expected["as_of"])
    assert not live, "live:\n" + "\n".join(live[:30])
    assert not stored, "as_of:\n" + "\n".join(stored[:30])


async def test_a_second_start_on_the_same_data_dir_serves_the_expected_figures_and_keeps_booking(tmp_path: Path):
    expected = load_expected("small")
    first = Stack(tmp_path, api_port=free_port(), durable_broker=True)
    await first.start()
    try:
        await publish_scenario(first, "small")
        await _assert_matches_expected(first, expected)
    finally:
        await first.stop()

    # The key made at the first start is the one the data dir's keys file knows.
    second = Stack(tmp_path, api_port=free_port(), durable_broker=True, admin_key=first.admin_key)
    await second.start()
    try:
        assert any(line.startswith("folio: restored broker topics") for line in second.report), second.report
        assert first.created_admin_key and not second.created_admin_key
        await second.wait_idle()
        await _assert_matches_expected(second, expected)

        await publish(second.bootstrap, "transactions", [("P001", DEPOSIT)])
        await second.wait_idle()
        async with second.client(timeout=30) as client:
            usd = Decimal((await api_reads.cash(client, "P001"))["USD"])
            booked = await api_reads.transactions(client, "P001")
        assert usd == Decimal(expected["portfolios"]["P001"]["cash"]["USD"]) + 1000
        assert {ccy: Decimal(amount) for ccy, amount in booked["RESUME-1"]["cash"].items()} == {"USD": 1000}
        assert set(booked) == set(expected["portfolios"]["P001"]["transactions"]) | {"RESUME-1"}
    finally:
        await second.stop()
