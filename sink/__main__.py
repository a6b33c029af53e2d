"""`python -m sink`: run the PostgreSQL sink until interrupted."""
from __future__ import annotations

import asyncio
import os
import signal

from folio.config import load_settings
from folio.logs import configure as configure_logging
from folio.telemetry import heartbeat
from sink.runner import Sink


async def _main() -> None:
    settings = load_settings()
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with heartbeat("sink", settings.database_url):
        await Sink(settings.broker, settings.database_url, settings.app_id,
                   int(os.environ.get("FOLIO_SINK_BATCH", "5000"))).run(stop)


def main() -> None:
    configure_logging("sink")
    asyncio.run(_main())


if __name__ == "__main__":
    main()
