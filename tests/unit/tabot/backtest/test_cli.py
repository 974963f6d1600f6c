"""``petrosa tabot backtest`` through CliRunner, reading a Binance archive folder."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from petrosa.cli.main import app
from petrosa.contracts import Interval
from petrosa.tabot import CATALOGUE
from petrosa.tabot.window import CandleWindow
from tests.unit.tabot.candles import random_walk, resample

DAY_MS = 86_400_000


def write_archive(folder: Path, symbol: str, candles: CandleWindow) -> None:
    """One archive zip (Binance CSV, no header) holding every candle of the window."""
    interval = candles.interval.value
    lines = io.StringIO()
    for row in range(len(candles)):
        t = int(candles.open_time[row])
        values = (candles.open[row], candles.high[row], candles.low[row], candles.close[row])
        o, h, low, c = (repr(float(v)) for v in values)
        close_time = t + candles.step_ms - 1
        lines.write(
            f"{t},{o},{h},{low},{c},{float(candles.volume[row])!r},{close_time},0,1,0,0,0\n"
        )
    name = f"{symbol}-{interval}-2023-11.zip"
    with zipfile.ZipFile(folder / name, "w") as bundle:
        bundle.writestr(f"{symbol}-{interval}-2023-11.csv", lines.getvalue())


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("archive")
    candles = random_walk(4_000, seed=5, interval=Interval.M15)
    write_archive(folder, "BTCUSDT", candles)
    write_archive(folder, "BTCUSDT", resample(candles, Interval.H1))
    return folder


def day(index: int, archive_start: int) -> str:
    return str(archive_start + index * DAY_MS)


def run(*arguments: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["tabot", "backtest", *arguments])
    return result.exit_code, result.stdout, result.stderr


def first_open(archive: Path) -> int:
    with zipfile.ZipFile(next(archive.glob("*-15m-*.zip"))) as bundle:
        text = bundle.read(bundle.namelist()[0]).decode()
    return int(text.split(",", 1)[0])


def test_json_has_one_entry_per_strategy_with_trades(archive: Path, tmp_path: Path) -> None:
    start = first_open(archive)
    code, out, err = run(
        "--strategies", "all", "--symbols", "BTCUSDT", "--interval", "15m",
        "--from", day(20, start), "--to", day(41, start), "--archive", str(archive),
        "--json", "--report", str(tmp_path),
    )  # fmt: skip
    assert code == 0, err
    entries = json.loads(out)
    assert [e["strategy_id"] for e in entries] == [s.id for s in CATALOGUE]
    by_id = {e["strategy_id"]: e for e in entries}
    assert all(isinstance(e["trades"], int) for e in entries)
    assert sum(e["trades"] for e in entries) > 0
    assert by_id["minervini_trend_template"]["skipped"] == "timeframe"
    assert by_id["multi_timeframe_trend_continuation"]["skipped"] is None
    assert by_id["bollinger_squeeze_alert"]["trades"] == 0
    traded = next(e for e in entries if e["trades"] > 0)
    for field in ("win_rate", "total_return", "mean_trade_return", "profit_factor",
                  "max_drawdown", "sharpe", "exposure", "exits", "rejections"):  # fmt: skip
        assert field in traded
    assert sum(traded["exits"].values()) == traded["trades"]
    pages = list(tmp_path.glob("backtest-BTCUSDT-15m-*.html"))
    assert len(pages) == 1
    assert "<svg" in pages[0].read_text()
    assert "equity curves:" in err


def test_table_on_a_terminal(archive: Path) -> None:
    start = first_open(archive)
    code, out, err = run(
        "--strategies", "momentum_pulse,doji_reversal", "--symbols", "BTCUSDT",
        "--from", day(20, start), "--to", day(41, start), "--archive", str(archive),
    )  # fmt: skip
    assert code == 0, err
    assert "momentum_pulse" in out
    assert "doji_reversal" in out
    assert "Sharpe" in out


def test_all_timeframes_runs_strategies_their_setting_excludes(archive: Path) -> None:
    start = first_open(archive)
    code, out, err = run(
        "--strategies", "minervini_trend_template", "--symbols", "BTCUSDT",
        "--from", day(20, start), "--to", day(41, start), "--archive", str(archive),
        "--json", "--all-timeframes",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)[0]["skipped"] is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--strategies": "no_such_strategy"}, "unknown strategy 'no_such_strategy'"),
        ({"--interval": "7m"}, "unknown interval '7m'"),
        ({"--interval": "1M"}, "no fixed length"),
        ({"--from": "2023-11-30", "--to": "2023-11-01"}, "--from must be before --to"),
        ({"--from": "yesterday"}, "neither ISO-8601 nor epoch"),
        ({"--symbols": "btc-usdt"}, "malformed symbol"),
        ({"--symbols": "ETHUSDT"}, "no 15m candles for ETHUSDT"),
        ({"--from": "2020-01-01", "--to": "2020-02-01"}, "no 15m candles for BTCUSDT"),
        ({"--archive": "/nonexistent/folder"}, "not a directory"),
        ({"--market": "options"}, "expected spot or futures"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    archive: Path, change: dict[str, str], message: str
) -> None:
    start = first_open(archive)
    options = {
        "--strategies": "all", "--symbols": "BTCUSDT", "--interval": "15m",
        "--from": day(20, start), "--to": day(41, start), "--archive": str(archive),
    } | change  # fmt: skip
    code, out, err = run(*np.ravel(list(options.items())).tolist())
    assert code == 2, out + err
    assert message in err
    assert len(err.strip().splitlines()) == 1
