"""Dev harness only: Faust's consumer asks the broker with a 50 ms fetch wait, not 1.5 s.

Faust hard-codes `fetch_max_wait_ms=1500` for its consumer. Apache Kafka
answers a fetch as soon as a record is there, so the wait costs nothing in
production; tansu holds a fetch up to about half the wait even when records
arrive (bench/README.md, "Valuation latency"), which adds ~0.7 s to every
transaction's way through the positions worker. `install()` caps the wait of
every aiokafka consumer created afterwards at the product's own feed wait
(streams.reference_feed.FETCH_WAIT_MS). `folio.devenv.worker` installs it.
"""
from __future__ import annotations

import functools

import aiokafka

from streams.reference_feed import FETCH_WAIT_MS

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    original = aiokafka.AIOKafkaConsumer.__init__

    @functools.wraps(original)
    def capped(self, *topics, **kwargs):
        kwargs["fetch_max_wait_ms"] = min(kwargs.get("fetch_max_wait_ms", 500), FETCH_WAIT_MS)
        original(self, *topics, **kwargs)

    aiokafka.AIOKafkaConsumer.__init__ = capped
    _installed = True
