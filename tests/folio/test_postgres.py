"""The development PostgreSQL: embedded, Unix socket only, state kept in its data dir."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import asyncpg
import psutil
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from folio.devenv.postgres import LocalPostgres, StopRequest

pytestmark = pytest.mark.integration


async def fetch_value(dsn: str, sql: str):
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


async def execute(dsn: str, sql: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def test_the_dsn_connects_asyncpg_to_the_folio_database(postgres):
    assert await fetch_value(postgres.dsn, "SELECT current_database()") == "folio"


async def test_the_sqlalchemy_url_connects_an_async_engine_to_the_same_database(postgres):
    engine = create_async_engine(postgres.sqlalchemy_url())
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT current_database()"))).scalar() == "folio"
    finally:
        await engine.dispose()


async def test_a_restart_on_the_same_data_dir_keeps_its_tables(tmp_path: Path):
    data_dir = tmp_path / "pgdata"
    with LocalPostgres(data_dir) as first:
        await execute(first.dsn, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")
        first_pid = first.pid

    assert not _postmaster_alive(first_pid)
    with LocalPostgres(data_dir) as second:
        assert await fetch_value(second.dsn, "SELECT n FROM kept") == 42


async def test_a_server_whose_holder_was_killed_is_adopted_and_then_really_stopped(tmp_path: Path):
    data_dir = tmp_path / "pgdata"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from folio.devenv.postgres import LocalPostgres; "
         f"print(LocalPostgres({str(data_dir)!r}).start().pid, flush=True); time.sleep(600)"],
        stdout=subprocess.PIPE, text=True,
    )
    orphan_pid = int(holder.stdout.readline())
    holder.kill()  # SIGKILL: no exit hooks run, the server stays up
    holder.wait()
    assert _postmaster_alive(orphan_pid)

    adopter = LocalPostgres(data_dir).start()
    assert adopter.pid == orphan_pid
    assert await fetch_value(adopter.dsn, "SELECT 1") == 1
    adopter.stop()

    assert not _postmaster_alive(orphan_pid)


def _postmaster_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def test_the_data_dir_and_the_socket_are_for_the_server_user_only(tmp_path: Path):
    # Trust authentication: whoever can reach the socket is the superuser.
    server = LocalPostgres(tmp_path / "pg").start()
    try:
        for restart in (False, True):
            if restart:
                server.stop()
                server = LocalPostgres(tmp_path / "pg").start()
            assert stat.S_IMODE(os.stat(server.data_dir).st_mode) == 0o700
            socket = server.socket_dir / ".s.PGSQL.5432"
            assert stat.S_IMODE(os.stat(socket).st_mode) & 0o077 == 0, oct(os.stat(socket).st_mode)
            assert stat.S_IMODE(os.stat(str(socket) + ".lock").st_mode) & 0o077 == 0
        assert "unix_socket_permissions = 0700" in (server.data_dir / "postgresql.conf").read_text()
        conn = await asyncpg.connect(server.dsn)
        await conn.close()
    finally:
        server.stop()


def test_a_stop_signal_that_lands_while_the_guard_holds_its_wait_lock_still_stops_it():
    # A signal handler runs in the main thread between bytecodes, possibly inside
    # Event.wait() with the event's lock held: a handler that sets the event then
    # waits for that lock for ever (the guard never stopped PostgreSQL).
    import threading

    stop = StopRequest()
    done = threading.Event()

    def signal_inside_the_wait() -> None:
        with stop.event._cond:  # what the main thread holds inside Event.wait()
            stop.on_signal()
        done.set()

    worker = threading.Thread(target=signal_inside_the_wait, daemon=True)
    worker.start()
    assert done.wait(5), "the handler blocked on the lock its own thread holds"
    assert stop.requested
    stop.wait(poll=0.01)  # returns at once
