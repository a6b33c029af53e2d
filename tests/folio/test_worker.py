"""Faust workers started by the dev harness (folio.devenv.worker) recover tables on tansu."""
from __future__ import annotations

import pytest

from folio.produce import publish
from tests.folio.conftest import create_counter_topic, wait_for_line

pytestmark = pytest.mark.integration

EVENTS, KEYS = 3000, 300
FULL_TABLE = f"table holds {EVENTS} counts over {KEYS} keys"


async def test_a_restarted_or_fresh_worker_recovers_the_whole_table_from_its_changelog(
    start_broker, faust_counter, tmp_path
):
    bootstrap = start_broker()
    await create_counter_topic(bootstrap)
    first = faust_counter(bootstrap, tmp_path / "data", "first.log")
    wait_for_line(first, "Worker ready")
    await publish(bootstrap, "counter-events", [(f"k{i % KEYS}", b'"x"') for i in range(EVENTS)])
    wait_for_line(first, FULL_TABLE)
    faust_counter.stop()

    # Same data dir: RocksDB's persisted offsets must not exceed the changelog
    # highwater (plain Faust on tansu crashes here with ConsistencyError).
    restarted = faust_counter(bootstrap, tmp_path / "data", "restarted.log")
    wait_for_line(restarted, FULL_TABLE)
    faust_counter.stop()

    # Empty data dir: the table is rebuilt from the changelog, to its true end.
    fresh = faust_counter(bootstrap, tmp_path / "fresh", "fresh.log")
    wait_for_line(fresh, FULL_TABLE)
