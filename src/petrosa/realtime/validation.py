"""Central validation of a realtime decision before it becomes a signal (STRATEGIES.md 1).

The same two kinds of failure as the TA bot's (``petrosa.tabot.validation``, which a
service may not import): a ``StrategyContractError`` is raised for output no market can
justify (levels on the wrong side, non-finite numbers, confidence outside [0, 1]); a
``Rejection`` is returned for a well-formed decision the bounds refuse, and counted.
"""

from __future__ import annotations

import math
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ValidationBounds(BaseModel):
    """The defaults of STRATEGIES.md 1; a strategy's parameters may override them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_stop_distance: float = Field(0.001, ge=0, description="abs(price − SL) / price")
    min_reward_risk: float = Field(1.0, ge=0, description="abs(TP − price) / abs(price − SL)")
    min_confidence: float = Field(0.60, ge=0, le=1)
    max_confidence: float = Field(1.0, ge=0, le=1)


class Rejection(StrEnum):
    """Why a fired decision was not published (the ``reason`` label of its counter)."""

    BAD_PRICE = "bad_price"
    NON_POSITIVE_LEVEL = "non_positive_level"
    """A risk unit wider than the price put a level at or below zero."""
    NO_RISK = "no_risk"
    STOP_TOO_CLOSE = "stop_too_close"
    REWARD_RISK = "reward_risk"
    CONFIDENCE = "confidence"


class StrategyContractError(AssertionError):
    """A strategy produced output that no market can justify: a bug."""


def check_decision(
    strategy_id: str,
    direction: int,
    price: float,
    stop_loss: float,
    take_profit: float,
    confidence: float,
    bounds: ValidationBounds,
) -> Rejection | None:
    """None when the decision may be published (``direction`` +1 buy, −1 sell)."""
    if not (math.isfinite(confidence) and 0 <= confidence <= 1):
        raise StrategyContractError(f"{strategy_id}: confidence {confidence} not in [0, 1]")
    if not (math.isfinite(stop_loss) and math.isfinite(take_profit)):
        raise StrategyContractError(f"{strategy_id}: non-finite SL={stop_loss} TP={take_profit}")
    if not (math.isfinite(price) and price > 0):
        return Rejection.BAD_PRICE
    risk = (price - stop_loss) * direction
    reward = (take_profit - price) * direction
    if risk < 0 or reward < 0 or (reward == 0 and risk > 0):
        side = "buy" if direction > 0 else "sell"
        raise StrategyContractError(
            f"{strategy_id}: {side} at {price} with SL={stop_loss} TP={take_profit}: misplaced"
        )
    if stop_loss <= 0 or take_profit <= 0:
        return Rejection.NON_POSITIVE_LEVEL
    if risk == 0:
        return Rejection.NO_RISK
    if risk / price < bounds.min_stop_distance:
        return Rejection.STOP_TOO_CLOSE
    if reward / risk < bounds.min_reward_risk:
        return Rejection.REWARD_RISK
    if not bounds.min_confidence <= confidence <= bounds.max_confidence:
        return Rejection.CONFIDENCE
    return None
