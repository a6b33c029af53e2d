"""What a `folio up` run is running, on disk under `<data-dir>/run/` (the one owner of that layout).

    run/lock            held (flock) by the live `folio up`; holds its pid and start time
    run/children.json   {name: {pid, restarts, started_at, last_exit_code, create_time, cmdline}}

`children.json` is rewritten atomically (temp file + rename) whenever a child
starts or is restarted, so a reader never sees half a file. The operator (and
the API, through $FOLIO_UP_STATUS_FILE) reads it with `read_children`; the
next `folio up` reads it to find what a killed run left running. A pid alone
could by then name an unrelated process, so each entry also keeps the
process's start time and command line, and `ChildStatus.process()` answers a
process only when both still match.
"""
from __future__ import annotations

import fcntl
import json
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

RUN_DIR = "run"
CHILDREN_FILE = "children.json"
LOCK_FILE = "lock"
STATUS_FILE_ENV = "FOLIO_UP_STATUS_FILE"  # the API child finds children.json here


def run_dir(data_dir: Path) -> Path:
    return data_dir / RUN_DIR


def children_file(data_dir: Path) -> Path:
    return run_dir(data_dir) / CHILDREN_FILE


@dataclass(frozen=True)
class ChildStatus:
    pid: int
    restarts: int = 0
    started_at: str = ""  # ISO 8601, UTC
    last_exit_code: int | None = None  # of the previous incarnation; None before any restart
    create_time: float | None = None  # psutil's start time of `pid`: tells a recycled pid apart
    cmdline: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, pid: int, restarts: int = 0, last_exit_code: int | None = None) -> ChildStatus:
        """The status of a process started just now."""
        try:
            process = psutil.Process(pid)
            create_time, cmdline = process.create_time(), process.cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            create_time, cmdline = None, []
        return cls(pid, restarts, datetime.now(UTC).isoformat(timespec="seconds"), last_exit_code,
                   create_time, cmdline)

    def process(self) -> psutil.Process | None:
        """This very process if it still runs (not a zombie, not a recycled pid), else None."""
        try:
            process = psutil.Process(self.pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
            if self.create_time is not None and abs(process.create_time() - self.create_time) > 0.01:
                return None
            if self.cmdline and process.cmdline() != self.cmdline:
                return None
            return process
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return None


def parse_children(text: str) -> dict[str, ChildStatus]:
    """children.json's content; ValueError when it is not an object of children by name."""
    raw = json.loads(text)
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise ValueError("not an object of children by name")
    try:
        return {name: ChildStatus(**{**entry, "cmdline": list(entry.get("cmdline", []))})
                for name, entry in raw.items()}
    except TypeError as exc:  # a missing pid or an unknown field
        raise ValueError(str(exc)) from None


def read_children(path: Path | str) -> dict[str, ChildStatus]:
    """The children of a run: `path` is children.json itself or a data dir; {} when there is none."""
    path = Path(path)
    if path.is_dir():
        path = children_file(path)
    try:
        return parse_children(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def write_children(path: Path, children: dict[str, ChildStatus]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staging.write_text(json.dumps({name: asdict(status) for name, status in children.items()}, indent=1))
    os.replace(staging, path)


class AlreadyRunning(RuntimeError):
    """Another live `folio up` holds the data dir."""


@dataclass
class RunLock:
    """An exclusive flock on run/lock for the life of this process (the kernel drops it when we die)."""

    data_dir: Path
    previous_owner: str = ""  # what the lock file said before we took it: the last run's pid
    _fd: int | None = None

    @property
    def path(self) -> Path:
        return run_dir(self.data_dir) / LOCK_FILE

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 200, 0).decode(errors="replace").strip()
            os.close(fd)
            raise AlreadyRunning(f"another folio up ({owner or 'pid unknown'}) is running on {self.data_dir}; "
                                 "stop it first or use another --data-dir") from None
        self.previous_owner = os.pread(fd, 200, 0).decode(errors="replace").strip()
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None


# How each recorded process is asked to stop; the embedded PostgreSQL's postmaster
# takes SIGINT as "fast shutdown" (SIGTERM would wait for clients to leave).
_STOP_SIGNALS = {"postgres": signal.SIGINT}
_STOP_GRACE_S = 15.0


def stop_left_behind(data_dir: Path) -> list[str]:
    """Stop every recorded process of an earlier run that still runs; "name (pid N)" of each.

    Only processes children.json names, with the same start time and command
    line, are touched. Newest first (the API before the broker), as a clean
    stop would.
    """
    stopped = []
    for name, status in reversed(list(read_children(data_dir).items())):
        process = status.process()
        if process is None:
            continue
        try:
            process.send_signal(_STOP_SIGNALS.get(name, signal.SIGTERM))
            if not _gone_within(process, _STOP_GRACE_S):
                process.kill()
                _gone_within(process, _STOP_GRACE_S)
        except psutil.NoSuchProcess:
            pass
        stopped.append(f"{name} (pid {status.pid})")
    return stopped


def _gone_within(process: psutil.Process, timeout: float) -> bool:
    """Exited (or a zombie: orphans are not always reaped here) within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False
