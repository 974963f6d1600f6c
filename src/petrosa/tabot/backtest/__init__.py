"""The TA bot's backtester: the live strategy path over a stored history (STRATEGIES.md 6).

::

    source = DataManagerCandles(client)                  # or any ``CandleSource``
    chosen = [Chosen.defaults(s) for s in CATALOGUE]
    spec = Spec(("BTCUSDT",), Interval.M15, start_ms, end_ms)
    results = await backtest(source, chosen, spec)       # one ``StrategyResult`` each
    signals = await backtest_signals(source, chosen, spec)  # what live would publish

Modules: ``history`` (what is loaded, the ``CandleSource`` port), ``source`` (the Data
Manager adapter), ``engine`` (evaluation and results), ``fills`` (the fill rules),
``metrics`` (equity, drawdown, Sharpe), ``report`` (JSON, table, equity-curve picture).
"""

from petrosa.tabot.backtest.engine import (
    Decisions,
    Spec,
    StrategyResult,
    backtest,
    backtest_signals,
    decisions,
    run,
    signal_ids,
    signals,
)
from petrosa.tabot.backtest.fills import DEFAULT_FEE_RATE, Exit, FillRules, Prices, Trades, simulate
from petrosa.tabot.backtest.history import CandleSource, Chosen, History, load, rows_before
from petrosa.tabot.backtest.source import DataManagerCandles

__all__ = [
    "DEFAULT_FEE_RATE",
    "CandleSource",
    "Chosen",
    "DataManagerCandles",
    "Decisions",
    "Exit",
    "FillRules",
    "History",
    "Prices",
    "Spec",
    "StrategyResult",
    "Trades",
    "backtest",
    "backtest_signals",
    "decisions",
    "load",
    "rows_before",
    "run",
    "signal_ids",
    "signals",
    "simulate",
]
