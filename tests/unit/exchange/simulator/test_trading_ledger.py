"""The paper account's books, exactly: positions, realized P&L long and short, fees, margin."""

from __future__ import annotations

from decimal import Decimal

import pytest

from petrosa.exchange.simulator.accounts import PaperAccount, Position, money, moved, standing
from petrosa.exchange.simulator.orders import Order, Side, Status

D = Decimal
FEE = D("0.0004")


def _order(side: Side, quantity: str, order_id: int = 1, symbol: str = "BTCUSDT") -> Order:
    return Order(
        symbol=symbol,
        order_id=order_id,
        client_order_id=f"o-{order_id}",
        side=side,
        orig_qty=D(quantity),
        reduce_only=False,
        time=1,
        update_time=1,
    )


def _account(balance: str = "10000") -> PaperAccount:
    return PaperAccount(wallet=D(balance), fee_rate=FEE, default_leverage=10)


@pytest.mark.parametrize(
    ("start", "fill", "price", "after", "realized"),
    [
        ((D(0), D(0)), D("0.002"), D("60000.5"), (D("0.002"), D("60000.5")), D(0)),
        # adding averages the entry
        ((D("0.002"), D(60000)), D("0.002"), D(61000), (D("0.004"), D(60500)), D(0)),
        # a long partly closed realizes (exit - entry) x closed
        ((D("0.004"), D(60000)), D("-0.001"), D("60100.3"), (D("0.003"), D(60000)), D("0.1003")),
        # a short closed realizes (entry - exit) x closed
        ((D("-0.5"), D("3000.25")), D("0.5"), D("2990.75"), (D(0), D(0)), D("4.75")),
        # a fill past the position flips it: the rest opens at the fill price
        ((D("0.002"), D(60000)), D("-0.005"), D(59000), (D("-0.003"), D(59000)), D(-2)),
    ],
)
def test_fills_move_the_position_and_realize_pnl(
    start: tuple[Decimal, Decimal],
    fill: Decimal,
    price: Decimal,
    after: tuple[Decimal, Decimal],
    realized: Decimal,
) -> None:
    position, pnl = moved(Position(*start), fill, price)
    assert (position.quantity, position.entry_price) == after
    assert pnl == realized


def test_long_round_trip_pays_two_fees_and_books_the_move() -> None:
    account = _account()
    account.fill(_order(Side.BUY, "0.002", 1), D("0.002"), D("64224.6"), time=1)
    closing = account.fill(_order(Side.SELL, "0.002", 2), D("0.002"), D("64300.1"), time=2)
    fee_in = D("0.002") * D("64224.6") * FEE  # 0.05137968
    fee_out = D("0.002") * D("64300.1") * FEE  # 0.05144008
    assert closing.realized_pnl == D("0.1510")
    assert closing.commission == fee_out
    assert account.wallet == D(10000) - fee_in - fee_out + D("0.1510")
    assert account.position("BTCUSDT").quantity == 0


def test_short_round_trip_gains_when_the_price_falls() -> None:
    account = _account()
    account.fill(_order(Side.SELL, "1.5", 1, "ETHUSDT"), D("1.5"), D("3001.17"), time=1)
    closing = account.fill(_order(Side.BUY, "1.5", 2, "ETHUSDT"), D("1.5"), D("2980.05"), time=2)
    assert closing.realized_pnl == (D("3001.17") - D("2980.05")) * D("1.5")
    fees = money(D("1.5") * D("3001.17") * FEE) + money(D("1.5") * D("2980.05") * FEE)
    assert account.wallet == D(10000) + closing.realized_pnl - fees
    assert [t.trade_id for t in account.trades["ETHUSDT"]] == [1, 2]


def test_fees_round_half_up_to_eight_places() -> None:
    account = _account()
    # 1 x 0.12345 x 0.0004 = 0.00004938: exact; 3 x 0.33333 x 0.0004 = 0.000399996 -> 0.00040000
    assert account.commission(D(1), D("0.12345")) == D("0.00004938")
    assert account.commission(D(3), D("0.33333")) == D("0.00040000")


def test_a_fill_marks_the_order_filled() -> None:
    account = _account()
    order = _order(Side.BUY, "0.010")
    account.fill(order, D("0.010"), D("60000.1"), time=7)
    assert order.status is Status.FILLED
    assert (order.executed_qty, order.avg_price, order.update_time) == (D("0.010"), D("60000.1"), 7)
    assert order.cum_quote == D("600.0010")


def test_standing_values_positions_at_their_marks() -> None:
    positions = {
        "BTCUSDT": Position(D("0.010"), D(60000)),
        "ETHUSDT": Position(D("-2"), D(3000)),
    }
    marks = {"BTCUSDT": D(61000), "ETHUSDT": D(3100)}
    figures = standing(D(1000), positions, marks, {"BTCUSDT": 10, "ETHUSDT": 5})
    assert figures.unrealized == D(10) - D(200)
    assert figures.initial_margin == D(61) + D(1240)
    assert figures.margin_balance == D(810)
    assert figures.available == D(810) - D(1301)


def test_reducible_quantity_only_against_the_position() -> None:
    long = Position(D("0.5"), D(100))
    assert long.reducible_by(Side.SELL) == D("0.5")
    assert long.reducible_by(Side.BUY) == 0
    assert Position().reducible_by(Side.SELL) == 0
