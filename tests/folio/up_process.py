"""`folio up` as a real subprocess, for tests that kill it."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from folio.devenv.broker import free_port

_KAFKA_LINE = re.compile(r"^\s*Kafka\s+(\S+)", re.MULTILINE)
# The admin key folio up prints once, at a data dir's first start.
PRINTED_KEY = re.compile(r"curl -H 'Authorization: Bearer (folio_[A-Za-z0-9_-]+)'")


@dataclass
class UpProcess:
    """One `folio up` run; its stdout and stderr go to `output_path`."""

    data_dir: Path
    api_port: int
    output_path: Path
    demo: bool = False
    process: subprocess.Popen | None = None
    bootstrap: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)
    # The admin key: read from the banner at a first start, else handed over
    # from the run that printed it (`UpProcess(..., key=first.key)`).
    key: str | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def output(self) -> str:
        return self.output_path.read_text(errors="replace") if self.output_path.exists() else ""

    def start(self, timeout: float = 300.0) -> UpProcess:
        argv = [sys.executable, "-m", "folio.cli", "up", "--data-dir", str(self.data_dir), "--port", str(self.api_port)]
        if self.demo:
            argv.append("--demo")
        # Free ports of our own: the defaults (9092, 6066) may be taken by anyone meanwhile.
        env = {**os.environ, "FOLIO_BROKER_PORT": str(free_port()), "FOLIO_WORKER_WEB_PORT": str(free_port()),
               **self.extra_env}
        for name in ("KAFKA_BOOTSTRAP", "DATABASE_URL", "FOLIO_DATA_DIR"):
            env.pop(name, None)
        with open(self.output_path, "ab") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while "folio is up." not in self.output():
            if self.process.poll() is not None:
                raise RuntimeError(f"folio up exited with {self.process.returncode}:\n{self.output()[-4000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"folio up not up after {timeout}s:\n{self.output()[-4000:]}")
            time.sleep(0.2)
        self.bootstrap = _KAFKA_LINE.findall(self.output())[-1]
        printed = PRINTED_KEY.findall(self.output())
        if printed:
            self.key = printed[-1]
        return self

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}

    def client(self, timeout: float = 30) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.api_url, timeout=timeout, headers=self.headers)

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 120.0) -> int:
        """Ctrl-C, as a user would; returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        os.kill(self.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def processes_pointing_at(data_dir: Path) -> list[psutil.Process]:
    """Live processes whose command line, working directory or FOLIO_DATA_DIR is inside `data_dir`."""
    root = str(data_dir.resolve())
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() == psutil.STATUS_ZOMBIE or process.pid == os.getpid():
                continue
            inside = (any(root in part for part in process.cmdline())
                      or process.cwd().startswith(root)
                      or process.environ().get("FOLIO_DATA_DIR", "").startswith(root))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if inside:
            found.append(process)
    return found


def wait_until_gone(processes: list[psutil.Process], timeout: float = 60.0) -> list[psutil.Process]:
    """Those of `processes` still alive (not zombies) after up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in processes if _alive(p)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
