"""`python -m sink`: run the PostgreSQL sink until interrupted."""
from __future__ import annotations

import asyncio
import logging
import os
import signal

from folio.config import load_settings
from sink.runner import Sink


async def _main() -> None:
    settings = load_settings()
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await Sink(settings.broker, settings.database_url, settings.app_id,
               int(os.environ.get("FOLIO_SINK_BATCH", "5000"))).run(stop)


def main() -> None:
    logging.basicConfig(level=os.environ.get("FOLIO_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(_main())


if __name__ == "__main__":
    main()
