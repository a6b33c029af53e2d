"""Session-wide infrastructure for integration tests: a real broker and a real PostgreSQL.

Both are session-scoped and lazy: pytest starts one only when a collected test
asks for it, so unit-test runs start nothing. Every test using them is marked
`integration` automatically (deselect with `-m "not integration"`).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from folio.devenv.broker import TansuBroker
from folio.devenv.postgres import LocalPostgres

INFRASTRUCTURE_FIXTURES = frozenset({"broker", "postgres", "start_broker"})
EXTERNAL_DATABASE_ENV = "FOLIO_TEST_DATABASE_URL"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if INFRASTRUCTURE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap string of a tansu broker shared by the session (use unique topic names)."""
    with TansuBroker(tmp_path_factory.mktemp("tansu")) as running:
        yield running.bootstrap


@pytest.fixture
def start_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], str]]:
    """Factory of fresh, empty brokers for tests that need fixed topic names to themselves."""
    started: list[TansuBroker] = []

    def start() -> str:
        new = TansuBroker(tmp_path_factory.mktemp("tansu"))
        started.append(new)
        return new.start()

    yield start
    for running in started:
        running.stop()


@dataclass(frozen=True)
class ExternalPostgres:
    """A database given by URL ($FOLIO_TEST_DATABASE_URL), shaped like LocalPostgres."""

    dsn: str

    def sqlalchemy_url(self) -> str:
        return "postgresql+asyncpg://" + self.dsn.split("://", 1)[1]


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPostgres | ExternalPostgres]:
    """The session's PostgreSQL: embedded in a temp dir, or $FOLIO_TEST_DATABASE_URL if set."""
    external = os.environ.get(EXTERNAL_DATABASE_ENV)
    if external:
        yield ExternalPostgres(external)
        return
    with LocalPostgres(Path(tmp_path_factory.mktemp("postgres")) / "pgdata") as server:
        yield server
