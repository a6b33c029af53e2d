"""Logs as JSON lines (FOLIO_LOG_FORMAT=json) carry the stage and, on record-level lines, where the record is."""
from __future__ import annotations

import json
import logging
import sys

import pytest

from folio.logs import (JsonFormatter, TextFormatter, configure, faust_logging_config, formatter, log_format,
                        record_fields)
from folio.redact import redact_url


def _record(msg: str, *args, exc_info=None, **extra) -> logging.LogRecord:
    record = logging.LogRecord("folio.test", logging.WARNING, __file__, 1, msg, args, exc_info)
    record.__dict__.update(extra)
    return record


def test_a_record_level_line_names_the_stage_topic_partition_and_offset():
    line = JsonFormatter("sink").format(_record("dead-lettered %s", "invalid_json",
                                                **record_fields("transactions", 3, 1207)))

    parsed = json.loads(line)

    assert {k: parsed[k] for k in ("level", "logger", "stage", "message", "topic", "partition", "offset")} == {
        "level": "WARNING", "logger": "folio.test", "stage": "sink", "message": "dead-lettered invalid_json",
        "topic": "transactions", "partition": 3, "offset": 1207}
    assert parsed["ts"].endswith("Z")


def test_a_line_about_no_record_has_no_record_fields():
    parsed = json.loads(JsonFormatter("api").format(_record("started")))

    assert not {"topic", "partition", "offset"} & set(parsed)


def test_a_traceback_stays_inside_the_one_json_line():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        line = JsonFormatter("positions").format(_record("failed", exc_info=sys.exc_info()))

    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exc"]


def test_text_lines_append_the_record_fields():
    line = TextFormatter("sink").format(_record("retrying", **record_fields("prices", 0, 5)))

    assert line.endswith("folio.test: retrying [topic=prices partition=0 offset=5]")


def test_the_format_is_chosen_by_environment_and_anything_else_is_refused(monkeypatch):
    monkeypatch.setenv("FOLIO_LOG_FORMAT", "JSON")
    assert log_format() == "json"
    monkeypatch.setenv("FOLIO_LOG_FORMAT", "yaml")
    with pytest.raises(ValueError, match="FOLIO_LOG_FORMAT"):
        log_format()


def test_configure_writes_json_lines_to_stderr(monkeypatch, capsys):
    monkeypatch.setenv("FOLIO_LOG_FORMAT", "json")
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure("folio-up")
        logging.getLogger("folio.up").warning("sink exited; restarting it")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)

    parsed = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (parsed["stage"], parsed["message"]) == ("folio-up", "sink exited; restarting it")


def test_faust_workers_log_through_our_formatters_in_both_formats(monkeypatch):
    monkeypatch.delenv("FOLIO_LOG_FORMAT", raising=False)
    assert faust_logging_config("positions")["formatters"]["folio"] == {
        "()": "folio.logs.TextFormatter", "stage": "positions"}
    monkeypatch.setenv("FOLIO_LOG_FORMAT", "json")
    config = faust_logging_config("positions")
    assert config["merge"] is True
    assert config["formatters"]["folio"] == {"()": "folio.logs.JsonFormatter", "stage": "positions"}
    assert config["handlers"]["default"]["formatter"] == "folio"


SECRETS = {
    "an API key": ("created folio_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg for bob", "folio_AbCdEfGh"),
    "a bearer header": ("sent Authorization: Bearer s3cr3t-token-value", "s3cr3t-token-value"),
    "an X-API-Key header": ("headers {'X-API-Key': 'k-very-secret'}", "k-very-secret"),
    "a JWT": ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl rejected", "eyJzdWIiOiJib2IifQ"),
    "a DATABASE_URL password": ("connecting to postgresql://folio:hunter2@db:5432/folio", "hunter2"),
    "a token query value": ("GET /ui/?token=folio-session-secret HTTP/1.1", "folio-session-secret"),
}


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("what", list(SECRETS))
def test_a_log_line_never_carries_a_secret(monkeypatch, fmt: str, what: str):
    message, secret = SECRETS[what]
    monkeypatch.setenv("FOLIO_LOG_FORMAT", fmt)
    line = formatter("api").format(_record(message))
    assert secret not in line and "***" in line, line
    try:
        raise RuntimeError(message)
    except RuntimeError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
    assert secret not in formatter("api").format(record)


def test_a_url_keeps_everything_but_its_password():
    assert redact_url("postgresql://folio:hunter2@db:5432/folio?sslmode=require") == \
        "postgresql://folio:***@db:5432/folio?sslmode=require"
    assert redact_url("postgresql://postgres@/folio?host=/tmp/pg") == "postgresql://postgres@/folio?host=/tmp/pg"
