"""A live answer's version changes with every write of its portfolio, every market move and every reload."""
from __future__ import annotations

from streams.live_versions import LiveVersions


def test_the_version_stays_while_nothing_the_answer_depends_on_changes():
    versions = LiveVersions()
    assert versions.etag("P1") == versions.etag("P1")


def test_a_write_changes_the_version_of_the_portfolios_written_and_no_other():
    versions = LiveVersions()
    before = {p: versions.etag(p) for p in ("P1", "P2", "P3")}
    versions.written(["P1", "P1", "P2"])
    assert versions.etag("P1") != before["P1"]
    assert versions.etag("P2") != before["P2"]
    assert versions.etag("P3") == before["P3"]


def test_a_market_move_and_a_reload_change_every_portfolios_version():
    versions = LiveVersions()
    before = versions.etag("P1")
    versions.market_moved()
    moved = versions.etag("P1")
    versions.tables_reloaded()
    assert len({before, moved, versions.etag("P1")}) == 3


def test_two_workers_never_give_the_same_version():
    assert LiveVersions().etag("P1") != LiveVersions().etag("P1")
