"""Configuration, clock and decimal text: the small pieces around the market."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from petrosa.contracts.market import DEFAULT_SYMBOLS
from petrosa.exchange.simulator.clock import SimulatedClock
from petrosa.exchange.simulator.settings import SimulatorSettings
from petrosa.exchange.simulator.text import decimal_text, padded_text


class _Time:
    def __init__(self) -> None:
        self.wall = 1_000.0
        self.mono = 50.0


def test_clock_runs_from_its_start() -> None:
    time = _Time()
    clock = SimulatedClock(1_700_000_000_000, wall=lambda: time.wall, monotonic=lambda: time.mono)
    time.mono += 2.5
    assert clock.now_ms() == clock.running_ms() == 1_700_000_002_500


def test_frozen_clock_stands_still_but_windows_run() -> None:
    time = _Time()
    clock = SimulatedClock(
        1_700_000_000_000, frozen=True, wall=lambda: time.wall, monotonic=lambda: time.mono
    )
    time.mono += 90
    assert clock.now_ms() == 1_700_000_000_000
    assert clock.running_ms() == 1_700_000_090_000


def test_default_clock_is_the_real_time() -> None:
    time = _Time()
    clock = SimulatedClock(wall=lambda: time.wall, monotonic=lambda: time.mono)
    assert clock.now_ms() == 1_000_000


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXCHANGE_SIM_SYMBOLS", "btcusdt, FOOUSDT,BTCUSDT")
    monkeypatch.setenv("EXCHANGE_SIM_CLOCK_START", "2025-06-01T00:00:00")
    monkeypatch.setenv("EXCHANGE_SIM_SPOT_WEIGHT_LIMIT", "50")
    settings = SimulatorSettings()
    assert settings.symbols == ("BTCUSDT", "FOOUSDT")
    assert settings.clock_start == dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    assert settings.clock_start_ms == 1_748_736_000_000
    assert settings.spot_weight_limit == 50
    assert (settings.host, settings.port) == ("127.0.0.1", 8100)


def test_platform_default_symbols_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXCHANGE_SIM_SYMBOLS", raising=False)
    assert SimulatorSettings().symbols == DEFAULT_SYMBOLS
    monkeypatch.setenv("DEFAULT_SYMBOLS", "ETHUSDT")
    assert SimulatorSettings().symbols == ("ETHUSDT",)


def test_bad_symbols_are_refused() -> None:
    with pytest.raises(ValidationError):
        SimulatorSettings(symbols="BTC-USDT")


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [(123_456, 2, "1234.56"), (5, 3, "0.005"), (-7, 8, "-0.00000007"), (42, 0, "42")],
)
def test_decimal_text(value: int, decimals: int, text: str) -> None:
    assert decimal_text(value, decimals) == text


def test_padded_text() -> None:
    assert padded_text(123_456, 2, 8) == "1234.56000000"
    assert padded_text(1, 10, 8) == "0.0000000001"
