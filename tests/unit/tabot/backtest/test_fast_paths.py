"""The two framework functions made fast for whole-history runs keep their definitions:
``window_min``/``window_max`` equal the reduction over lags, and the vectorised central
validation returns the codes (and raises the errors) of the one-row check."""

from __future__ import annotations

import numpy as np
import pytest

from petrosa.tabot.series import lag, window_max, window_min
from petrosa.tabot.validation import (
    StrategyContractError,
    ValidationBounds,
    _check_one,
    check_levels,
)


@pytest.mark.parametrize("rows", [0, 1, 5, 37, 1_000])
@pytest.mark.parametrize("n", [1, 2, 5, 36, 37, 120, 365])
def test_sliding_extremes_equal_the_reduction_over_lags(rows: int, n: int) -> None:
    rng = np.random.default_rng(rows * 1_000 + n)
    values = rng.normal(size=rows)
    if rows > 10:
        values[rng.integers(0, rows, 3)] = np.nan
    lags = [lag(values, k) for k in range(n)]
    expected_min = np.minimum.reduce(lags) if rows else np.zeros(0)
    expected_max = np.maximum.reduce(lags) if rows else np.zeros(0)
    np.testing.assert_array_equal(window_min(values, n), expected_min)
    np.testing.assert_array_equal(window_max(values, n), expected_max)


def _one_by_one(
    direction: np.ndarray, p: np.ndarray, sl: np.ndarray, tp: np.ndarray, c: np.ndarray
) -> np.ndarray:
    out = np.zeros(len(direction), np.int8)
    for row in np.flatnonzero(direction != 0):
        out[row] = _check_one(
            "s", int(row), int(direction[row]), float(p[row]), float(sl[row]), float(tp[row]),
            float(c[row]), ValidationBounds(),
        )  # fmt: skip
    return out


def test_vectorised_validation_matches_the_one_row_check() -> None:
    rng = np.random.default_rng(5)
    for _ in range(2_000):
        n = int(rng.integers(1, 12))
        d = rng.choice([-1, 0, 1], n).astype(np.int8)
        p = rng.choice([100.0, 0.0, -1.0, np.nan, 100.0, 100.0], n)
        sl = p - d * rng.choice([0, 0.05, 1, 5, -1], n) + rng.choice([0, 0, 0, np.nan], n)
        tp = p + d * rng.choice([0, 0.05, 1, 5, 10, -1], n)
        c = rng.choice([0.5, 0.7, 0.99, 1.5, np.nan, 0.61], n)
        try:
            expected, expected_error = _one_by_one(d, p, sl, tp, c), None
        except StrategyContractError as error:
            expected, expected_error = None, str(error)
        if expected_error is not None:
            with pytest.raises(StrategyContractError) as raised:
                check_levels("s", d, p, sl, tp, c, ValidationBounds())
            assert str(raised.value) == expected_error
            continue
        got = check_levels("s", d, p, sl, tp, c, ValidationBounds())
        np.testing.assert_array_equal(got, expected)
