"""Equity, drawdown, Sharpe and trade statistics on a known trade list."""

from __future__ import annotations

import math

import numpy as np
import pytest

from petrosa.tabot.backtest import metrics
from petrosa.tabot.backtest.fills import Exit, Trades

DAY = metrics.DAY_MS


def trades(rows: list[tuple[int, int, int, float, float, float]]) -> Trades:
    """(side, entry_row, exit_row, entry, exit, net return) per trade."""
    side, entry_row, exit_row, entry, exit_, ret = (list(c) for c in zip(*rows, strict=True))
    return Trades(
        side=np.array(side, np.int8),
        signal_row=np.array(entry_row) - 1,
        entry_row=np.array(entry_row, np.int64),
        exit_row=np.array(exit_row, np.int64),
        entry_price=np.array(entry, np.float64),
        exit_price=np.array(exit_, np.float64),
        exit_reason=np.full(len(rows), Exit.TAKE_PROFIT, np.int8),
        net_return=np.array(ret, np.float64),
    )


def test_trade_stats_of_a_known_list() -> None:
    stats = metrics.trade_stats(np.array([0.10, -0.05, 0.02, -0.01]))
    assert stats.trades == 4
    assert stats.win_rate == 0.5
    assert stats.mean_trade_return == pytest.approx(0.015)
    assert stats.profit_factor == pytest.approx(0.12 / 0.06)


def test_trade_stats_without_losses_or_trades() -> None:
    assert metrics.trade_stats(np.array([0.01])).profit_factor is None
    assert metrics.trade_stats(np.zeros(0)) == metrics.TradeStats(0, None, None, None)


def test_sleeve_equity_compounds_closed_trades_and_marks_open_ones() -> None:
    close = np.array([100.0, 100.0, 110.0, 120.0, 120.0, 90.0, 90.0])
    # a buy 1→3 of +20 %, a sell entered at 120 on row 4, open at the end
    made = trades([(1, 1, 3, 100.0, 120.0, 0.20), (-1, 4, 6, 120.0, 90.0, 0.25)])
    equity = metrics.sleeve_equity(made, close, fee=0.0)
    assert equity.tolist() == pytest.approx([1.0, 1.0, 1.1, 1.2, 1.2, 1.2 * 1.25, 1.5])


def test_sleeve_equity_pays_the_entry_fee_while_open() -> None:
    close = np.array([100.0, 100.0, 100.0])
    made = trades([(1, 1, 2, 100.0, 100.0, -0.002)])
    equity = metrics.sleeve_equity(made, close, fee=0.001)
    assert equity.tolist() == pytest.approx([1.0, 0.999, 0.998])


def test_max_drawdown_from_the_running_peak() -> None:
    assert metrics.max_drawdown(np.array([1.0, 1.2, 0.9, 1.3, 1.04])) == pytest.approx(0.25)
    assert metrics.max_drawdown(np.array([0.8, 1.1])) == pytest.approx(0.2)
    assert metrics.max_drawdown(np.array([1.0, 1.1, 1.2])) == 0.0


def test_daily_sharpe_uses_each_days_last_value_and_root_365() -> None:
    times = np.array([0, DAY // 2, DAY, DAY + 5, 2 * DAY, 3 * DAY], np.int64)
    equity = np.array([1.5, 1.01, 0.5, 1.02, 0.9, 1.1])
    closes = np.array([1.0, 1.01, 1.02, 0.9, 1.1])
    daily = np.diff(closes) / closes[:-1]
    expected = daily.mean() / daily.std(ddof=1) * math.sqrt(365)
    assert metrics.daily_sharpe(times, equity) == pytest.approx(expected)


def test_daily_sharpe_needs_two_days_of_varying_returns() -> None:
    assert metrics.daily_sharpe(np.array([0, 1], np.int64), np.array([1.0, 1.1])) is None
    flat = np.array([0, DAY, 2 * DAY], np.int64)
    assert metrics.daily_sharpe(flat, np.ones(3)) is None


def test_combine_averages_sleeves_held_at_their_last_value() -> None:
    grid = np.array([0, 1, 2, 3], np.int64)
    first = (np.array([0, 1, 2, 3], np.int64), np.array([1.0, 1.2, 1.4, 1.6]))
    second = (np.array([2, 3], np.int64), np.array([0.8, 0.6]))
    combined = metrics.combine(grid, [first, second])
    assert combined.tolist() == pytest.approx([1.0, 1.1, 1.1, 1.1])
