"""The pieces every strategy shares: the risk unit (ATR14 as TA-Lib computes it), the
hysteresis trigger, the cooldown, central validation and the signal id."""

from __future__ import annotations

import random

import numpy as np
import pytest
import talib

from petrosa.contracts import Kline
from petrosa.contracts.signals import strategy_signal_id
from petrosa.realtime import Rejection, StrategyContractError, ValidationBounds
from petrosa.realtime.risk import Bar, RiskUnit
from petrosa.realtime.signals import signal_time
from petrosa.realtime.triggers import Cooldown, Hysteresis
from petrosa.realtime.validation import check_decision


def random_candles(count: int, seed: int = 3) -> list[Kline]:
    rng = random.Random(seed)
    price, out = 100.0, []
    for i in range(count):
        close = price * (1 + rng.gauss(0, 0.003))
        high = max(price, close) * (1 + abs(rng.gauss(0, 0.002)))
        low = min(price, close) * (1 - abs(rng.gauss(0, 0.002)))
        out.append(Kline(open_time=i * 60_000, open=price, high=high, low=low, close=close,
                         volume=1.0, close_time=i * 60_000 + 59_999))  # fmt: skip
        price = close
    return out


def test_atr14_matches_ta_lib_and_the_unit_takes_the_larger_term() -> None:
    candles = random_candles(200)
    risk = RiskUnit()
    risk.seed(candles[:14])
    assert risk.atr is None  # 15 candles give the first value
    risk.seed(candles)  # repeats are skipped, the rest continue
    highs, lows, closes = (
        np.array([getattr(c, f) for c in candles]) for f in ("high", "low", "close")
    )
    expected = talib.ATR(highs, lows, closes, timeperiod=14)[-1]
    assert risk.atr == pytest.approx(expected, rel=1e-12)
    price = candles[-1].close
    assert risk.unit(price) == pytest.approx(max(0.003 * price, 2 * expected))
    risk.add(Bar(0, 1e6, 0.0, 1.0))  # an old candle changes nothing
    assert risk.atr == pytest.approx(expected, rel=1e-12)
    assert RiskUnit().unit(200.0) == pytest.approx(0.6)


def test_hysteresis_starts_disarmed_and_fires_once_per_excursion() -> None:
    trigger = Hysteresis()
    steps = [(True, False), (False, True), (True, False), (True, False), (False, False),
             (True, False), (False, True), (True, False)]  # fmt: skip
    fired = [trigger.step(trigger=t, rearm=r) for t, r in steps]
    assert fired == [False, False, True, False, False, False, False, True]


def test_cooldown_is_per_key_in_event_time_and_stays_bounded() -> None:
    cooldown = Cooldown(60_000, max_keys=4)
    cooldown.mark((), 1_000)
    assert not cooldown.allows((), 60_999)
    assert cooldown.allows((), 61_000)
    assert cooldown.allows(("buy", 1.0), 2_000)
    for key in range(10):
        cooldown.mark(key, 1_000_000 + key * 60_000)
    assert len(cooldown.last) <= 5


BOUNDS = ValidationBounds()


@pytest.mark.parametrize(
    ("direction", "price", "stop", "target", "confidence", "expected"),
    [
        (1, 100.0, 99.0, 102.0, 0.7, None),
        (-1, 100.0, 101.0, 98.0, 0.7, None),
        (1, 100.0, 99.95, 102.0, 0.7, Rejection.STOP_TOO_CLOSE),
        (1, 100.0, 99.0, 100.5, 0.7, Rejection.REWARD_RISK),
        (1, 100.0, 99.0, 102.0, 0.55, Rejection.CONFIDENCE),
        (1, 100.0, 100.0, 102.0, 0.7, Rejection.NO_RISK),
        (1, 0.0, -1.0, 2.0, 0.7, Rejection.BAD_PRICE),
        (-1, 1.0, 1.5, -0.1, 0.7, Rejection.NON_POSITIVE_LEVEL),
    ],
)
def test_central_validation(
    direction: int, price: float, stop: float, target: float, confidence: float,
    expected: Rejection | None,
) -> None:  # fmt: skip
    assert check_decision("s", direction, price, stop, target, confidence, BOUNDS) == expected


@pytest.mark.parametrize(
    ("direction", "stop", "target", "confidence"),
    [(1, 101.0, 102.0, 0.7), (-1, 99.0, 98.0, 0.7), (1, 99.0, float("nan"), 0.7),
     (1, 99.0, 102.0, 1.2)],
)  # fmt: skip
def test_output_no_market_justifies_is_a_contract_error(
    direction: int, stop: float, target: float, confidence: float
) -> None:
    with pytest.raises(StrategyContractError):
        check_decision("s", direction, 100.0, stop, target, confidence, BOUNDS)


def test_signal_time_floors_to_the_cooldown_or_takes_the_funding_time() -> None:
    assert signal_time(1_700_000_061_234, 60_000, None) == 1_700_000_040_000
    assert signal_time(1_700_000_061_234, 0, None) == 1_700_000_061_234
    assert signal_time(1_700_000_061_234, 60_000, 1_700_006_400_000) == 1_700_006_400_000

    def key(market: str) -> str:
        return strategy_signal_id(
            strategy_id="s", strategy_version="1", market=market, symbol="BTCUSDT",
            timeframe="tick", t=0, action="buy",
        )  # fmt: skip

    assert key("spot") == key("spot")
    assert key("spot") != key("futures")
