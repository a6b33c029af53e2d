"""The `folio` command, run in-process against a real broker."""
from __future__ import annotations

import json

import pytest

from folio.cli import main

pytestmark = pytest.mark.integration


@pytest.fixture
def folio_command(start_broker, monkeypatch, capsys):
    """Run `folio ARGS...` against a fresh broker; return (exit code, stdout)."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP", start_broker())

    def run(*args: str) -> tuple[int, str]:
        code = main(list(args))
        return code, capsys.readouterr().out

    return run


def test_topics_apply_succeeds_twice_and_then_reports_topics_existing(folio_command):
    assert folio_command("topics", "apply")[0] == 0

    code, out = folio_command("topics", "apply")

    assert code == 0 and out.splitlines()[0] == "exists portfolios"


def test_produced_invalid_payload_is_not_a_dead_letter_until_the_topology_says_so(folio_command, events_file):
    folio_command("topics", "apply")
    path = events_file([{"topic": "transactions", "key": "P1", "value": "not json"}])

    assert folio_command("produce", str(path)) == (0, "published 1 events\n")
    assert folio_command("dlq", "list") == (0, "0 dead letters\n")
    code, out = folio_command("dlq", "list", "--json")
    assert code == 0 and json.loads(out) == []
    assert folio_command("dlq", "redrive") == (
        0, "re-published 0 dead letters\nnot audited: DATABASE_URL is not set\n")
