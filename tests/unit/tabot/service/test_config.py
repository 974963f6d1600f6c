"""Configuration validation: a bad value is refused with the field named; what runs where."""

from __future__ import annotations

import pytest

from petrosa.contracts import Interval
from petrosa.tabot import BY_ID, CATALOGUE, ValidationBounds
from petrosa.tabot.service.config import (
    ConfigRefused,
    ConfigSnapshot,
    ServiceConfig,
    StrategySetting,
    validate_parameters,
    validate_service,
)


def test_the_service_document_names_the_refused_field() -> None:
    with pytest.raises(ConfigRefused) as unknown:
        validate_service({"enabled": ["momentum_pulse", "no_such"]})
    assert str(unknown.value).startswith("enabled: ")
    assert "no_such" in str(unknown.value)
    with pytest.raises(ConfigRefused, match=r"^timeframes\.0: "):
        validate_service({"timeframes": ["7m"]})
    with pytest.raises(ConfigRefused, match="1M has no fixed length"):
        validate_service({"timeframes": ["1M"]})
    with pytest.raises(ConfigRefused, match=r"^bounds\.min_confidence: "):
        validate_service({"bounds": {"min_confidence": 2}})
    with pytest.raises(ConfigRefused, match=r"^colour: "):
        validate_service({"colour": "blue"})


def test_strategy_parameters_are_checked_by_the_strategys_own_model() -> None:
    pulse = BY_ID["momentum_pulse"]
    with pytest.raises(ConfigRefused, match=r"^parameters\.cooldown_candles: "):
        validate_parameters(pulse, {"cooldown_candles": -1})
    with pytest.raises(ConfigRefused, match=r"^parameters\.rsi_maximum: "):
        validate_parameters(pulse, {"rsi_maximum": 70})
    tight = ValidationBounds(min_confidence=0.8)
    assert validate_parameters(pulse, {}, tight).bounds == tight
    own = {"bounds": {"min_confidence": 0.7}}
    assert validate_parameters(pulse, own, tight).bounds.min_confidence == 0.7


def snapshot(timeframes: tuple[Interval, ...]) -> ConfigSnapshot:
    symbols = ("BTCUSDT",)
    return ConfigSnapshot(
        service=ServiceConfig(),
        service_version=1,
        symbols=symbols,
        timeframes=timeframes,
        enabled=CATALOGUE,
        settings={
            (s.id, symbol): StrategySetting(s.defaults, 0) for s in CATALOGUE for symbol in symbols
        },
    )


def test_strategies_run_only_on_their_timeframes_and_the_configured_series() -> None:
    config = snapshot((Interval.M5, Interval.D1))
    on_5m = {s.id for s, _ in config.strategies_for("BTCUSDT", Interval.M5)}
    assert "rsi_extreme_reversal" not in on_5m  # its default timeframes exclude 5m
    assert "minervini_trend_template" not in on_5m  # daily only
    assert "momentum_pulse" in on_5m
    assert "minervini_trend_template" in {
        s.id for s, _ in config.strategies_for("BTCUSDT", Interval.D1)
    }
    assert config.strategies_for("ETHUSDT", Interval.M5) == []
    assert config.strategies_for("BTCUSDT", Interval.H1) == []
