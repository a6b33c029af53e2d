"""Which positions worker owns which portfolio: Kafka's partitioner and Faust's router view."""
from __future__ import annotations

import httpx
from aiokafka.partitioner import murmur2

from folio.topics import load_topics

BOOKS_CHANGELOG = "folio-positions-books-changelog"


def partition_of(portfolio_id: str) -> int:
    """Kafka's default partitioner (murmur2 of the key), as every Kafka client computes it."""
    partitions = next(t.partitions for t in load_topics() if t.name == "portfolios")
    return (murmur2(portfolio_id.encode()) & 0x7FFFFFFF) % partitions


async def partition_owners(client: httpx.AsyncClient, worker_url: str) -> dict[int, str]:
    """partition → URL of the worker holding it actively, from Faust's router view."""
    hosts = (await client.get(f"{worker_url}/router/")).raise_for_status().json()
    return {p: host for host, tables in hosts.items() for p in tables.get(BOOKS_CHANGELOG, [])}
