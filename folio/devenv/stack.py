"""The whole of Folio on one machine: broker, PostgreSQL, topics, worker, sink, API.

`folio up` runs it; the integration tests start the same stack. The embedded
broker and database are used unless `KAFKA_BOOTSTRAP` / `DATABASE_URL` point
elsewhere. Tests keep the broker in memory (fast, empty at every start);
`folio up` asks for `durable_broker`: topics on a local S3 server under
`<data-dir>/broker`, so a kill -9 loses nothing the broker acknowledged, one
run per data dir (run/lock), every process recorded in run/children.json, and
what a killed run left running is stopped before anything starts. Every child
exits when the process running the stack dies (`folio.devenv.lifeline`).
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx

from api.auth.api_keys import KeyFile
from api.auth.principal import Role

from folio.config import load_settings
from folio.consumer_groups import consumer_groups
from folio.devenv import tansu_highwater
from folio.devenv.broker import TansuBroker, free_port
from folio.devenv.postgres import LocalPostgres
from folio.devenv.processes import (Supervisor, api_spec, postgres_guard_spec, series_spec, sink_spec,
                                    worker_spec)
from folio.devenv.progress import topic_sizes, wait_for_lag_zero
from folio.devenv.run_state import STATUS_FILE_ENV, RunLock, children_file, stop_left_behind
from folio.devenv.seaweed import BUCKET, SeaweedS3
from folio.devenv.tansu_s3_repair import mend_store
from folio.dlq import DEAD_LETTERS_TOPIC
from folio.topics import apply_topics, load_topics
from sink.migrate import migrate

log = logging.getLogger("folio.stack")

INPUT_TOPICS = ["portfolios", "instruments", "prices", "fx_rates", "transactions"]


@dataclass
class Stack:
    data_dir: Path
    api_port: int = 8000
    worker_port: int | None = None
    kafka_bootstrap: str | None = None
    database_url: str | None = None
    broker_port: int | None = None
    app_id: str = "folio"
    with_api: bool = True
    workers: int = 1
    # folio up: the broker on local S3 storage, the run lock and run state (see module doc).
    durable_broker: bool = False
    ready_timeout: float = 120.0  # seconds for every child to answer (recovery of big tables takes longer)
    extra_env: dict[str, str] = field(default_factory=dict)
    # Consumer-group session timeout (s). A group's first join on the dev broker
    # waits half of it, and a dead worker's partitions move after it.
    session_timeout: float = 10.0
    # Access control: on unless FOLIO_AUTH=off. The keys file is the data dir's
    # (folio.config); when it holds no key, start() creates an admin key and
    # keeps it in `admin_key` (and `created_admin_key`) for folio up to print.
    # A caller that already holds a key (e.g. a test restarting a data dir with
    # a key of its own in FOLIO_API_KEYS) passes it as `admin_key`.
    auth: bool = field(default_factory=lambda: load_settings().auth_enabled)
    admin_key: str | None = None
    created_admin_key: bool = False
    # A fresh secret per run between the API and the workers' live pages.
    worker_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    broker: TansuBroker | None = None
    s3: SeaweedS3 | None = None
    postgres: LocalPostgres | None = None
    postgres_guard: subprocess.Popen | None = None
    supervisor: Supervisor | None = None
    run_lock: RunLock | None = None
    # What start() found and did, one line each, for folio up to print.
    report: list[str] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        return self.kafka_bootstrap or self.broker.bootstrap

    @property
    def dsn(self) -> str:
        return self.database_url or self.postgres.dsn

    @property
    def worker_url(self) -> str:
        return f"http://127.0.0.1:{self.worker_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def keys_file(self) -> Path:
        return replace(load_settings(), data_dir=self.data_dir).keys_file

    @property
    def api_headers(self) -> dict[str, str]:
        """What a client of this stack's API sends to be let in."""
        return {"Authorization": f"Bearer {self.admin_key}"} if self.auth and self.admin_key else {}

    @property
    def worker_headers(self) -> dict[str, str]:
        """What a client of a worker's live pages sends (the API does it itself)."""
        return {"Authorization": f"Bearer {self.worker_token}"}

    def client(self, timeout: float = 30, **kwargs) -> httpx.AsyncClient:
        """An HTTP client of this stack's API that is let in (the admin key)."""
        return httpx.AsyncClient(base_url=self.api_url, timeout=timeout, headers=self.api_headers, **kwargs)

    def _ensure_admin_key(self) -> None:
        keys = KeyFile(self.keys_file)
        if not keys.records():
            self.admin_key, _ = keys.create("admin", Role.ADMIN)
            self.created_admin_key = True

    @property
    def broker_store(self) -> Path:
        """The durable broker's S3 data (SeaweedFS)."""
        return self.data_dir / "broker" / "seaweedfs"

    def worker_names(self) -> list[str]:
        return ["positions"] + [f"positions-{i}" for i in range(2, self.workers + 1)]

    def worker_dir(self, index: int) -> Path:
        """Worker 1 keeps its tables in the data dir itself; others in a subdir each."""
        return self.data_dir if index == 0 else self.data_dir / f"worker-{index + 1}"

    def worker_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.worker_ports]

    async def start(self) -> Stack:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        logs = self.data_dir / "logs"
        self.supervisor = Supervisor(logs, {}, status_file=children_file(self.data_dir) if self.durable_broker else None)
        found: dict[str, list[Path]] = {}
        if self.durable_broker:
            self.run_lock = RunLock(self.data_dir).acquire()
            await asyncio.to_thread(self._stop_what_a_killed_run_left)
            found = self._earlier_state()
        if self.kafka_bootstrap is None:
            tansu_highwater.install()  # lag checks read end offsets too
            if self.durable_broker:
                if found and "broker" not in found:
                    await asyncio.to_thread(self._set_aside_unmatched_state, found)
                    found = {}
                self.s3 = SeaweedS3(self.broker_store, logs)
                await asyncio.to_thread(self.s3.start)
                self.supervisor.record("seaweedfs", self.s3.pid)
                if self.s3.moved_metadata:
                    self.report.append(f"folio: moved the broker store's metadata ({self.s3.moved_metadata}) from "
                                       "LevelDB to SQLite, which syncs every write")
                if "broker" in found:
                    mended = await asyncio.to_thread(mend_store, self.s3.filer_url, BUCKET)
                    if mended:
                        self.report.append("folio: mended the broker store (offsets reserved by writes the kill cut "
                                           "short, never acknowledged): " + "; ".join(map(str, mended)))
            # On S3 the first answer waits for SeaweedFS to be fully up (tansu retries it meanwhile).
            self.broker = TansuBroker(logs, port=self.broker_port, s3=self.s3,
                                      startup_timeout=120.0 if self.s3 else 30.0)
            await asyncio.to_thread(self.broker.start)
            self.supervisor.record("broker", self.broker.pid)
            if self.s3 is None:
                # This broker keeps topics in memory only: state derived from
                # an earlier run's topics cannot be resumed against an empty one.
                await self._forget_derived_state()
        if self.database_url is None:
            self.postgres = LocalPostgres(self.data_dir / "postgres")
            await asyncio.to_thread(self.postgres.start)
            self.supervisor.record("postgres", self.postgres.pid)
            self.postgres_guard = self.supervisor.spawn(postgres_guard_spec(self.postgres.data_dir))
            self.supervisor.record("postgres-guard", self.postgres_guard.pid)
        conn = await asyncpg.connect(self.dsn)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        for line in await apply_topics(self.bootstrap, load_topics()):
            log.info("topics: %s", line)
        self.worker_port = self.worker_port or free_port()
        self.worker_ports = [self.worker_port] + [free_port() for _ in range(self.workers - 1)]
        self.supervisor.env.update({
            "KAFKA_BOOTSTRAP": self.bootstrap,
            "DATABASE_URL": self.dsn,
            "FOLIO_DATA_DIR": str(self.data_dir),
            "FOLIO_APP_ID": self.app_id,
            "FOLIO_WORKER_URL": self.worker_url,
            "FOLIO_SESSION_TIMEOUT": f"{self.session_timeout:g}",
            **({"FOLIO_API_KEYS_FILE": str(self.keys_file)} if self.auth else {"FOLIO_AUTH": "off"}),
            "FOLIO_WORKER_TOKEN": self.worker_token,
            **({STATUS_FILE_ENV: str(self.supervisor.status_file)} if self.supervisor.status_file else {}),
            **self.extra_env,
        })
        for i, name in enumerate(self.worker_names()):
            self.worker_dir(i).mkdir(parents=True, exist_ok=True)
            self.supervisor.start(worker_spec(self.worker_ports[i], self.worker_dir(i), name))
        self.supervisor.start(sink_spec())
        self.supervisor.start(series_spec())
        if self.with_api and self.auth:
            self._ensure_admin_key()
        if self.with_api:
            self.supervisor.start(api_spec(self.api_port, self.worker_urls()))
        if found:
            self.report.append(await self._describe_restored(found))
        await self.wait_ready(self.ready_timeout)
        return self

    def _stop_what_a_killed_run_left(self) -> None:
        if not self.run_lock.previous_owner:
            return  # the last run released the lock: it stopped cleanly
        stopped = stop_left_behind(self.data_dir)
        self.report.append(
            f"folio: the last run ({self.run_lock.previous_owner}) did not stop cleanly; "
            + (f"stopped what it left running: {', '.join(stopped)}" if stopped
               else "none of its processes was still running"))

    def _earlier_state(self) -> dict[str, list[Path]]:
        """What earlier runs left in the data dir, by part."""
        found = {
            "broker": [self.broker_store] if self.broker_store.is_dir() else [],
            "legacy snapshot": [p for p in (self.data_dir / "broker-snapshot", self.data_dir / ".broker-snapshot.old",
                                            self.data_dir / "broker-snapshot.clean") if p.exists()],
            "postgres": [self.data_dir / "postgres"] if (self.data_dir / "postgres" / "PG_VERSION").exists() else [],
            "tables": sorted(p for p in self.data_dir.glob("**/positions-data")
                             if p.relative_to(self.data_dir).parts[0] not in ("broker", "postgres")
                             and not p.relative_to(self.data_dir).parts[0].startswith("previous-")),
        }
        return {part: paths for part, paths in found.items() if paths}

    def _set_aside_unmatched_state(self, found: dict[str, list[Path]]) -> None:
        """Tables and a database without the topics they came from: keep them, but aside.

        This is what a data dir of the older `folio up` (in-memory broker,
        topics saved to broker-snapshot/ on a clean stop) looks like: its
        topics cannot become the durable store's, and tables and database
        without their topics would serve figures nothing can reproduce.
        """
        if (self.data_dir / "postgres").exists():
            LocalPostgres(self.data_dir / "postgres").stop()  # a server an older run left running
        aside = self.data_dir / f"previous-{datetime.now().strftime('%Y%m%dT%H%M%S')}"
        for path in sorted({p for paths in found.values() for p in paths}):
            target = aside / path.relative_to(self.data_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)
        moved = ", ".join(str(p.relative_to(self.data_dir)) for paths in found.values() for p in paths)
        self.report.append(
            f"folio: {self.data_dir} held state without a durable broker store (an older folio up kept topics "
            f"in memory); it cannot be resumed, so it was moved to {aside} ({moved}) and the book starts empty")

    async def _describe_restored(self, found: dict[str, list[Path]]) -> str:
        parts = []
        if "broker" in found:
            sizes = await topic_sizes(self.bootstrap, ["transactions", DEAD_LETTERS_TOPIC])
            parts.append(f"broker topics from {self.broker_store} ({sizes['transactions']} transactions, "
                         f"{sizes[DEAD_LETTERS_TOPIC]} dead letters)")
        if "postgres" in found:
            parts.append(f"PostgreSQL from {self.data_dir / 'postgres'}")
        if "tables" in found:
            parts.append("worker tables from " + ", ".join(str(p) for p in found["tables"]))
        return "folio: restored " + ", ".join(parts)

    async def _forget_derived_state(self) -> None:
        for faust_dir in self.data_dir.glob("**/positions-data"):
            shutil.rmtree(faust_dir)
        if self.database_url is None and (self.data_dir / "postgres").exists():
            pg = LocalPostgres(self.data_dir / "postgres")
            await asyncio.to_thread(pg.start)
            conn = await asyncpg.connect(pg.dsn)
            try:
                await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
            finally:
                await conn.close()
            self.postgres = pg

    async def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        urls = [f"{url}/ready/" for url in self.worker_urls()] + ([f"{self.api_url}/health/live"] if self.with_api else [])
        async with httpx.AsyncClient(timeout=2.0) as client:
            for url in urls:
                while True:
                    for name in self.supervisor.children:
                        if not self.supervisor.alive(name):
                            raise RuntimeError(f"{name} exited; see {self.supervisor.log_dir / (name + '.log')}")
                    try:
                        if (await client.get(url)).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{url} not answering after {timeout}s")
                    await asyncio.sleep(0.3)

    def lag_groups(self, include_sink: bool = True) -> dict[str, list[str]]:
        return {g.group_id: list(g.topics) for g in consumer_groups(self.app_id, include_sink)}

    async def wait_idle(self, timeout: float = 300.0, include_sink: bool = True) -> float:
        """Wait until the worker and the sink have consumed and committed everything."""
        return await wait_for_lag_zero(self.bootstrap, self.lag_groups(include_sink), timeout=timeout)

    async def stop(self) -> None:
        if self.supervisor is not None:
            await asyncio.to_thread(self.supervisor.stop_all)
        if self.postgres is not None:
            await asyncio.to_thread(self.postgres.stop)
        if self.postgres_guard is not None and self.postgres_guard.poll() is None:
            self.postgres_guard.terminate()
            await asyncio.to_thread(self.postgres_guard.wait)
        if self.broker is not None:
            await asyncio.to_thread(self.broker.stop)
        if self.s3 is not None:
            await asyncio.to_thread(self.s3.stop)
        if self.run_lock is not None:
            self.run_lock.release()
