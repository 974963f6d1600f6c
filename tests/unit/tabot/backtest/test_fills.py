"""The fill simulator on hand-built candles: each rule of ``petrosa.tabot.backtest.fills``."""

from __future__ import annotations

import numpy as np
import pytest

from petrosa.tabot.backtest.fills import Exit, FillRules, Prices, net_return, simulate

NO_FEE = FillRules(fee_rate=0.0)


def prices(*candles: tuple[float, float, float, float]) -> Prices:
    """Candles as (open, high, low, close)."""
    o, h, low, c = (np.array(column, dtype=np.float64) for column in zip(*candles, strict=True))
    return Prices(o, h, low, c)


FLAT = (100.0, 100.5, 99.5, 100.0)


def test_buy_enters_at_the_next_open_and_exits_at_the_target() -> None:
    p = prices(FLAT, (101.0, 101.5, 100.5, 101.0), (101.0, 106.0, 100.8, 105.0), FLAT)
    trades = simulate(p, [0], [1], [95.0], [105.0], NO_FEE)
    assert len(trades) == 1
    assert trades.entry_row[0] == 1
    assert trades.entry_price[0] == 101.0
    assert trades.exit_row[0] == 2
    assert trades.exit_price[0] == 105.0
    assert trades.exit_reason[0] == Exit.TAKE_PROFIT
    assert trades.net_return[0] == pytest.approx(4 / 101)


def test_sell_stop_hit_exits_at_the_stop() -> None:
    p = prices(FLAT, FLAT, (100.0, 102.5, 99.8, 102.0), FLAT)
    trades = simulate(p, [0], [-1], [102.0], [96.0], NO_FEE)
    assert trades.exit_reason[0] == Exit.STOP_LOSS
    assert trades.exit_row[0] == 2
    assert trades.exit_price[0] == 102.0
    assert trades.net_return[0] == pytest.approx(-2 / 100)


def test_a_candle_touching_both_levels_takes_the_stop_first() -> None:
    p = prices(FLAT, FLAT, (100.0, 106.0, 94.0, 100.0), FLAT)
    trades = simulate(p, [0], [1], [95.0], [105.0], NO_FEE)
    assert trades.exit_reason[0] == Exit.STOP_LOSS
    assert trades.exit_price[0] == 95.0


def test_a_stop_gapped_through_fills_at_the_open() -> None:
    p = prices(FLAT, FLAT, (93.0, 94.0, 92.0, 93.5), FLAT)
    trades = simulate(p, [0], [1], [95.0], [105.0], NO_FEE)
    assert trades.exit_reason[0] == Exit.STOP_LOSS
    assert trades.exit_price[0] == 93.0


def test_the_entry_candle_itself_can_stop_out() -> None:
    p = prices(FLAT, (100.0, 100.2, 94.0, 96.0), FLAT)
    trades = simulate(p, [0], [1], [95.0], [105.0], NO_FEE)
    assert trades.entry_row[0] == 1
    assert trades.exit_row[0] == 1
    assert trades.exit_reason[0] == Exit.STOP_LOSS
    assert trades.held_rows()[0] == 1


def test_fees_are_paid_on_both_sides() -> None:
    p = prices(FLAT, FLAT, (100.0, 110.5, 99.9, 110.0))
    trades = simulate(p, [0], [1], [95.0], [110.0], FillRules(fee_rate=0.001))
    assert trades.net_return[0] == pytest.approx(0.10 - 0.001 - 0.001 * 1.10)
    assert net_return([-1], [100.0], [90.0], 0.0004)[0] == pytest.approx(0.10 - 0.0004 - 0.00036)


def test_an_opposite_signal_closes_at_the_next_open_and_opens_nothing() -> None:
    p = prices(FLAT, FLAT, FLAT, (100.7, 100.9, 100.6, 100.8), FLAT, FLAT)
    trades = simulate(p, [0, 2], [1, -1], [95.0, 105.0], [105.0, 95.0], NO_FEE)
    assert len(trades) == 1
    assert trades.exit_reason[0] == Exit.SIGNAL
    assert trades.exit_row[0] == 3
    assert trades.exit_price[0] == 100.7
    assert trades.held_rows()[0] == 2  # rows 1 and 2; row 3 only at its open


def test_a_same_side_signal_while_open_is_ignored() -> None:
    p = prices(FLAT, FLAT, FLAT, FLAT, (100.0, 105.5, 99.9, 105.0))
    trades = simulate(p, [0, 2], [1, 1], [95.0, 96.0], [105.0, 104.0], NO_FEE)
    assert len(trades) == 1
    assert trades.signal_row[0] == 0
    assert trades.exit_price[0] == 105.0
    assert trades.unfilled == 0


def test_a_signal_after_the_position_closed_opens_a_new_one() -> None:
    p = prices(FLAT, (100.0, 100.2, 94.0, 96.0), FLAT, (100.0, 105.5, 99.9, 105.0))
    trades = simulate(p, [0, 1], [1, -1], [95.0, 103.0], [105.0, 97.0], NO_FEE)
    assert trades.side.tolist() == [1, -1]
    assert trades.exit_reason.tolist() == [Exit.STOP_LOSS, Exit.STOP_LOSS]
    assert trades.entry_row.tolist() == [1, 2]


def test_end_of_data_closes_at_the_last_close() -> None:
    p = prices(FLAT, FLAT, (100.0, 101.0, 99.0, 100.6))
    trades = simulate(p, [0], [1], [95.0], [105.0], NO_FEE)
    assert trades.exit_reason[0] == Exit.END
    assert trades.exit_row[0] == 2
    assert trades.exit_price[0] == 100.6


def test_an_opposite_signal_on_the_last_candle_closes_at_its_close() -> None:
    p = prices(FLAT, FLAT, (100.0, 101.0, 99.0, 100.4))
    trades = simulate(p, [0, 2], [1, -1], [95.0, 105.0], [105.0, 95.0], NO_FEE)
    assert len(trades) == 1
    assert trades.exit_reason[0] == Exit.END
    assert trades.exit_price[0] == 100.4


def test_unfillable_signals_are_counted_not_traded() -> None:
    # last candle: no next open; second: the next open is already below the stop
    p = prices(FLAT, FLAT, (94.0, 94.5, 93.5, 94.0), FLAT)
    trades = simulate(p, [1, 3], [1, 1], [95.0, 95.0], [105.0, 105.0], NO_FEE)
    assert len(trades) == 0
    assert trades.unfilled == 2


def test_a_long_hold_is_found_past_the_first_search_blocks() -> None:
    rows = [FLAT] * 5_000 + [(100.0, 100.2, 89.0, 90.0)]
    trades = simulate(prices(*rows), [0], [1], [90.0], [110.0], NO_FEE)
    assert trades.exit_row[0] == 5_000
    assert trades.exit_reason[0] == Exit.STOP_LOSS


def test_exits_are_counted_by_reason() -> None:
    p = prices(FLAT, FLAT, (100.0, 106.0, 99.9, 105.0), FLAT, FLAT)
    trades = simulate(p, [0, 3], [1, -1], [95.0, 105.0], [105.0, 95.0], NO_FEE)
    assert trades.exits() == {"stop_loss": 0, "take_profit": 1, "signal": 0, "end": 1}
