"""Logs as JSON lines (FOLIO_LOG_FORMAT=json) carry the stage and, on record-level lines, where the record is."""
from __future__ import annotations

import json
import logging

import pytest

from folio.logs import JsonFormatter, TextFormatter, configure, faust_logging_config, log_format, record_fields


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


def test_faust_workers_get_a_merged_config_only_for_json(monkeypatch):
    monkeypatch.delenv("FOLIO_LOG_FORMAT", raising=False)
    assert faust_logging_config("positions") is None
    monkeypatch.setenv("FOLIO_LOG_FORMAT", "json")
    config = faust_logging_config("positions")
    assert config["merge"] is True
    assert config["formatters"]["folio"] == {"()": "folio.logs.JsonFormatter", "stage": "positions"}
    assert config["handlers"]["default"]["formatter"] == "folio"
