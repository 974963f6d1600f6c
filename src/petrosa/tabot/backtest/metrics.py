"""Equity curves and the per-strategy figures of a backtest.

Capital model: a strategy's capital is split equally between its symbols; each symbol's
sleeve puts all of itself into every trade and compounds (no leverage, no sizing — the
engine's sizing is not the strategy's). The sleeve's equity is marked to each candle's
close while a position is open, so drawdown and Sharpe see open losses, not only closed
trades. The strategy's equity is the mean of its sleeves.

Sharpe: the mean over the standard deviation (ddof 1) of **daily** returns of that equity
(UTC days, the last candle of each day), risk-free rate 0, annualised by √365 since crypto
trades every day. Daily returns keep the figure comparable across intervals; it needs at
least two days.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from petrosa.tabot.backtest.fills import Trades

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DAY_MS = 86_400_000
TRADING_DAYS_PER_YEAR = 365
"""Crypto markets never close: the Sharpe ratio is annualised by √365."""


def sleeve_equity(trades: Trades, close: FloatArray, fee: float, first_row: int = 0) -> FloatArray:
    """Equity (starting at 1) at each candle's close from ``first_row`` on.

    Closed trades compound; during an open trade the equity is the realised equity times
    ``1 + side·(close/entry − 1) − fee`` (the entry fee paid, the exit fee not yet).
    """
    count = len(close)
    rows = np.arange(first_row, count)
    growth = np.concatenate(([1.0], np.cumprod(1.0 + trades.net_return)))
    # trades closed by each row, and the last trade entered by it: running counts of exit
    # and entry rows (O(rows), where a binary search per row would cost a log factor)
    closed = np.cumsum(np.bincount(trades.exit_row, minlength=count))[first_row:]
    entered = np.cumsum(np.bincount(trades.entry_row, minlength=count))[first_row:]
    equity = growth[closed]
    if len(trades):
        current = np.maximum(entered - 1, 0)
        open_now = (entered > 0) & (rows < trades.exit_row[current]) & (closed <= current)
        side = trades.side[current].astype(np.float64)
        marked = 1.0 + side * (close[first_row:] / trades.entry_price[current] - 1.0) - fee
        equity = np.where(open_now, growth[current] * marked, equity)
    return np.asarray(equity, dtype=np.float64)


def combine(grid: IntArray, sleeves: Sequence[tuple[IntArray, FloatArray]]) -> FloatArray:
    """The mean of sleeve equities on a common time grid (each held at its last value, and
    at 1 before its first candle)."""
    if not sleeves:
        return np.ones(len(grid))
    total = np.zeros(len(grid))
    for times, equity in sleeves:
        if len(times) == len(grid) and np.array_equal(times, grid):
            total += equity
            continue
        at = np.searchsorted(times, grid, side="right") - 1
        total += np.where(at >= 0, equity[np.maximum(at, 0)] if len(equity) else 1.0, 1.0)
    return total / len(sleeves)


def max_drawdown(equity: FloatArray) -> float:
    """Largest fall from a running peak, as a fraction of that peak (0 when never down)."""
    if len(equity) == 0:
        return 0.0
    peaks = np.maximum.accumulate(np.maximum(equity, 1.0))
    return float(np.max(1.0 - equity / peaks))


def daily_sharpe(times: IntArray, equity: FloatArray) -> float | None:
    """Annualised Sharpe of daily returns (see the module docstring); None under two days
    or with no variation."""
    if len(times) == 0:
        return None
    day = times // DAY_MS
    last_of_day = np.flatnonzero(np.diff(day, append=day[-1] + 1) != 0)
    closes = np.concatenate(([1.0], equity[last_of_day]))
    returns = np.diff(closes) / closes[:-1]
    if len(returns) < 2:
        return None
    spread = float(np.std(returns, ddof=1))
    if spread == 0 or not math.isfinite(spread):
        return None
    return float(np.mean(returns) / spread * math.sqrt(TRADING_DAYS_PER_YEAR))


@dataclass(frozen=True)
class TradeStats:
    """Figures that depend on the trade list alone."""

    trades: int
    win_rate: float | None
    mean_trade_return: float | None
    profit_factor: float | None
    """Gross gains over gross losses; None with no losing trade (or no trade)."""


def trade_stats(returns: FloatArray) -> TradeStats:
    count = len(returns)
    if count == 0:
        return TradeStats(0, None, None, None)
    gains = float(returns[returns > 0].sum())
    losses = float(-returns[returns < 0].sum())
    return TradeStats(
        trades=count,
        win_rate=float(np.mean(returns > 0)),
        mean_trade_return=float(np.mean(returns)),
        profit_factor=gains / losses if losses > 0 else None,
    )
