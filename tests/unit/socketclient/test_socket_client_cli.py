"""``petrosa socket-client serve`` refuses a bad configuration with one line and exit 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from petrosa.cli.main import app


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (["--streams", "kline_1m,bogus"], {}, "'bogus' does not exist"),
        (["--symbols", "btcusdt"], {}, "uppercase"),
        (["--symbols", "BTC/USDT"], {}, "uppercase"),
        (["--markets", "spot", "--streams", "markPrice"], {}, "does not exist on spot"),
        (
            [],
            {"SOCKET_CLIENT_STREAMS": "aggTrade,markPrice", "SOCKET_CLIENT_MARKETS": "spot"},
            "does not exist on spot",
        ),
        (["--markets", "options"], {}, "markets"),
    ],
)
def test_a_bad_configuration_exits_2_with_one_line(
    args: list[str], env: dict[str, str], words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SOCKET_CLIENT_STREAMS", "SOCKET_CLIENT_MARKETS", "SOCKET_CLIENT_SYMBOLS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["socket-client", "serve", *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert words in lines[0]
