"""Structured log lines: one JSON object per record, extra fields at the top level."""

from __future__ import annotations

import logging

import orjson

from petrosa.cli.logs import JsonLineFormatter


def test_json_lines_carry_fields_at_the_top_level() -> None:
    record = logging.LogRecord(
        "petrosa.jobs", logging.INFO, __file__, 1, "series finished", (), None
    )
    record.fields = {"symbol": "BTCUSDT", "records_written": 24, "success": True}
    line = orjson.loads(JsonLineFormatter().format(record))
    assert line["msg"] == "series finished"
    assert line["level"] == "info"
    assert (line["symbol"], line["records_written"], line["success"]) == ("BTCUSDT", 24, True)
    assert line["ts"].endswith("+00:00")
