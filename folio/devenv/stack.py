"""The whole of Folio on one machine: broker, PostgreSQL, topics, worker, sink, API.

`folio up` runs it; the integration tests start the same stack. The embedded
broker and database are used unless `KAFKA_BOOTSTRAP` / `DATABASE_URL` point
elsewhere.
"""
from __future__ import annotations

import asyncio
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from folio.devenv.broker import TansuBroker, free_port
from folio.devenv.postgres import LocalPostgres
from folio.devenv import tansu_highwater
from folio.devenv.processes import Supervisor, api_spec, series_spec, sink_spec, worker_spec
from folio.devenv.progress import wait_for_lag_zero
from folio.devenv.snapshot import SnapshotError, restore_snapshot, save_snapshot
from folio.topics import apply_topics, load_topics
from sink.migrate import migrate
from sink.runner import REFERENCE_TOPICS, SERIES_MARKS_TOPIC, changelog_topics

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
    # Keep the in-memory broker's topics across runs (folio up): saved on a
    # clean stop, restored on the next start.
    persist_broker: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)

    broker: TansuBroker | None = None
    postgres: LocalPostgres | None = None
    supervisor: Supervisor | None = None

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

    def worker_names(self) -> list[str]:
        return ["positions"] + [f"positions-{i}" for i in range(2, self.workers + 1)]

    def worker_dir(self, index: int) -> Path:
        """Worker 1 keeps its tables in the data dir itself; others in a subdir each."""
        return self.data_dir if index == 0 else self.data_dir / f"worker-{index + 1}"

    def worker_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.worker_ports]

    async def start(self) -> Stack:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.kafka_bootstrap is None:
            tansu_highwater.install()  # lag checks read end offsets too
            self.broker = TansuBroker(self.data_dir / "logs", port=self.broker_port)
            await asyncio.to_thread(self.broker.start)
            if not await self._restore_broker():
                # This broker keeps topics in memory only: state derived from
                # an earlier run's topics cannot be resumed against an empty one.
                await self._forget_derived_state()
        if self.database_url is None:
            self.postgres = LocalPostgres(self.data_dir / "postgres")
            await asyncio.to_thread(self.postgres.start)
        conn = await asyncpg.connect(self.dsn)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        for line in await apply_topics(self.bootstrap, load_topics()):
            log.info("topics: %s", line)
        self.worker_port = self.worker_port or free_port()
        self.worker_ports = [self.worker_port] + [free_port() for _ in range(self.workers - 1)]
        env = {
            "KAFKA_BOOTSTRAP": self.bootstrap,
            "DATABASE_URL": self.dsn,
            "FOLIO_DATA_DIR": str(self.data_dir),
            "FOLIO_APP_ID": self.app_id,
            "FOLIO_WORKER_URL": self.worker_url,
            "FOLIO_SESSION_TIMEOUT": "10",
            **self.extra_env,
        }
        self.supervisor = Supervisor(self.data_dir / "logs", env)
        for i, name in enumerate(self.worker_names()):
            self.worker_dir(i).mkdir(parents=True, exist_ok=True)
            self.supervisor.start(worker_spec(self.worker_ports[i], self.worker_dir(i), name))
        self.supervisor.start(sink_spec())
        self.supervisor.start(series_spec())
        if self.with_api:
            self.supervisor.start(api_spec(self.api_port, self.worker_urls()))
        await self.wait_ready()
        return self

    @property
    def snapshot_dir(self) -> Path:
        return self.data_dir / "broker-snapshot"

    @property
    def clean_stop_marker(self) -> Path:
        return self.data_dir / "broker-snapshot.clean"

    async def _restore_broker(self) -> bool:
        """Restore the topics saved by the last clean stop; False when there is none.

        Only a snapshot taken at a clean stop matches the RocksDB tables and
        the database; after an unclean stop the older snapshot would not, so
        the marker is consumed here and written again only by a clean stop.
        """
        if not self.persist_broker or not self.clean_stop_marker.exists():
            return False
        self.clean_stop_marker.unlink()
        try:
            info = await restore_snapshot(self.bootstrap, self.snapshot_dir)
        except SnapshotError as exc:
            log.warning("broker snapshot not restored (%s); starting from a clean slate", exc)
            return False
        if info is not None:
            log.warning("restored the broker from the last clean stop: %s", info)
        return info is not None

    async def _save_broker(self) -> None:
        info = await save_snapshot(self.bootstrap, self.snapshot_dir)
        self.clean_stop_marker.write_text(str(info))
        log.warning("saved the broker for the next start: %s", info)

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
        app = f"{self.app_id}-positions"
        groups = {f"{app}-batcher": ["transactions"],
                  app: ["portfolios", f"{app}-transaction-batches", "instruments", "prices", "fx_rates"]}
        if include_sink:
            groups[f"{self.app_id}-sink"] = [*changelog_topics(self.app_id), *REFERENCE_TOPICS]
            # The sink relays series marks before it commits, so after it the series topology.
            groups[f"{self.app_id}-series"] = [SERIES_MARKS_TOPIC]
        return groups

    async def wait_idle(self, timeout: float = 300.0, include_sink: bool = True) -> float:
        """Wait until the worker and the sink have consumed and committed everything."""
        return await wait_for_lag_zero(self.bootstrap, self.lag_groups(include_sink), timeout=timeout)

    async def stop(self) -> None:
        if self.supervisor is not None:
            await asyncio.to_thread(self.supervisor.stop_all)
        if self.broker is not None and self.persist_broker:
            await self._save_broker()
        if self.postgres is not None:
            await asyncio.to_thread(self.postgres.stop)
        if self.broker is not None:
            await asyncio.to_thread(self.broker.stop)
