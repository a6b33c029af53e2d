"""api.main: the served app's startup objects are kept out of later garbage collections."""
from __future__ import annotations

import gc

import api.main


def test_importing_the_served_app_freezes_what_startup_made():
    assert gc.get_freeze_count() > 0


def test_freezing_moves_every_live_object_out_of_the_collected_generations():
    alive = [[] for _ in range(1000)]  # lists are tracked by the collector
    before = gc.get_freeze_count()
    api.main.freeze_startup_objects()
    assert gc.get_freeze_count() >= before + len(alive)
    assert all(not gc.is_finalized(x) for x in alive)
