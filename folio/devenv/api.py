"""Run the API against the development broker (tansu).

    python -m folio.devenv.api api.main:api --host 127.0.0.1 --port 8000

takes exactly the arguments of `uvicorn`. It first installs the tansu
high-watermark correction (folio.devenv.tansu_highwater): the API reads
partitions' end offsets for the consumer lag it reports. Against real Kafka
run plain `uvicorn api.main:api`.
"""
from __future__ import annotations

import sys

from folio.devenv import tansu_highwater


def main(argv: list[str] | None = None) -> None:
    tansu_highwater.install()
    import uvicorn.main

    uvicorn.main.main(args=sys.argv[1:] if argv is None else argv, prog_name="uvicorn")


if __name__ == "__main__":
    main()
