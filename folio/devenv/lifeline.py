"""Children that exit when the process that started them dies (even by kill -9).

On Linux each child asks the kernel for a signal when its parent dies
(`prctl(PR_SET_PDEATHSIG)`, set between fork and exec, so it holds for any
binary). The kernel sends it when the *thread* that forked the child exits,
so children are started from the main thread or from executor threads that
live as long as the process. Where prctl does not exist (macOS), the child is
started under a watchdog instead:

    python -m folio.devenv.lifeline PARENT_PID -- ARGV...

which runs ARGV and, when PARENT_PID is gone (its parent pid changes),
SIGTERMs it, then SIGKILLs it after a grace period. FOLIO_LIFELINE=watchdog
forces the watchdog on Linux too (tests use it to exercise that path).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1
_GRACE_S = 10.0
_POLL_S = 0.25


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        # Loaded here, in the parent: the forked child must not dlopen anything.
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_prctl = _load_prctl()


def _use_watchdog() -> bool:
    return _prctl is None or os.environ.get("FOLIO_LIFELINE") == "watchdog"


def bound_to_this_process(argv: list[str], death_signal: int = signal.SIGKILL
                          ) -> tuple[list[str], Callable[[], None] | None]:
    """(argv, preexec_fn) for Popen so that the child gets `death_signal` when this process dies."""
    parent = os.getpid()
    if _use_watchdog():
        return [sys.executable, "-m", "folio.devenv.lifeline", str(parent), str(int(death_signal)), "--",
                *argv], None

    def preexec() -> None:
        _prctl(_PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), death_signal)

    return argv, preexec


def watch_parent(parent: int, on_parent_gone: Callable[[], None]) -> None:
    """Portable: poll until our parent pid changes from `parent`, then call `on_parent_gone` (blocks)."""
    while os.getppid() == parent:
        time.sleep(_POLL_S)
    on_parent_gone()


def _watchdog(parent: int, death_signal: int, argv: list[str]) -> int:
    child = subprocess.Popen(argv)
    # The supervisor signals our whole process group, so the child gets SIGTERM/SIGINT itself.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    while child.poll() is None:
        if os.getppid() != parent:
            child.send_signal(death_signal if death_signal != signal.SIGKILL else signal.SIGTERM)
            try:
                child.wait(_GRACE_S)
            except subprocess.TimeoutExpired:
                child.kill()
            break
        time.sleep(_POLL_S)
    return child.wait()


if __name__ == "__main__":
    parent_pid, signal_number, separator, *command = sys.argv[1:]
    assert separator == "--", "usage: python -m folio.devenv.lifeline PARENT_PID SIGNAL -- ARGV..."
    sys.exit(_watchdog(int(parent_pid), int(signal_number), command))
