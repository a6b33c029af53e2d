"""Logging for every Folio process: one setup, text or JSON lines (`FOLIO_LOG_FORMAT`).

`FOLIO_LOG_FORMAT=json` writes one JSON object per line: `ts`, `level`,
`logger`, `stage` (which process: positions, series, sink, api, folio-up),
`message`, `exc` (a traceback, when there is one), and `topic`, `partition`,
`offset` on every line about one record. Those come from `record_fields`:

    log.warning("dead-lettered: %s", reason, extra=record_fields(topic, partition, offset))

Text (the default) appends them as `topic=… partition=… offset=…`.
`FOLIO_LOG_LEVEL` (default INFO) sets the level. Faust workers take the
setup through their app's `logging_config` (streams.app), everything else
calls `configure(stage)` at start.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

from folio.redact import redact_text

RECORD_FIELDS = ("topic", "partition", "offset")
_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def record_fields(topic: str | None, partition: int | None, offset: int | None) -> dict[str, Any]:
    """`extra=` for a log line about one source record."""
    return {"topic": topic, "partition": partition, "offset": offset}


def log_format() -> str:
    value = os.environ.get("FOLIO_LOG_FORMAT", "text").strip().lower()
    if value not in ("text", "json"):
        raise ValueError(f"FOLIO_LOG_FORMAT must be 'text' or 'json', not {value!r}")
    return value


def log_level(default: str = "INFO") -> str:
    return os.environ.get("FOLIO_LOG_LEVEL", default).upper()


class JsonFormatter(logging.Formatter):
    def __init__(self, stage: str) -> None:
        super().__init__()
        self.stage = stage

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "stage": self.stage,
            "message": record.getMessage(),
        }
        for name in RECORD_FIELDS:
            if getattr(record, name, None) is not None:
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return redact_text(json.dumps(line, default=str))


class TextFormatter(logging.Formatter):
    def __init__(self, stage: str) -> None:
        super().__init__(_TEXT)
        self.stage = stage

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        where = " ".join(f"{n}={getattr(record, n)}" for n in RECORD_FIELDS if getattr(record, n, None) is not None)
        return redact_text(f"{text} [{where}]" if where else text)


def formatter(stage: str) -> logging.Formatter:
    return JsonFormatter(stage) if log_format() == "json" else TextFormatter(stage)


def configure(stage: str, default_level: str = "INFO") -> None:
    """Root logs to stderr in the chosen format; uvicorn's own handlers (if any) reformatted too."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(stage))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(log_level(default_level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        for h in logging.getLogger(name).handlers:
            h.setFormatter(formatter(stage))


def faust_logging_config(stage: str) -> dict[str, Any]:
    """A Faust worker's `logging_config`: its default handler in our format, so
    its lines are redacted like every other process's (folio.redact)."""
    kind = "JsonFormatter" if log_format() == "json" else "TextFormatter"
    return {
        "version": 1,
        "merge": True,
        "formatters": {"folio": {"()": f"folio.logs.{kind}", "stage": stage}},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "folio",
                                 "stream": "ext://sys.stderr"}},
    }
