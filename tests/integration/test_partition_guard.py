"""A worker whose tables would not line up with the topics' partitions refuses to start."""
from __future__ import annotations

import pytest


async def test_a_worker_configured_for_other_partition_counts_stops_with_a_clear_message(start_stack):
    with pytest.raises(RuntimeError, match="positions exited") as failure:
        await start_stack(extra_env={"FOLIO_PARTITIONS": "2"}, with_api=False)
    log = failure.value.args[0].split("see ", 1)[1]
    with open(log) as worker_log:
        assert "has 4 partitions but the tables have 2: set FOLIO_PARTITIONS=4" in worker_log.read()
