"""The dashboard's exact decimal text (api/static/ui/decimal.js), run in Chromium and held
to Python's Decimal on hand-picked edges and seeded random values: grouping, half-even
rounding to places, sums, differences and comparison, never through a float."""
from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import pytest
import uvicorn

from api.auth.settings import AuthSettings
from api.main import create_app
from api.settings import ApiSettings
from folio.devenv.broker import free_port
from tests.ui.chromium import Chromium

EDGES = ["0", "5", "-5", "0.005", "0.015", "0.025", "-0.005", "-0.015", "9.995", "-9.995", "999999.995",
         "1234567.5600", "-1234567.891", "187.0306829573934837092731829573935", "0.00001", "100", "1000",
         "-1000000", "12345678901234567890123456789.12345"]


def python_text(text: str, places: int | None) -> str:
    value = Decimal(text)
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
        if value == 0:
            value = abs(value)  # the page writes no "-0.00"
    return f"{value:,}"


def random_decimals(count: int) -> list[str]:
    rng = random.Random(20261126)
    values = []
    for _ in range(count):
        whole = str(rng.randrange(10 ** rng.randint(1, 20)))
        fraction = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 34)))
        values.append(("-" if rng.random() < 0.4 else "") + whole + ("." + fraction if fraction else ""))
    return values


@pytest.fixture
async def dashboard_url() -> AsyncIterator[str]:
    """The API app on a local port (no database, auth off): it serves the dashboard's assets."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ApiSettings(database_url=None, auth=AuthSettings.off())),
                                           host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the API server did not start"
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_decimal_text_matches_pythons_decimal_exactly(browser: Chromium, dashboard_url: str):
    values = EDGES + random_decimals(300)
    pairs = list(zip(values, values[1:] + values[:1]))
    await browser.navigate(f"{dashboard_url}/ui/")
    await browser.wait_for("document.readyState === 'complete'")

    got = await browser.evaluate(f"""import('/ui/assets/decimal.js').then(d => {{
      const values = {json.dumps(values)}, pairs = {json.dumps(pairs)};
      return {{
        grouped: values.map(v => d.grouped(v)),
        cents: values.map(v => d.grouped(d.rounded(v, 2))),
        four: values.map(v => d.grouped(d.rounded(v, 4))),
        sums: pairs.map(([a, b]) => d.add(a, b)),
        differences: pairs.map(([a, b]) => d.subtract(a, b)),
        order: pairs.map(([a, b]) => d.compare(a, b)),
      }};
    }})""")

    with localcontext() as exact:
        exact.prec = 100  # far beyond any value here: the sums are exact
        assert got["grouped"] == [python_text(v, None) for v in values]
        assert got["cents"] == [python_text(v, 2) for v in values]
        assert got["four"] == [python_text(v, 4) for v in values]
        assert [Decimal(s) for s in got["sums"]] == [Decimal(a) + Decimal(b) for a, b in pairs]
        assert [Decimal(s) for s in got["differences"]] == [Decimal(a) - Decimal(b) for a, b in pairs]
        assert got["order"] == [(Decimal(a) > Decimal(b)) - (Decimal(a) < Decimal(b)) for a, b in pairs]
