"""The pure half of the signal contract (STRATEGIES.md 5): deterministic ids, the version
label and the ``petrosa.contracts.Signal`` a published candle decision becomes.

Same inputs, same id — on every replica, retry and backtest — so a re-analysed candle or a
redelivered event can never make a second signal.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from petrosa.contracts import Market
from petrosa.contracts.signals import (
    Signal,
    SignalAction,
    strategy_signal_id,
    version_label,
)
from petrosa.contracts.signals import (
    params_hash as params_hash,
)
from petrosa.tabot.indicators import IndicatorCache, IndicatorView
from petrosa.tabot.strategy import Evaluation, Side, Strategy, StrategyParams


def strategy_version(strategy: Strategy[Any], params: StrategyParams | None = None) -> str:
    """``"1"`` with the defaults; ``"1+<hash>"`` when a deployment overrides parameters."""
    if params is None:
        return str(strategy.version)
    return version_label(strategy.version, params, strategy.defaults)


def candle_signal_id(
    *,
    strategy_id: str,
    strategy_version: str,
    market: Market | str,
    symbol: str,
    timeframe: str,
    candle_open_time: int,
    action: str,
) -> str:
    """uuid5 of "strategy_id|strategy_version|market|symbol|timeframe|t|action", t = the
    candle's open time in ms; the market keeps a spot and a futures signal apart."""
    return strategy_signal_id(
        strategy_id=strategy_id,
        strategy_version=strategy_version,
        market=str(Market(market)),
        symbol=symbol,
        timeframe=timeframe,
        t=candle_open_time,
        action=action,
    )


def candle_signal(
    strategy: Strategy[Any],
    evaluation: Evaluation,
    indicators: IndicatorCache,
    *,
    row: int,
    symbol: str,
    market: Market | str,
    params: StrategyParams | None = None,
) -> Signal:
    """The signal for the decision published at ``row``: a buy or sell with its levels, or
    an alert (``action`` ``alert``, no levels; it goes to ``alerts.ta.<SYMBOL>``, never to
    ``signals.trading``).

    Strategies never size: quantity and percentage fields stay unset. ``metadata`` holds
    the inputs: indicator values at the candle, R, reward:risk, rows used, params hash.
    """
    decision = evaluation.at(row)
    if decision is None:
        raise ValueError(f"no decision at row {row}")
    chosen = params or strategy.defaults
    candles = indicators.candles
    version = strategy_version(strategy, chosen)
    open_time = int(candles.open_time[decision.row])
    close_time = int(candles.close_time[decision.row])
    price = float(candles.close[decision.row])
    action = decision.side.action
    view = IndicatorView(indicators, frozenset(strategy.reads(chosen).indicators))
    metadata: dict[str, Any] = {
        "indicators": {k: _json_number(v) for k, v in view.values_at(decision.row).items()},
    }
    stop_loss = take_profit = None
    if decision.side is not Side.ALERT:
        if decision.stop_loss is None or decision.take_profit is None:  # pragma: no cover
            raise AssertionError("a published buy or sell always has levels")
        risk = abs(price - decision.stop_loss)
        metadata["risk"] = risk
        metadata["reward_risk"] = abs(decision.take_profit - price) / risk
        stop_loss, take_profit = _decimal(decision.stop_loss), _decimal(decision.take_profit)
    metadata |= {
        "rows_used": len(candles),
        "warm_up": evaluation.warm_up,
        "params_hash": params_hash(chosen),
    }
    return Signal(
        signal_id=candle_signal_id(
            strategy_id=strategy.id,
            strategy_version=version,
            market=market,
            symbol=symbol,
            timeframe=candles.interval.value,
            candle_open_time=open_time,
            action=action,
        ),
        strategy_id=strategy.id,
        symbol=symbol,
        action=SignalAction(action),
        confidence=decision.confidence,
        price=_decimal(price),
        stop_loss=stop_loss,
        take_profit=take_profit,
        timestamp=dt.datetime.fromtimestamp(close_time / 1000, dt.UTC),
        timeframe=candles.interval.value,
        strategy_version=version,
        market=Market(market),
        candle_open_time=open_time,
        candle_close_time=close_time,
        event_time=close_time,
        metadata=metadata,
    )


def _decimal(value: float) -> Decimal:
    """The float's shortest repr, so 101.3 stays "101.3" rather than its binary expansion."""
    return Decimal(repr(value))


def _json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None
