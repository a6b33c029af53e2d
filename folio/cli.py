"""The `folio` command.

    folio up [--demo] [--port 8000] [--data-dir .folio]
    folio topics apply [--file topics.yaml]
    folio produce FILE [--topics portfolios,prices]
    folio dlq list [--json]
    folio dlq redrive
    folio series rebuild [--portfolio ID ...]
    folio keys create --name N --role read|write|admin [--portfolios P1,P2]
    folio keys list [--json] | folio keys revoke NAME

Kafka is reached at $KAFKA_BOOTSTRAP (default 127.0.0.1:9092).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from aiokafka.errors import KafkaError

from folio import keys
from folio.config import Settings, load_settings
from folio.produce import EventFileError
from folio.topics import TopicCreationError, TopicsFileError

# Failures a user can act on: reported in one line, without a traceback.
_USER_ERRORS = (OSError, EventFileError, TopicsFileError, TopicCreationError)


def main(argv: Sequence[str] | None = None) -> int:
    settings = load_settings()
    args = _parser(settings).parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.handler(args, settings)
    except KafkaError as error:
        print(f"folio: Kafka at {settings.broker}: {error}", file=sys.stderr)
        return 2
    except _USER_ERRORS as error:
        print(f"folio: {error}", file=sys.stderr)
        return 2


def _parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="folio", description="Real-time portfolio position keeping.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run broker, PostgreSQL, workers, sink and API on this machine")
    up.add_argument("--demo", action="store_true",
                    help="load the demo book if the book is empty (never over a portfolio that exists)")
    up.add_argument("--port", type=int, default=settings.api_port, help="API port (default %(default)s)")
    up.add_argument("--data-dir", type=Path, default=settings.data_dir, help="local state (default %(default)s)")
    up.set_defaults(handler=_up)

    topics = commands.add_parser("topics", help="manage Kafka topics").add_subparsers(dest="action", required=True)
    apply = topics.add_parser("apply", help="create the topics of topics.yaml that are missing")
    apply.add_argument("--file", type=Path, default=None, help="default: ./topics.yaml, else the packaged one")
    apply.set_defaults(handler=_topics_apply)

    produce = commands.add_parser("produce", help="publish a JSON-lines events file, in file order")
    produce.add_argument("file", type=Path)
    produce.add_argument("--topics", type=_comma_set, default=None, help="only these topics, e.g. portfolios,prices")
    produce.set_defaults(handler=_produce)

    dlq = commands.add_parser("dlq", help="dead letters").add_subparsers(dest="action", required=True)
    listing = dlq.add_parser("list", help="show every dead letter")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(handler=_dlq_list)
    dlq.add_parser("redrive", help="re-publish dead letters not redriven yet").set_defaults(handler=_dlq_redrive)

    keys.add_commands(commands)

    series = commands.add_parser("series", help="daily series").add_subparsers(dest="action", required=True)
    rebuild = series.add_parser("rebuild", help="recompute whole daily series (default: every portfolio)")
    rebuild.add_argument("--portfolio", action="append", default=[], metavar="ID",
                         help="only this portfolio (repeatable); without it every portfolio in $DATABASE_URL")
    rebuild.set_defaults(handler=_series_rebuild)
    return parser


def _up(args: argparse.Namespace, settings: Settings) -> int:
    from folio import up  # heavy (Faust, uvicorn): only for this command

    return up.run(args) or 0


def _topics_apply(args: argparse.Namespace, settings: Settings) -> int:
    from folio.topics import apply_topics, is_difference, load_topics

    report = asyncio.run(apply_topics(settings.broker, load_topics(args.file)))
    print("\n".join(report))
    return 1 if any(is_difference(line) for line in report) else 0


def _produce(args: argparse.Namespace, settings: Settings) -> int:
    from folio.produce import produce_file

    count = asyncio.run(produce_file(settings.broker, args.file, args.topics))
    print(f"published {count} events")
    return 0


def _dlq_list(args: argparse.Namespace, settings: Settings) -> int:
    from folio.dlq import letters_with_state, list_dead_letters

    # PostgreSQL keeps one letter per original event with its state; the topic
    # has every letter ever written (a redrive that failed again adds one).
    if settings.database_url:
        letters = asyncio.run(letters_with_state(settings.database_url))
    else:
        letters = asyncio.run(list_dead_letters(settings.broker))
    if args.json:
        print(json.dumps(letters, indent=2, ensure_ascii=False))
        return 0
    for letter in letters:
        print(_describe(letter))
    reasons = Counter(letter.get("reason", "?") for letter in letters)
    summary = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
    states = Counter(letter["state"] for letter in letters if letter.get("state"))
    summary += "".join(f"; {state} {count}" for state, count in sorted(states.items()))
    print(f"{len(letters)} dead letters" + (f" ({summary})" if summary else ""))
    return 0


def _dlq_redrive(args: argparse.Namespace, settings: Settings) -> int:
    from api import audit
    from folio.dlq import redrive_run

    report = asyncio.run(redrive_run(settings.broker, database_url=settings.database_url))
    for refusal in report.refused:
        print(refusal, file=sys.stderr)
    line = f"re-published {report.published} dead letters"
    if report.published or report.refused:
        line += f" (redrive {report.redrive_id}, refused {len(report.refused)})"
        if not settings.database_url:
            line += "; no DATABASE_URL: letter states not recorded"
    print(line)
    print(audit.record_command(settings.database_url, audit.cli_entry(
        audit.REDRIVE, "folio dlq redrive", report.letter_ids(), report.audit_detail())))
    return 0


def _series_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from folio.series import all_portfolios, rebuild

    portfolios = args.portfolio
    if not portfolios:
        if not settings.database_url:
            print("folio: set DATABASE_URL (or name portfolios with --portfolio)", file=sys.stderr)
            return 2
        portfolios = asyncio.run(all_portfolios(settings.database_url))
    print(f"marked {asyncio.run(rebuild(settings.broker, portfolios))} portfolio series for recomputation")
    return 0


def _describe(letter: dict) -> str:
    source = f"{letter.get('source_topic')}[{letter.get('partition')}]@{letter.get('offset')}"
    parts = [source, str(letter.get("reason")), f"key={letter.get('key')}"]
    if letter.get("state"):
        parts.append(f"state={letter['state']} attempts={letter.get('attempts')}")
    if letter.get("field"):
        parts.append(f"field={letter['field']}")
    if letter.get("transaction_id"):
        parts.append(f"transaction_id={letter['transaction_id']}")
    return "  ".join(parts)


def _comma_set(text: str) -> set[str]:
    return {name.strip() for name in text.split(",") if name.strip()}


if __name__ == "__main__":
    sys.exit(main())
