"""`folio up`: the whole of Folio on this machine, until Ctrl-C."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import tempfile
from pathlib import Path

from folio.config import load_settings
from folio.devenv.broker import free_port
from folio.devenv.progress import topic_sizes
from folio.devenv.run_state import AlreadyRunning
from folio.devenv.stack import Stack
from folio.logs import configure as configure_logging
from folio.produce import produce_file
from folio.redact import redact_url

log = logging.getLogger("folio.up")


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


async def book_has_portfolios(stack: Stack) -> bool:
    """Any portfolio event on the broker: then --demo must not load (it would undo the user's changes)."""
    return (await topic_sizes(stack.bootstrap, ["portfolios"]))["portfolios"] > 0


async def _load_demo(stack: Stack) -> None:
    from folio.demo import demo_jsonl

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        f.write(demo_jsonl())
    try:
        await produce_file(stack.bootstrap, f.name, {"portfolios", "instruments", "prices", "fx_rates"})
        await stack.wait_idle(include_sink=False)
        await produce_file(stack.bootstrap, f.name, {"transactions"})
        await stack.wait_idle()
    finally:
        os.unlink(f.name)


def _dashboard(stack: Stack) -> str:
    """The banner's dashboard line: with the key made at this start as a one-time sign-in link
    (the API swaps it for a session cookie and drops it from the address), else the plain URL."""
    url = f"{stack.api_url}/ui/"
    if stack.auth and stack.created_admin_key:
        return f"  dashboard    {url}?token={stack.admin_key}"
    return f"  dashboard    {url}" + ("   (sign in with an API key)" if stack.auth else "")


def _access(stack: Stack) -> str:
    """The banner's access lines: the key made at first start (shown this once), or how to get one."""
    if not stack.auth:
        return "  access       OFF (FOLIO_AUTH=off): anyone who reaches the port can read and write"
    if stack.created_admin_key:
        return (f"  access       admin API key, created now and shown this once (only its hash is kept in "
                f"{stack.keys_file}):\n"
                f"                 {stack.admin_key}\n"
                f"               try: curl -H 'Authorization: Bearer {stack.admin_key}' {stack.api_url}/portfolios")
    return (f"  access       API keys in {stack.keys_file} (`folio keys list`; a new one: "
            "`folio keys create --name NAME --role admin`)")


async def _up(args: argparse.Namespace) -> int:
    settings = load_settings()
    stack = Stack(
        Path(args.data_dir).resolve(), api_port=args.port,
        worker_port=settings.worker_port if _port_free(settings.worker_port) else free_port(),
        kafka_bootstrap=settings.kafka_bootstrap, database_url=settings.database_url,
        broker_port=settings.broker_port if _port_free(settings.broker_port) else None, app_id=settings.app_id,
        durable_broker=True, ready_timeout=900.0,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"folio: starting (data in {stack.data_dir}) …", flush=True)
    logging.getLogger("folio.stack").setLevel(logging.WARNING)
    try:
        await stack.start()
    except AlreadyRunning as exc:
        print(f"folio: {exc}", flush=True)
        return 2
    except BaseException:
        for line in stack.report:
            print(line, flush=True)
        try:
            await stack.stop()
        except Exception:  # noqa: BLE001 - the start's own error is the one to show
            log.exception("stopping after a failed start failed too")
        raise
    for line in stack.report:
        print(line, flush=True)
    try:
        if args.demo and await book_has_portfolios(stack):
            print("folio: the book already has portfolios; --demo loads nothing (it only seeds an empty book)",
                  flush=True)
        elif args.demo:
            print("folio: loading the demo book …", flush=True)
            await _load_demo(stack)
        print(f"""
folio is up.
{_dashboard(stack)}
  API          {stack.api_url}   (docs: {stack.api_url}/docs)
  portfolios   {stack.api_url}/portfolios
  positions    {stack.api_url}/portfolios/DEMO-GROWTH/positions
  transactions {stack.api_url}/portfolios/DEMO-GROWTH/transactions
  valuation    {stack.api_url}/portfolios/DEMO-GROWTH/valuation
  performance  {stack.api_url}/portfolios/DEMO-GROWTH/performance?period=YTD
  risk         {stack.api_url}/portfolios/DEMO-GROWTH/risk?period=1Y
  allocation   {stack.api_url}/portfolios/DEMO-GROWTH/allocation?by=sector
  Kafka        {stack.bootstrap}
  PostgreSQL   {redact_url(stack.dsn)}
  logs         {stack.data_dir / 'logs'}
{_access(stack)}
Ctrl-C stops everything.""", flush=True)
        while not stop.is_set():
            for name in list(stack.supervisor.children):
                if not stack.supervisor.alive(name):
                    log.warning("%s exited; restarting it (see its log)", name)
                    stack.supervisor.restart(name)
            try:
                await asyncio.wait_for(stop.wait(), timeout=2.0)
            except TimeoutError:
                pass
    finally:
        print("\nfolio: stopping …", flush=True)
        await stack.stop()
        print("folio: stopped.", flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    configure_logging("folio-up", default_level="WARNING")
    return asyncio.run(_up(args))
