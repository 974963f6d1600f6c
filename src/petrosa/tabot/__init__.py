"""The TA bot: indicators and candle strategies (STRATEGIES.md 1–3, 5, 6).

The framework is shared by the live runner and the backtest::

    candles = CandleWindow.from_arrays(interval, open_time, o, h, l, c, v)
    indicators = IndicatorCache(candles)          # one per window, shared by strategies
    for strategy in CATALOGUE:
        result = evaluate(strategy, indicators)   # per-candle arrays over the window
        decision = result.last()                  # live: the candle that just closed

Package map: ``window`` (candle arrays), ``indicators`` (TA-Lib set, convergence rows,
cache), ``series``/``candles`` (the notation and patterns), ``strategy`` (the strategy
type, warm-up, edge, cooldown, ``evaluate``), ``validation`` (central checks),
``strategies`` (the catalogue), ``signals`` (ids and the contract's signal),
``higher_timeframe`` and ``relative_strength`` (inputs two strategies need).
"""

from petrosa.tabot.higher_timeframe import higher_interval, higher_rows_needed
from petrosa.tabot.indicators import (
    DEFAULT_SEED_TOLERANCE,
    Indicator,
    IndicatorCache,
    IndicatorView,
    UndeclaredIndicatorError,
)
from petrosa.tabot.relative_strength import performance, relative_strength
from petrosa.tabot.signals import candle_signal, candle_signal_id, params_hash, strategy_version
from petrosa.tabot.strategies import BY_ID, CATALOGUE, strategy
from petrosa.tabot.strategy import (
    Decision,
    Evaluation,
    NotEvaluableError,
    Reads,
    Setup,
    Side,
    Strategy,
    StrategyParams,
    evaluate,
)
from petrosa.tabot.validation import Rejection, StrategyContractError, ValidationBounds
from petrosa.tabot.window import CandleWindow

__all__ = [
    "BY_ID",
    "CATALOGUE",
    "DEFAULT_SEED_TOLERANCE",
    "CandleWindow",
    "Decision",
    "Evaluation",
    "Indicator",
    "IndicatorCache",
    "IndicatorView",
    "NotEvaluableError",
    "Reads",
    "Rejection",
    "Setup",
    "Side",
    "Strategy",
    "StrategyContractError",
    "StrategyParams",
    "UndeclaredIndicatorError",
    "ValidationBounds",
    "candle_signal",
    "candle_signal_id",
    "evaluate",
    "higher_interval",
    "higher_rows_needed",
    "params_hash",
    "performance",
    "relative_strength",
    "strategy",
    "strategy_version",
]
