"""One server binary as a child process: started bound to us, awaited until it answers, stopped."""
from __future__ import annotations

import logging
import random
import socket
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from folio.devenv.lifeline import bound_to_this_process

log = logging.getLogger(__name__)


def spawn_server(argv: list[str], *, env: dict[str, str], cwd: Path, log_path: Path) -> subprocess.Popen:
    """Start `argv` logging to `log_path`, in its own session (a Ctrl-C in the terminal must not
    stop it before its clients have shut down in order), and killed when this process dies."""
    argv, preexec = bound_to_this_process(argv)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log_file:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                env=env, cwd=cwd, preexec_fn=preexec, start_new_session=True)


def wait_until_answering(process: subprocess.Popen, answers: Callable[[], bool], *, what: str, timeout: float,
                         log_path: Path, error: type[Exception]) -> None:
    """Poll `answers()` until True; raise `error` with the log's tail if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while not answers():
        if process.poll() is not None:
            raise error(f"{what} exited with code {process.returncode}:\n{log_tail(log_path)}")
        if time.monotonic() > deadline:
            raise error(f"{what} did not answer within {timeout:.0f}s:\n{log_tail(log_path)}")
        time.sleep(0.05)


def stop_server(process: subprocess.Popen | None, what: str, timeout: float) -> None:
    """SIGTERM, SIGKILL if it lingers past `timeout`; reaps the child."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        log.warning("%s pid %s ignored SIGTERM for %.0fs; killing it", what, process.pid, timeout)
        process.kill()
        process.wait()


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing uses right now, below the OS's ephemeral range.

    A port the OS picked (bind to 0) comes from the range it also gives every
    outgoing connection, so between choosing it and a server binding it (tens
    of seconds while a stack starts) a client's connection can take it: seen as
    `[Errno 98] address already in use` for the API of a restarted `folio up`.
    Below that range only explicit binds compete.
    """
    low = _ephemeral_low()
    for _ in range(200):
        port = random.randint(max(1024, low - 12000), low - 1)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default
