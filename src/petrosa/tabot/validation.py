"""Central validation of strategy decisions, shared by the live runner and the backtest.

Two kinds of failure, told apart on purpose:

- ``StrategyContractError`` (raised): the strategy's output is wrong whatever the market
  did — a level on the wrong side of the price, a NaN level, a confidence outside [0, 1],
  a side it does not declare, both sides at once. That is a bug; a test fails on it.
- ``Rejection`` (returned per candle): a well-formed decision the bounds refuse — a stop
  closer than the minimum distance, a reward:risk under the floor, a confidence under
  ``min_confidence``. The runner counts each per (strategy, reason); nothing vanishes.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int8]


class ValidationBounds(BaseModel):
    """The bounds of STRATEGIES.md 1 (defaults); a strategy's parameters may override them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_stop_distance: float = Field(0.001, ge=0, description="abs(price − SL) / price")
    min_reward_risk: float = Field(1.0, ge=0, description="abs(TP − price) / abs(price − SL)")
    min_confidence: float = Field(0.60, ge=0, le=1)
    max_confidence: float = Field(1.0, ge=0, le=1)


class Rejection(IntEnum):
    """Why a fired decision was not published (0: it was)."""

    NONE = 0
    BAD_PRICE = 1
    """The candle's close is not a positive finite number (bad data, not a bad rule)."""
    NO_RISK = 2
    """The stop sits exactly at the price (e.g. a candle closing at its low, stop = low)."""
    STOP_TOO_CLOSE = 3
    REWARD_RISK = 4
    CONFIDENCE = 5

    @property
    def reason(self) -> str:
        """The label of ``strategy_rejected_total{strategy,reason}``."""
        return self.name.lower()


class StrategyContractError(AssertionError):
    """A strategy produced output that no market can justify."""

    def __init__(self, strategy_id: str, row: int, problem: str) -> None:
        super().__init__(f"{strategy_id} at row {row}: {problem}")
        self.strategy_id = strategy_id
        self.row = row
        self.problem = problem


def check_levels(
    strategy_id: str,
    direction: npt.NDArray[np.int8],
    price: FloatArray,
    stop_loss: FloatArray,
    take_profit: FloatArray,
    confidence: FloatArray,
    bounds: ValidationBounds,
) -> IntArray:
    """Rejection codes for trading decisions (``direction`` +1 buy, −1 sell, 0 none).

    Raises ``StrategyContractError`` on the first row whose output is malformed.
    """
    rows = np.flatnonzero(direction != 0)
    rejection = np.zeros(len(direction), dtype=np.int8)
    if len(rows) == 0:
        return rejection
    # the checks of ``_check_one``, in its order, over every fired row at once (a backtest
    # fires hundreds of thousands); the first malformed row is re-checked alone to raise
    side = direction[rows].astype(np.float64)
    p, sl, tp, conf = price[rows], stop_loss[rows], take_profit[rows], confidence[rows]
    with np.errstate(invalid="ignore", divide="ignore"):
        bad_confidence = ~(np.isfinite(conf) & (conf >= 0) & (conf <= 1))
        bad_levels = ~(np.isfinite(sl) & np.isfinite(tp))
        bad_price = ~(np.isfinite(p) & (p > 0))
        risk = (p - sl) * side
        reward = (tp - p) * side
        misplaced = (risk < 0) | (reward < 0) | ((reward == 0) & (risk > 0))
        malformed = bad_confidence | bad_levels | (~bad_price & misplaced)
        if malformed.any():
            row = int(rows[np.argmax(malformed)])
            _check_one(strategy_id, row, int(direction[row]), float(price[row]),
                       float(stop_loss[row]), float(take_profit[row]), float(confidence[row]),
                       bounds)  # fmt: skip
            raise AssertionError("unreachable: the row was found malformed")  # pragma: no cover
        codes = np.select(
            [
                bad_price,
                risk == 0,
                risk / p < bounds.min_stop_distance,
                reward / risk < bounds.min_reward_risk,
                (conf < bounds.min_confidence) | (conf > bounds.max_confidence),
            ],
            [Rejection.BAD_PRICE, Rejection.NO_RISK, Rejection.STOP_TOO_CLOSE,
             Rejection.REWARD_RISK, Rejection.CONFIDENCE],
            default=Rejection.NONE,
        )  # fmt: skip
    rejection[rows] = codes
    return rejection


def check_alert_confidence(
    strategy_id: str, fired: npt.NDArray[np.bool_], confidence: FloatArray
) -> None:
    """Alerts carry no levels; their confidence must still be a number in [0, 1]."""
    for row in np.flatnonzero(fired):
        _check_confidence_range(strategy_id, int(row), float(confidence[row]))


def _check_one(
    strategy_id: str,
    row: int,
    direction: int,
    price: float,
    stop: float,
    target: float,
    confidence: float,
    bounds: ValidationBounds,
) -> Rejection:
    _check_confidence_range(strategy_id, row, confidence)
    if not (np.isfinite(stop) and np.isfinite(target)):
        raise StrategyContractError(strategy_id, row, f"non-finite levels SL={stop} TP={target}")
    if not (np.isfinite(price) and price > 0):
        return Rejection.BAD_PRICE
    risk = (price - stop) * direction
    reward = (target - price) * direction
    if risk < 0 or reward < 0 or (reward == 0 and risk > 0):
        side = "buy" if direction > 0 else "sell"
        raise StrategyContractError(
            strategy_id, row, f"{side} at {price} with SL={stop} TP={target}: levels misplaced"
        )
    if risk == 0:
        return Rejection.NO_RISK
    if risk / price < bounds.min_stop_distance:
        return Rejection.STOP_TOO_CLOSE
    if reward / risk < bounds.min_reward_risk:
        return Rejection.REWARD_RISK
    if not bounds.min_confidence <= confidence <= bounds.max_confidence:
        return Rejection.CONFIDENCE
    return Rejection.NONE


def _check_confidence_range(strategy_id: str, row: int, confidence: float) -> None:
    if not (np.isfinite(confidence) and 0 <= confidence <= 1):
        raise StrategyContractError(strategy_id, row, f"confidence {confidence} not in [0, 1]")
