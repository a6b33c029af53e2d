"""`folio up --demo` loads a book on which every read endpoint answers something meaningful."""
from __future__ import annotations

import httpx

from folio.up import _load_demo


async def test_the_demo_book_answers_every_endpoint_with_figures(start_stack):
    stack = await start_stack()
    await _load_demo(stack)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as client:
        async def get(path: str, **params) -> dict:
            response = await client.get(path, params=params)
            assert response.status_code == 200, (path, response.text)
            return response.json()

        for pid in ("DEMO-GROWTH", "DEMO-INCOME"):
            positions = (await get(f"/portfolios/{pid}/positions"))["positions"]
            assert positions and all(p["valuation_status"] == "ok" for p in positions)
            assert all(p["mv_base"] is not None for p in positions)
            valuation = await get(f"/portfolios/{pid}/valuation")
            assert valuation["complete"] and valuation["total_base"] is not None
            assert float(valuation["income_base"]) > 0  # the demo pays dividends
            series = await get(f"/portfolios/{pid}/timeseries", limit=1000)
            assert series["total"] > 300  # more than a year of weekdays
            assert all(item["mv"] is not None for item in series["items"])
            for period in ("MTD", "YTD", "1Y", "SI"):
                perf = await get(f"/portfolios/{pid}/performance", period=period)
                assert perf["twr"] is not None and perf["mwr_annualized"] is not None, (pid, period, perf)
            si = await get(f"/portfolios/{pid}/performance", period="SI")
            assert si["twr_annualized"] is not None  # SI spans more than 366 days
            risk = await get(f"/portfolios/{pid}/risk", period="1Y")
            assert all(risk[f] is not None for f in ("volatility", "sharpe", "sortino", "max_drawdown", "beta",
                                                       "alpha", "tracking_error", "information_ratio", "var",
                                                       "cvar")), risk
            for by in ("asset_class", "sector", "currency", "country", "security"):
                allocation = await get(f"/portfolios/{pid}/allocation", by=by)
                assert allocation["complete"]
                assert abs(sum(b["weight"] for b in allocation["buckets"]) - 1) < 1e-9
