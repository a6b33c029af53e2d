"""The sink with a shorter consumer `fetch_max_wait_ms` (bench experiment).

    FOLIO_BENCH_SINK_FETCH_WAIT_MS=50 python bench/fetch_wait_sink.py

Same as `python -m sink`. Only `bench/stream_latency.py` uses it, to measure
what that one consumer setting of `sink.runner` would change on the
development broker (which holds a fetch up to about half its max wait); the
product is not modified.
"""
from __future__ import annotations

import functools
import os

from sink import runner
from sink.__main__ import main

wait_ms = int(os.environ.get("FOLIO_BENCH_SINK_FETCH_WAIT_MS", "50"))
runner.AIOKafkaConsumer = functools.partial(runner.AIOKafkaConsumer, fetch_max_wait_ms=wait_ms)

if __name__ == "__main__":
    main()
