"""Children started through folio.devenv.lifeline exit when their parent is killed with SIGKILL."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tests.folio.up_process import wait_until_gone

# A parent that starts `sleep` bound to itself, prints the sleeper's pid, then waits to be killed.
PARENT = """
import subprocess, sys, time
from folio.devenv.lifeline import bound_to_this_process
argv, preexec = bound_to_this_process(["sleep", "300"])
child = subprocess.Popen(argv, preexec_fn=preexec)
print(child.pid, flush=True)
time.sleep(300)
"""


@pytest.mark.parametrize("mechanism", ["pdeathsig", "watchdog"])
def test_a_bound_child_exits_when_its_parent_is_killed_with_sigkill(mechanism: str):
    env = {**os.environ, "FOLIO_LIFELINE": "watchdog" if mechanism == "watchdog" else ""}
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, env=env, text=True)
    child = psutil.Process(int(parent.stdout.readline()))
    # Under the watchdog the direct child is the watchdog; `sleep` is its child, started soon after.
    deadline = time.monotonic() + 60
    while True:
        sleepers = [child, *child.children()]
        if any(p.name() == "sleep" for p in sleepers):
            break
        assert time.monotonic() < deadline, "sleep never started"
        time.sleep(0.05)

    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()

    assert wait_until_gone(sleepers) == []
