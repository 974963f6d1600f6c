"""The indicator set: TA-Lib's definitions pinned, convergence rows as STRATEGIES.md 2.3
tabulates them, computed once per window, masked until converged."""

from __future__ import annotations

import numpy as np
import pytest

from petrosa.tabot import indicators as ind
from petrosa.tabot import talib_functions as ta
from petrosa.tabot.indicators import IndicatorCache, IndicatorView, UndeclaredIndicatorError
from tests.unit.tabot.candles import random_walk


@pytest.mark.parametrize(
    ("n", "rows"),
    [(8, 63), (9, 71), (20, 159), (21, 166), (26, 206), (30, 238), (50, 396), (80, 633),
     (200, 1582)],
)  # fmt: skip
def test_ema_convergence_rows_are_the_tables(n: int, rows: int) -> None:
    assert ind.ema(n).rows() == rows


@pytest.mark.parametrize(
    ("indicator", "rows"),
    [
        (ind.rsi(14), 202), (ind.rsi(2), 23), (ind.atr(14), 202), (ind.adx(14), 252),
        (ind.MACD, 214), (ind.MACD_HIST, 214), (ind.sma(200), 200), (ind.volume_sma(20), 20),
        (ind.BB_LOWER, 20), (ind.BW, 20), (ind.TENKAN, 9), (ind.KIJUN, 26), (ind.SPAN_A, 52),
        (ind.SPAN_B, 78),
    ],
)  # fmt: skip
def test_other_indicators_converge_where_the_specification_says(
    indicator: ind.Indicator, rows: int
) -> None:
    assert indicator.rows() == rows


def test_a_looser_tolerance_shortens_the_ema200_warm_up_to_1122_rows() -> None:
    assert ind.ema(200).rows(1e-4) == 1122


def test_labels_are_the_specifications_names() -> None:
    labels = [i.label for i in (ind.ema(21), ind.volume_sma(20), ind.MACD_HIST, ind.SPAN_B)]
    assert labels == ["EMA21", "VOL_SMA20", "MACD_HIST", "SPAN_B"]


def test_the_ema_is_seeded_with_the_sma_of_the_first_n_closes() -> None:
    candles = random_walk(100)
    close, n = candles.close, 8
    alpha = 2 / (n + 1)
    expected = [close[:n].mean()]
    for value in close[n:]:
        expected.append(alpha * value + (1 - alpha) * expected[-1])
    raw = ta.ema(close, n)
    assert np.isnan(raw[: n - 1]).all()
    np.testing.assert_allclose(raw[n - 1 :], expected, rtol=1e-12)


def test_bollinger_bands_use_the_population_sigma() -> None:
    candles = random_walk(60)
    cache = IndicatorCache(candles)
    last20 = candles.close[-20:]
    assert cache[ind.BB_UPPER][-1] == pytest.approx(last20.mean() + 2 * last20.std(ddof=0))
    assert cache[ind.BW][-1] == pytest.approx(4 * last20.std(ddof=0) / last20.mean())


def test_the_cloud_under_the_candle_was_drawn_26_candles_earlier() -> None:
    candles = random_walk(200)
    cache = IndicatorCache(candles)
    h, low = candles.high, candles.low
    tenkan_26 = (h[-35:-26].max() + low[-35:-26].min()) / 2
    kijun_26 = (h[-52:-26].max() + low[-52:-26].min()) / 2
    assert cache[ind.SPAN_A][-1] == pytest.approx((tenkan_26 + kijun_26) / 2)
    assert cache[ind.SPAN_B][-1] == pytest.approx((h[-78:-26].max() + low[-78:-26].min()) / 2)


def test_values_are_masked_until_converged_and_each_function_runs_once() -> None:
    cache = IndicatorCache(random_walk(400))
    ema21 = cache[ind.ema(21)]
    assert np.isnan(ema21[:165]).all()
    assert np.isfinite(ema21[165:]).all()
    for output in (ind.MACD, ind.MACD_SIGNAL, ind.MACD_HIST, ind.ema(21)):
        cache[output]
    assert cache.calls == 2  # EMA21 once, MACD once for its three outputs


def test_a_strategy_cannot_read_an_indicator_it_did_not_declare() -> None:
    view = IndicatorView(IndicatorCache(random_walk(50)), frozenset({ind.sma(10)}))
    assert np.isfinite(view[ind.sma(10)][-1])
    with pytest.raises(UndeclaredIndicatorError, match="SMA20"):
        view[ind.sma(20)]
