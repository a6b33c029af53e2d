"""Run a Faust worker against the development broker (tansu).

    python -m folio.devenv.worker -A streams.positions worker -l info ...

takes exactly the arguments of the `faust` command. It first installs the
tansu high-watermark correction (see `folio.devenv.tansu_highwater`) so table
recovery reads changelogs to their true end, and the short fetch wait
(`folio.devenv.tansu_fetch_wait`), then hands over to Faust's CLI.
Only the dev harness (`folio up`, tests) starts workers this way; against real
Kafka run plain `faust -A streams.<topology> worker`.
"""
from __future__ import annotations

import sys

from folio.devenv import tansu_fetch_wait, tansu_highwater


def main(argv: list[str] | None = None) -> None:
    tansu_highwater.install()
    tansu_fetch_wait.install()
    # Imported after the patch so nothing can bind the unpatched method first.
    from faust.cli.faust import cli

    # Faust finds `-A` by scanning sys.argv itself, so the arguments must be there.
    args = sys.argv[1:] if argv is None else argv
    sys.argv[1:] = args
    cli(args=args, prog_name="faust")


if __name__ == "__main__":
    main()
