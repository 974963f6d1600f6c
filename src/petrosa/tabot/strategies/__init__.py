"""The candle strategy catalogue of STRATEGIES.md 3, in its order."""

from __future__ import annotations

from typing import Any

from petrosa.tabot.strategies import bands, ema_setups, long_horizon, patterns, structure, trend
from petrosa.tabot.strategy import Strategy

CATALOGUE: tuple[Strategy[Any], ...] = (
    *trend.STRATEGIES,
    *bands.STRATEGIES,
    *structure.STRATEGIES,
    *ema_setups.STRATEGIES,
    *patterns.STRATEGIES,
    *long_horizon.STRATEGIES,
)
"""Every candle strategy, in the catalogue's order."""
BY_ID: dict[str, Strategy[Any]] = {strategy.id: strategy for strategy in CATALOGUE}


def strategy(strategy_id: str) -> Strategy[Any]:
    """The catalogue entry ``strategy_id`` (KeyError naming it when unknown)."""
    try:
        return BY_ID[strategy_id]
    except KeyError:
        raise KeyError(f"unknown strategy {strategy_id!r}") from None
