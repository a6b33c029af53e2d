"""run/lock and run/children.json: one run per data dir, and a killed run's processes found by what it recorded."""
from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from folio.devenv.processes import ProcessSpec, Supervisor
from folio.devenv.run_state import (AlreadyRunning, ChildStatus, RunLock, children_file, read_children,
                                    stop_left_behind, write_children)
from tests.folio.up_process import wait_until_gone

SLEEPER = [sys.executable, "-c", "import time; time.sleep(300)"]


@pytest.fixture
def sleepers():
    started: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        started.append(subprocess.Popen(SLEEPER))
        return started[-1]

    yield start
    for process in started:
        process.kill()
        process.wait()


def test_a_second_run_on_a_held_data_dir_is_refused_naming_the_first(tmp_path: Path):
    first = RunLock(tmp_path).acquire()
    try:
        with pytest.raises(AlreadyRunning, match=r"another folio up \(pid \d+"):
            RunLock(tmp_path).acquire()
    finally:
        first.release()


def test_the_lock_of_a_run_killed_with_sigkill_is_taken_over_and_says_which_run_that_was(tmp_path: Path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from folio.devenv.run_state import RunLock; "
        f"RunLock(Path({str(tmp_path)!r})).acquire(); print('held', flush=True); time.sleep(300)")],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    holder.send_signal(signal.SIGKILL)
    holder.wait()

    lock = RunLock(tmp_path).acquire()
    try:
        assert lock.previous_owner.startswith(f"pid {holder.pid} ")
    finally:
        lock.release()
    assert RunLock(tmp_path).acquire().previous_owner == ""  # a released lock means a clean stop


def test_a_recorded_process_is_recognised_only_while_it_is_the_same_process(sleepers):
    sleeper = sleepers()
    status = ChildStatus.of(sleeper.pid)

    assert status.process() is not None
    assert replace(status, create_time=status.create_time - 5).process() is None  # a recycled pid
    assert replace(status, cmdline=["something", "else"]).process() is None
    sleeper.kill()
    sleeper.wait()
    assert status.process() is None


def test_stopping_what_a_run_left_stops_exactly_its_recorded_processes(tmp_path: Path, sleepers):
    recorded, stranger = sleepers(), sleepers()
    gone_earlier = sleepers()
    write_children(children_file(tmp_path), {"api": ChildStatus.of(recorded.pid),
                                             "sink": ChildStatus.of(gone_earlier.pid)})
    gone_earlier.kill()
    gone_earlier.wait()

    assert stop_left_behind(tmp_path) == [f"api (pid {recorded.pid})"]

    assert recorded.wait(timeout=30) == -signal.SIGTERM
    assert stranger.poll() is None


def test_the_supervisor_records_every_start_and_restart_with_the_last_exit_code(tmp_path: Path):
    status_file = tmp_path / "run" / "children.json"
    supervisor = Supervisor(tmp_path / "logs", {}, status_file=status_file)
    try:
        first = supervisor.start(ProcessSpec("sleeper", SLEEPER))
        supervisor.record("broker", first.pid)
        assert read_children(status_file)["sleeper"].restarts == 0

        supervisor.kill("sleeper")  # SIGKILL
        second = supervisor.restart("sleeper")

        status = read_children(status_file)["sleeper"]
        assert (status.pid, status.restarts, status.last_exit_code) == (second.pid, 1, -signal.SIGKILL)
        assert status.process() is not None and status.started_at
        assert set(read_children(tmp_path)) == {"sleeper", "broker"}  # the data dir's file, by data dir
    finally:
        supervisor.stop_all()
    assert wait_until_gone([psutil.Process(second.pid)] if psutil.pid_exists(second.pid) else []) == []
