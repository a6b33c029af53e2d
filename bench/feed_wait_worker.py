"""A positions worker whose market feeds fetch with a shorter `fetch_max_wait_ms` (bench experiment).

    FOLIO_BENCH_FEED_FETCH_WAIT_MS=50 python bench/feed_wait_worker.py -A streams.positions worker ...

Same arguments as `python -m folio.devenv.worker`. Only `bench/valuation_latency.py`
uses it, to measure what that one consumer setting of `streams.reference_feed`
would change; the product is not modified.
"""
from __future__ import annotations

import functools
import os

from folio.devenv.worker import main
from streams import reference_feed

wait_ms = int(os.environ.get("FOLIO_BENCH_FEED_FETCH_WAIT_MS", "50"))
reference_feed.AIOKafkaConsumer = functools.partial(reference_feed.AIOKafkaConsumer, fetch_max_wait_ms=wait_ms)

if __name__ == "__main__":
    main()
