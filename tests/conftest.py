"""Session-wide infrastructure for integration tests: a real broker and a real PostgreSQL.

Both are session-scoped and lazy: pytest starts one only when a collected test
asks for it, so unit-test runs start nothing.

Every test that starts a broker, a database or a whole stack is marked
`integration` (deselect with `-m "not integration"`), by three rules:
- it uses an infrastructure fixture, directly or through another fixture
  (pytest's fixture closure: e.g. `api_database_url` needs `postgres`);
- it lives in tests/integration/;
- its module uses the harness classes themselves (TansuBroker, LocalPostgres, Stack).
The rules are checked while tests run: an unmarked test that starts one of
those classes fails, naming itself, instead of quietly slowing a unit run.

Under CI (`CI` set, as CI services do) a skipped test fails: nothing may be
left out silently there.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from folio.devenv.broker import TansuBroker
from folio.devenv.postgres import LocalPostgres
from folio.devenv.stack import Stack

INFRASTRUCTURE_FIXTURES = frozenset({"broker", "postgres", "start_broker", "start_stack"})
INFRASTRUCTURE_CLASSES = (TansuBroker, LocalPostgres, Stack)
INTEGRATION_DIR = Path(__file__).resolve().parent / "integration"
EXTERNAL_DATABASE_ENV = "FOLIO_TEST_DATABASE_URL"
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")

# Property tests: random examples locally (to find new failures), the same ones
# every run under CI (a red build must be reproducible).
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
if IN_CI:
    settings.load_profile("ci")


def starts_infrastructure(item: pytest.Item) -> bool:
    if INFRASTRUCTURE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    if INTEGRATION_DIR in Path(item.path).resolve().parents:
        return True
    module = getattr(item, "module", None)
    return module is not None and any(
        isinstance(value, type) and issubclass(value, INFRASTRUCTURE_CLASSES) for value in vars(module).values())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if starts_infrastructure(item):
            item.add_marker(pytest.mark.integration)


# --- the rules, checked at run time -------------------------------------------------

_running: list[pytest.Item] = []  # the test being run (setup, call and teardown)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    _running.append(item)
    try:
        return (yield)
    finally:
        _running.pop()


def _refused_unless_marked(start: Callable) -> Callable:
    @functools.wraps(start)
    def guarded(self, *args, **kwargs):
        item = _running[-1] if _running else None
        if item is not None and item.get_closest_marker("integration") is None:
            pytest.fail(f"{item.nodeid} starts {type(self).__name__} but is not marked integration:"
                        " use an infrastructure fixture or mark it (see tests/conftest.py)", pytrace=False)
        return start(self, *args, **kwargs)

    guarded.unguarded = start
    return guarded


def pytest_configure(config: pytest.Config) -> None:
    for cls in INFRASTRUCTURE_CLASSES:
        if not hasattr(cls.start, "unguarded"):
            cls.start = _refused_unless_marked(cls.start)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.skipped and IN_CI and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where no test may be left out: {reason}"
    return report


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
