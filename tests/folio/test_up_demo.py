"""`folio up --demo` seeds only an empty book: a restart with --demo keeps what the user changed."""
from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from folio.devenv.broker import free_port
from tests.folio.up_process import UpProcess

pytestmark = pytest.mark.integration

CORRECTED = Decimal("250.00")


def _aapl(api_url: str) -> dict:
    answer = httpx.get(f"{api_url}/portfolios/DEMO-GROWTH/positions", timeout=30)
    assert answer.status_code == 200, answer.text
    return next(p for p in answer.json()["positions"] if p["security_id"] == "AAPL")


def _wait_for_aapl_price(api_url: str, price: Decimal, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while (position := _aapl(api_url))["price"] is None or Decimal(position["price"]) != price:
        assert time.monotonic() < deadline, f"AAPL price still {position['price']}, not {price}"
        time.sleep(0.3)
    return position


def test_a_corrected_price_survives_ctrl_c_and_a_restart_with_demo(tmp_path: Path):
    data_dir = tmp_path / "folio"
    first = UpProcess(data_dir, free_port(), tmp_path / "up-1.log", demo=True).start()
    try:
        demo_close = _aapl(first.api_url)
        assert Decimal(demo_close["price"]) != CORRECTED  # the demo's own close, before the correction
        answer = httpx.post(f"{first.api_url}/ingest/prices", timeout=30, json=[
            {"security_id": "AAPL", "price_date": demo_close["price_date"], "price": str(CORRECTED)}])
        assert answer.status_code == 202, answer.text
        _wait_for_aapl_price(first.api_url, CORRECTED)
    finally:
        assert first.stop() == 0, first.output()[-3000:]

    second = UpProcess(data_dir, free_port(), tmp_path / "up-2.log", demo=True).start()
    try:
        position = _aapl(second.api_url)
        assert Decimal(position["price"]) == CORRECTED
        assert position["price_date"] == demo_close["price_date"]
        assert "the book already has portfolios; --demo loads nothing" in second.output()
    finally:
        assert second.stop() == 0, second.output()[-3000:]
