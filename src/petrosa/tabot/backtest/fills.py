"""Fill simulation: published decisions of one (strategy, symbol) → the trades they make.

The rules, chosen to be the trade engine's where it has one and conservative elsewhere:

- **Entry** at the open of the candle after the signal (the engine sends a market order
  when the signal arrives, i.e. once the signal's candle has closed). A signal on the last
  loaded candle has no next open and is not filled. An entry whose open has already
  crossed the stop or the target is not made (the engine "may reject a signal whose stop the
  market has already crossed"; a target already passed would be a free win): counted as
  ``unfilled``.
- **One position** per (strategy, symbol). A signal in the position's direction while it is
  open is ignored; a signal **against** it closes it at the next candle's open and opens
  nothing (the engine closes, never flips).
- **Stop-loss and take-profit** are checked intrabar from the entry candle on, on each
  candle's high and low. When one candle touches both, the **stop is taken first**: the
  candle's path inside is unknown, and the worse outcome is assumed. A stop exits at the stop
  price, or at the open when the candle opens beyond it (a gap fills a stop-market order at
  the market); a target exits at the target price (a limit order, never better).
- **End of data**: a position still open after the last candle is closed at that candle's
  close.
- **Fees** on both sides, as a fraction of the notional traded (default: Binance USD-M
  taker, 0.04 %). A trade's return is net of both:
  ``side·(exit − entry)/entry − fee − fee·exit/entry``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_FEE_RATE = 0.0004
"""Binance USD-M futures taker fee per side (0.04 %)."""
_FIRST_BLOCK = 16
_MAX_BLOCK_CELLS = 262_144
"""Bounds the candles × pending-entries matrix of one search step (memory, not results)."""


class Exit(IntEnum):
    """Why a trade ended."""

    STOP_LOSS = 1
    TAKE_PROFIT = 2
    SIGNAL = 3
    """An opposite signal: closed at the next candle's open."""
    END = 4
    """End of data: closed at the last candle's close."""

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class FillRules:
    """The settings of the simulation (the rules themselves are the module's)."""

    fee_rate: float = DEFAULT_FEE_RATE


@dataclass(frozen=True)
class Prices:
    """The OHLC arrays fills are simulated on (one symbol, consecutive rows)."""

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray

    def __len__(self) -> int:
        return len(self.close)


@dataclass(frozen=True)
class Trades:
    """Trades of one (strategy, symbol), one element per trade, in time order.

    ``entry_row`` is the candle whose open filled the entry; ``exit_row`` the candle the exit
    happened in (at its open for ``Exit.SIGNAL``, inside it for a stop or target, at its
    close for ``Exit.END``).
    """

    side: npt.NDArray[np.int8]
    signal_row: IntArray
    entry_row: IntArray
    exit_row: IntArray
    entry_price: FloatArray
    exit_price: FloatArray
    exit_reason: npt.NDArray[np.int8]
    net_return: FloatArray
    unfilled: int = 0
    """Signals that found no position open but made no trade (no next candle, or the
    entry open already beyond a level)."""

    def __len__(self) -> int:
        return len(self.side)

    def held_rows(self) -> IntArray:
        """Candles each trade was open during (an exit at an open does not count its candle)."""
        at_open = self.exit_reason == Exit.SIGNAL
        return self.exit_row - self.entry_row + np.where(at_open, 0, 1)

    def exits(self) -> dict[str, int]:
        """Trades by exit reason."""
        return {reason.label: int(np.sum(self.exit_reason == reason)) for reason in Exit}


def simulate(
    prices: Prices,
    signal_row: npt.ArrayLike,
    side: npt.ArrayLike,
    stop_loss: npt.ArrayLike,
    take_profit: npt.ArrayLike,
    rules: FillRules | None = None,
) -> Trades:
    """Trades made by buy/sell decisions at ``signal_row`` (ascending rows, ±1 sides).

    Two passes: every decision's would-be exit by stop or target is found for all decisions
    at once (vectorised), then one walk in time decides which decisions open a position
    and which close one.
    """
    fee = (rules or FillRules()).fee_rate
    rows = np.asarray(signal_row, dtype=np.int64)
    sides = np.asarray(side, dtype=np.int8)
    stops = np.asarray(stop_loss, dtype=np.float64)
    targets = np.asarray(take_profit, dtype=np.float64)
    count = len(prices)
    entry_row = rows + 1
    fillable = entry_row < count
    entry_price = np.full(len(rows), np.nan)
    entry_price[fillable] = prices.open[entry_row[fillable]]
    beyond = sides * (entry_price - stops) <= 0
    beyond |= sides * (targets - entry_price) <= 0
    fillable &= ~beyond
    level_row, level_price, level_reason = _level_exits(
        prices, entry_row, sides, stops, targets, fillable
    )
    return _walk(
        prices, rows, sides, entry_row, entry_price, fillable,
        level_row, level_price, level_reason, fee,
    )  # fmt: skip


def _level_exits(
    prices: Prices,
    entry_row: IntArray,
    sides: npt.NDArray[np.int8],
    stops: FloatArray,
    targets: FloatArray,
    candidates: npt.NDArray[np.bool_],
) -> tuple[IntArray, FloatArray, npt.NDArray[np.int8]]:
    """For each candidate entry, the first candle from its entry on touching its stop or
    target (stop first when both), the exit price, and the reason; row = len(prices) when
    neither is touched before the data ends."""
    count = len(prices)
    exit_row = np.full(len(entry_row), count, dtype=np.int64)
    exit_price = np.full(len(entry_row), np.nan)
    reason = np.zeros(len(entry_row), dtype=np.int8)
    pending = np.flatnonzero(candidates)
    offset, block = 0, _FIRST_BLOCK
    while len(pending):
        block = max(1, min(block, _MAX_BLOCK_CELLS // len(pending)))
        rows = entry_row[pending, None] + offset + np.arange(block)
        inside = rows < count
        rows = np.minimum(rows, count - 1)
        buy = (sides[pending] > 0)[:, None]
        low, high = prices.low[rows], prices.high[rows]
        stop, target = stops[pending, None], targets[pending, None]
        stop_hit = np.where(buy, low <= stop, high >= stop) & inside
        target_hit = np.where(buy, high >= target, low <= target) & inside
        hit = stop_hit | target_hit
        found = hit.any(axis=1)
        first = np.argmax(hit, axis=1)
        done = pending[found]
        at = rows[found, first[found]]
        stopped = stop_hit[found, first[found]]
        exit_row[done] = at
        reason[done] = np.where(stopped, Exit.STOP_LOSS, Exit.TAKE_PROFIT)
        opened = prices.open[at]
        gapped = np.where(sides[done] > 0, np.minimum(opened, stops[done]),
                          np.maximum(opened, stops[done]))  # fmt: skip
        exit_price[done] = np.where(stopped, gapped, targets[done])
        offset += block
        block *= 2
        unfinished = ~found & (entry_row[pending] + offset < count)
        pending = pending[unfinished]
    return exit_row, exit_price, reason


def _walk(
    prices: Prices,
    rows: IntArray,
    sides: npt.NDArray[np.int8],
    entry_row: IntArray,
    entry_price: FloatArray,
    fillable: npt.NDArray[np.bool_],
    level_row: IntArray,
    level_price: FloatArray,
    level_reason: npt.NDArray[np.int8],
    fee: float,
) -> Trades:
    """The sequential part: which decisions open and which close a position."""
    count = len(prices)
    last = count - 1
    made: list[tuple[int, int, int, int, float, float, int]] = []
    unfilled = 0
    open_at = -1  # index of the decision holding the position, -1 when flat
    row_list, side_list = rows.tolist(), sides.tolist()
    fill_list, exit_list = fillable.tolist(), level_row.tolist()
    level_prices, reasons = level_price.tolist(), level_reason.tolist()

    def close(index: int, at_row: int, price: float, why: int) -> None:
        made.append((side_list[index], row_list[index], row_list[index] + 1, at_row,
                     float(entry_price[index]), price, why))  # fmt: skip

    for index, row in enumerate(row_list):
        if open_at >= 0 and row >= exit_list[open_at]:
            close(open_at, exit_list[open_at], level_prices[open_at], reasons[open_at])
            open_at = -1
        if open_at >= 0:
            if side_list[index] != side_list[open_at]:
                if row + 1 <= last:
                    close(open_at, row + 1, float(prices.open[row + 1]), Exit.SIGNAL)
                else:
                    close(open_at, last, float(prices.close[last]), Exit.END)
                open_at = -1
            continue
        if fill_list[index]:
            open_at = index
        else:
            unfilled += 1
    if open_at >= 0:
        if exit_list[open_at] < count:
            close(open_at, exit_list[open_at], level_prices[open_at], reasons[open_at])
        else:
            close(open_at, last, float(prices.close[last]), Exit.END)
    return _trades(made, unfilled, fee)


def _trades(
    made: list[tuple[int, int, int, int, float, float, int]], unfilled: int, fee: float
) -> Trades:
    columns = list(zip(*made, strict=True)) if made else [()] * 7
    side = np.asarray(columns[0], dtype=np.int8)
    entry = np.asarray(columns[4], dtype=np.float64)
    exit_ = np.asarray(columns[5], dtype=np.float64)
    return Trades(
        side=side,
        signal_row=np.asarray(columns[1], dtype=np.int64),
        entry_row=np.asarray(columns[2], dtype=np.int64),
        exit_row=np.asarray(columns[3], dtype=np.int64),
        entry_price=entry,
        exit_price=exit_,
        exit_reason=np.asarray(columns[6], dtype=np.int8),
        net_return=net_return(side, entry, exit_, fee),
        unfilled=unfilled,
    )


def net_return(
    side: npt.ArrayLike, entry: npt.ArrayLike, exit_: npt.ArrayLike, fee: float
) -> FloatArray:
    """A trade's return on its entry notional, net of a fee on each side."""
    s = np.asarray(side, dtype=np.float64)
    e = np.asarray(entry, dtype=np.float64)
    x = np.asarray(exit_, dtype=np.float64)
    return np.asarray(s * (x - e) / e - fee - fee * x / e, dtype=np.float64)
