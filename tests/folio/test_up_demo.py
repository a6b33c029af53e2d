"""`folio up --demo`: the README's first command. It prints an admin key that
works (and only once), and seeds only an empty book: a restart with --demo
keeps what the user changed."""
from __future__ import annotations

import re
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from folio.devenv.broker import free_port
from tests.folio.up_process import UpProcess

pytestmark = pytest.mark.integration

CORRECTED = Decimal("250.00")


def _aapl(up: UpProcess) -> dict:
    answer = httpx.get(f"{up.api_url}/portfolios/DEMO-GROWTH/positions", timeout=30, headers=up.headers)
    assert answer.status_code == 200, answer.text
    return next(p for p in answer.json()["positions"] if p["security_id"] == "AAPL")


def _wait_for_aapl_price(up: UpProcess, price: Decimal, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while (position := _aapl(up))["price"] is None or Decimal(position["price"]) != price:
        assert time.monotonic() < deadline, f"AAPL price still {position['price']}, not {price}"
        time.sleep(0.3)
    return position


def _banner_curl(output: str) -> tuple[str, str]:
    """The ready-to-paste example the banner prints: (key, URL)."""
    found = re.findall(r"curl -H 'Authorization: Bearer (\S+)' (\S+)", output)
    assert found, output[-3000:]
    return found[-1]


def test_the_first_start_prints_a_working_key_once_and_a_restart_with_demo_keeps_a_corrected_price(tmp_path: Path):
    data_dir = tmp_path / "folio"
    first = UpProcess(data_dir, free_port(), tmp_path / "up-1.log", demo=True).start()
    try:
        # The README's first command: the banner's curl works as pasted; nothing else gets in.
        key, url = _banner_curl(first.output())
        assert url == f"{first.api_url}/portfolios"
        pasted = httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert pasted.status_code == 200, pasted.text
        assert {p["portfolio_id"] for p in pasted.json()["items"]} == {"DEMO-GROWTH", "DEMO-INCOME"}
        anonymous = httpx.get(url, timeout=30)
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
        assert httpx.get(url, headers={"Authorization": "Bearer folio_wrong"}, timeout=30).status_code == 401
        # The banner's dashboard link signs a browser in once and leaves the key out of the address.
        link = re.findall(r"dashboard\s+(\S+)", first.output())[-1]
        assert link == f"{first.api_url}/ui/?token={key}"
        with httpx.Client(timeout=30) as browser:
            signed_in = browser.get(link)
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/ui/"
            assert browser.get(f"{first.api_url}/portfolios").status_code == 200  # by the session cookie
        stored = (data_dir / "api-keys.json").read_text()
        assert key not in stored and '"role": "admin"' in stored
        assert (data_dir / "api-keys.json").stat().st_mode & 0o777 == 0o600

        demo_close = _aapl(first)
        assert Decimal(demo_close["price"]) != CORRECTED  # the demo's own close, before the correction
        answer = httpx.post(f"{first.api_url}/ingest/prices", timeout=30, headers=first.headers, json=[
            {"security_id": "AAPL", "price_date": demo_close["price_date"], "price": str(CORRECTED)}])
        assert answer.status_code == 202, answer.text
        _wait_for_aapl_price(first, CORRECTED)
    finally:
        assert first.stop() == 0, first.output()[-3000:]

    second = UpProcess(data_dir, free_port(), tmp_path / "up-2.log", demo=True, key=key).start()
    try:
        # The key is shown once: a restart says where keys live, and the first key still works.
        assert key not in second.output() and "Bearer folio_" not in second.output()
        assert f"API keys in {data_dir / 'api-keys.json'}" in second.output()
        position = _aapl(second)
        assert Decimal(position["price"]) == CORRECTED
        assert position["price_date"] == demo_close["price_date"]
        assert "the book already has portfolios; --demo loads nothing" in second.output()
    finally:
        assert second.stop() == 0, second.output()[-3000:]
