"""``petrosa tabot strategies [--json]``."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from petrosa.cli.main import app


def test_strategies_as_json_lists_all_28_with_warm_up_and_parameters() -> None:
    result = CliRunner().invoke(app, ["tabot", "strategies", "--json"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    assert len(listing) == 28
    pulse = listing[0]
    assert pulse["id"] == "momentum_pulse"
    assert pulse["version"] == 1
    assert pulse["sides"] == ["buy"]
    assert pulse["timeframes"] == "all"
    assert pulse["warm_up"] == 396
    assert pulse["rows_needed"] == 402
    assert pulse["parameters"]["rsi_min"] == 50
    by_id = {entry["id"]: entry for entry in listing}
    assert by_id["minervini_trend_template"]["timeframes"] == ["1d"]
    assert by_id["bollinger_squeeze_alert"]["sides"] == ["alert"]
    assert by_id["multi_timeframe_trend_continuation"]["higher_timeframe_warm_up"] == 396


def test_strategies_as_a_table_names_each_strategy() -> None:
    result = CliRunner().invoke(app, ["tabot", "strategies"])
    assert result.exit_code == 0, result.output
    assert "28 candle strategies" in result.stdout
    for name in ("momentum_pulse", "minervini_trend_template", "1582", "alert"):
        assert name in result.stdout
