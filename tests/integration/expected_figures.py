"""Every figure a scenario's expected.json holds, read back over HTTP and compared.

For tests that disturb a run (kills, failovers) and then must show that
nothing changed: positions, lots, cash and transactions (api_reads +
tests.support.scenario), dead letters by reason, and valuation, allocation,
the daily series, performance and risk (analytics_reads), live and as_of.
"""
from __future__ import annotations

import httpx

from tests.integration import analytics_reads, api_reads
from tests.support.scenario import (
    Mismatches, compare_dead_letters,
)


async def compare_everything(client: httpx.AsyncClient, expected: dict) -> Mismatches:
    m = Mismatches()
    await api_reads.compare_book(m, client, expected)
    await compare_analytics(m, client, expected)
    compare_dead_letters(m, expected["dead_letters"], await api_reads.dead_letters_by_reason(client))
    return m


async def compare_analytics(m: Mismatches, client: httpx.AsyncClient, expected: dict) -> None:
    """Valuation, allocation (live and as_of), the daily series, performance and risk of every portfolio."""
    as_of = expected["as_of"]
    for pid, exp in expected["portfolios"].items():
        for when in (None, as_of):  # live from the worker, then from PostgreSQL
            await analytics_reads.compare_position_values(m, client, pid, exp, when)
            await analytics_reads.compare_cash_values(m, client, pid, exp, when)
            await analytics_reads.compare_valuation(m, client, pid, exp, when)
            await analytics_reads.compare_allocation(m, client, pid, exp, when)
        await analytics_reads.compare_timeseries(m, client, pid, exp, as_of)
        await analytics_reads.compare_performance(m, client, pid, exp)
        await analytics_reads.compare_risk(m, client, pid, exp)


def report(m: Mismatches, limit: int = 40) -> str:
    return "\n".join(m[:limit]) + f"\n({len(m)} mismatches)"
