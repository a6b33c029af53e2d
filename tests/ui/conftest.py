"""Browser tests: a whole stack (tests/integration's factory) and Debian's headless Chromium."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import IN_CI
from tests.integration.conftest import start_stack  # noqa: F401 - the stack factory, shared
from tests.ui.chromium import Chromium, chromium_path


@pytest.fixture
async def browser(tmp_path) -> AsyncIterator[Chromium]:
    executable = chromium_path()
    if executable is None:
        message = "Chromium is not installed: apt-get install chromium (.ci/run installs it)"
        if IN_CI:
            pytest.fail(message)  # under CI the dashboard is never left untested
        pytest.skip(message)
    chromium = await Chromium(executable, tmp_path / "chromium-profile").start()
    yield chromium
    await chromium.close()
