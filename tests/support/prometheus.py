"""Reading /metrics with the Prometheus client library's own parser (which also rejects a malformed exposition)."""
from __future__ import annotations

from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(text) for s in family.samples]


def total_by(text: str, name: str, label: str, **where: str) -> dict[str, float]:
    """Sum of `name`'s samples matching `where`, by one label's value."""
    totals: dict[str, float] = defaultdict(float)
    for sample_name, labels, value in samples(text):
        if sample_name == name and all(labels.get(k) == v for k, v in where.items()):
            totals[labels[label]] += value
    return dict(totals)
