"""Folio's own processes (positions worker, sink, API) as supervised children.

Used by `folio up` and by the integration tests, so both run exactly the same
commands. Each child logs to `<data_dir>/logs/<name>.log` and exits when the
process that started it dies (`folio.devenv.lifeline`). With a `status_file`
the supervisor keeps `folio.devenv.run_state`'s children.json current.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from folio.devenv.lifeline import bound_to_this_process
from folio.devenv.run_state import ChildStatus, write_children

API_SERVER_FLAGS = ("--loop", "asyncio", "--http", "httptools")  # uvicorn's, named (api_spec)


@dataclass
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    # What the child gets when its parent dies; SIGTERM for one that must clean up.
    death_signal: int = signal.SIGKILL


def worker_spec(web_port: int, data_dir: Path, name: str = "positions", log_level: str = "info") -> ProcessSpec:
    """A positions worker: its own RocksDB dir (RocksDB locks it) and its own web port."""
    # folio.devenv.worker = the faust CLI plus the tansu high-watermark fix.
    url = f"http://127.0.0.1:{web_port}"
    return ProcessSpec(name, [sys.executable, "-m", "folio.devenv.worker", "-A", "streams.positions",
                              "worker", "-l", log_level, "--web-port", str(web_port), "--web-host", "127.0.0.1",
                              "--web-bind", "127.0.0.1"],
                       {"FOLIO_DATA_DIR": str(data_dir), "FOLIO_WORKER_WEB_PORT": str(web_port),
                        "FOLIO_WORKER_URL": url})


def series_spec(name: str = "series", log_level: str = "info") -> ProcessSpec:
    """The daily-series topology (no tables, no web server: PostgreSQL is its state)."""
    return ProcessSpec(name, [sys.executable, "-m", "folio.devenv.worker", "-A", "streams.series",
                              "worker", "-l", log_level, "--without-web"])


def sink_spec() -> ProcessSpec:
    return ProcessSpec("sink", [sys.executable, "-m", "sink"])


def postgres_guard_spec(pgdata: Path) -> ProcessSpec:
    """Stops the embedded PostgreSQL (not our child: pg_ctl daemonizes it) when folio up dies."""
    return ProcessSpec("postgres-guard", [sys.executable, "-m", "folio.devenv.postgres", "guard", str(pgdata)],
                       death_signal=signal.SIGTERM)


def api_spec(port: int, worker_urls: list[str] | None = None) -> ProcessSpec:
    """The API; with several positions workers it lists them all, so live reads survive one dying.

    API_SERVER_FLAGS: asyncio's loop and httptools named, not left to what is installed (uvloop, if
    present, starved some of 100 connections for up to 1.5 s: bench/README.md).
    Proxy headers off: uvicorn would otherwise take X-Forwarded-For from any
    local caller as its address (it trusts 127.0.0.1), and the audit log's
    `client` and the loopback checks must be the real peer.
    """
    env = {"FOLIO_WORKER_URL": ",".join(worker_urls)} if worker_urls else {}
    return ProcessSpec("api", [sys.executable, "-m", "folio.devenv.api", "api.main:api", "--host", "127.0.0.1",
                               "--port", str(port), "--log-level", "warning", "--no-proxy-headers",
                               *API_SERVER_FLAGS], env)


@dataclass
class Supervisor:
    """Starts, kills and restarts named child processes with one environment."""

    log_dir: Path
    env: dict[str, str]
    status_file: Path | None = None
    children: dict[str, subprocess.Popen] = field(default_factory=dict)
    specs: dict[str, ProcessSpec] = field(default_factory=dict)
    statuses: dict[str, ChildStatus] = field(default_factory=dict)

    def spawn(self, spec: ProcessSpec) -> subprocess.Popen:
        """Start `spec` without supervising it (not restarted, not in `children`)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        argv, preexec = bound_to_this_process(spec.argv, spec.death_signal)
        with open(self.log_dir / f"{spec.name}.log", "ab") as log:
            return subprocess.Popen(argv, env={**os.environ, **self.env, **spec.env}, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=preexec,
                                    start_new_session=True)

    def start(self, spec: ProcessSpec) -> subprocess.Popen:
        child = self.spawn(spec)
        previous, old = self.statuses.get(spec.name), self.children.get(spec.name)
        self.children[spec.name] = child
        self.specs[spec.name] = spec
        if previous is None:
            self.record(spec.name, child.pid)
        else:
            self.record(spec.name, child.pid, restarts=previous.restarts + 1,
                        last_exit_code=old.returncode if old is not None else None)
        return child

    def record(self, name: str, pid: int, restarts: int = 0, last_exit_code: int | None = None) -> None:
        """Note a process in the status file (also those started elsewhere: broker, PostgreSQL)."""
        self.statuses[name] = ChildStatus.of(pid, restarts, last_exit_code)
        if self.status_file is not None:
            write_children(self.status_file, self.statuses)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        child = self.children.get(name)
        if child is not None and child.poll() is None:
            os.killpg(child.pid, sig)
            child.wait(timeout=60)

    def restart(self, name: str) -> subprocess.Popen:
        self.kill(name)
        return self.start(self.specs[name])

    def alive(self, name: str) -> bool:
        child = self.children.get(name)
        return child is not None and child.poll() is None

    def stop_all(self, timeout: float = 30.0) -> None:
        # Reverse start order: the API first, the worker last, so nothing reads a stopped part.
        for name in reversed(list(self.children)):
            child = self.children[name]
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name, child in self.children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
