"""``BinanceFuturesTrading`` against the paper account in process: fills with their fees and
realized P&L, idempotent client order ids, protective orders, typed refusals."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from petrosa.contracts import PositionSide
from petrosa.exchange import trading
from petrosa.exchange.binance import (
    AlgoOrderRequiredError,
    InsufficientMarginError,
    InvalidApiKeyError,
    InvalidSignatureError,
    InvalidSymbolError,
    ReduceOnlyRejectedError,
    UnknownOrderError,
    WouldImmediatelyTriggerError,
)
from petrosa.exchange.binance._signing import Param
from petrosa.exchange.binance._trading_endpoints import NEW_ORDER
from petrosa.exchange.trading import (
    InvalidOrder,
    InvalidOrderReason,
    OrderSide,
    OrderStatus,
    OrderType,
    ProtectiveKind,
    TradingExchange,
)
from tests.unit.exchange.binance.test_trading_helpers import SIM_NOW_MS, Rig, trading_rig

D = Decimal
FEE = D("0.0004")
HOUR_MS = 3_600_000
BUY, SELL = OrderSide.BUY, OrderSide.SELL
ORDER, ALGO_ORDER = "/fapi/v1/order", "/fapi/v1/algoOrder"


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with trading_rig() as built:
        yield built


def test_the_adapter_implements_the_port(rig: Rig) -> None:
    port: TradingExchange = rig.exchange
    assert port is rig.exchange


async def test_a_long_round_trip_reports_fills_fees_and_pnl(rig: Rig) -> None:
    ex = rig.exchange
    entry_price = rig.price()
    opened = await ex.place_market_order("BTCUSDT", BUY, D("0.0025"), client_order_id="o-1")
    assert (opened.status, opened.type, opened.duplicate) == (
        OrderStatus.FILLED,
        OrderType.MARKET,
        False,
    )
    assert (opened.executed_qty, opened.avg_price) == (D("0.002"), entry_price)
    assert opened.commission == D("0.002") * entry_price * FEE
    assert (opened.commission_asset, opened.realized_pnl) == ("USDT", D(0))
    assert opened.update_time == dt.datetime.fromtimestamp(SIM_NOW_MS / 1_000, dt.UTC)
    [position] = await ex.positions()
    assert (position.side, position.size, position.entry_price) == (
        PositionSide.LONG,
        D("0.002"),
        entry_price,
    )

    rig.sim_clock.advance(HOUR_MS)  # the adapter's timestamps lag: -1021, re-measure, resend
    exit_price = rig.price()
    closed = await ex.place_market_order(
        "BTCUSDT", SELL, D("0.002"), client_order_id="c-1", reduce_only=True
    )
    assert closed.avg_price == exit_price
    assert closed.realized_pnl == (exit_price - entry_price) * D("0.002")
    account = await ex.account()
    fees = (entry_price + exit_price) * D("0.002") * FEE
    assert account.wallet_balance == D(10_000) + closed.realized_pnl - fees
    assert account.equity == account.wallet_balance == account.available_balance
    assert await ex.positions() == []


async def test_a_short_round_trip(rig: Rig) -> None:
    ex = rig.exchange
    opened = await ex.place_market_order("ETHUSDT", SELL, D("2"), client_order_id="s-1")
    rig.sim_clock.advance(2 * HOUR_MS)
    closed = await ex.place_market_order(
        "ETHUSDT", BUY, D("2"), client_order_id="s-2", reduce_only=True
    )
    assert closed.realized_pnl == (opened.avg_price - closed.avg_price) * 2
    fills = await ex.fills("ETHUSDT", closed.order_id)
    assert [(f.side, f.quantity, f.price) for f in fills] == [(BUY, D(2), closed.avg_price)]


async def test_the_same_client_order_id_never_makes_a_second_order(rig: Rig) -> None:
    ex = rig.exchange
    first = await ex.place_market_order("BTCUSDT", BUY, D("0.002"), client_order_id="once")
    again = await ex.place_market_order("BTCUSDT", BUY, D("0.002"), client_order_id="once")
    assert again.duplicate
    assert (again.order_id, again.commission) == (first.order_id, first.commission)
    assert rig.trades() == 1
    assert rig.faults.count("POST", "/fapi/v1/order") == 1


async def test_racing_placements_with_one_id_make_one_order(rig: Rig) -> None:
    ex = rig.exchange
    await ex.symbol_filters("BTCUSDT")
    results = await asyncio.gather(
        *(ex.place_market_order("BTCUSDT", BUY, D("0.002"), client_order_id="r") for _ in range(4))
    )
    assert len({r.order_id for r in results}) == 1
    assert sorted(r.duplicate for r in results) == [False, True, True, True]
    assert rig.trades() == 1


async def test_orders_outside_the_filters_are_refused_before_sending(rig: Rig) -> None:
    ex = rig.exchange
    with pytest.raises(InvalidOrder) as small:
        await ex.place_market_order("BTCUSDT", BUY, D("0.001"), client_order_id="tiny")
    assert small.value.reason is InvalidOrderReason.NOTIONAL_BELOW_MINIMUM
    with pytest.raises(InvalidOrder) as zero:
        await ex.place_market_order("BTCUSDT", BUY, D("0.0009"), client_order_id="zero")
    assert zero.value.reason is InvalidOrderReason.QUANTITY_NOT_POSITIVE
    with pytest.raises(InvalidOrder):
        await ex.place_market_order("BTCUSDT", BUY, D("0.002"), client_order_id="bad id!")
    with pytest.raises(InvalidSymbolError):
        await ex.place_market_order("NOPEUSDT", BUY, D("1"), client_order_id="nope")
    assert rig.faults.count("POST", "/fapi/v1/order") == 0


async def test_refusals_are_typed_and_neutral(rig: Rig) -> None:
    ex = rig.exchange
    with pytest.raises(ReduceOnlyRejectedError) as reduce:
        await ex.place_market_order(
            "BTCUSDT", SELL, D("0.002"), client_order_id="ro", reduce_only=True
        )
    assert isinstance(reduce.value, trading.OrderRejected)
    assert reduce.value.code == -2022
    assert await ex.set_leverage("BTCUSDT", 1) == 1
    huge = (D(12_000) / rig.price()).quantize(D("0.001"))
    with pytest.raises(InsufficientMarginError) as margin:
        await ex.place_market_order("BTCUSDT", BUY, huge, client_order_id="big")
    assert isinstance(margin.value, trading.InsufficientMargin)
    assert await ex.get_order("BTCUSDT", "big") is None


async def test_a_protective_stop_is_an_algo_order_that_rests_and_can_be_canceled(
    rig: Rig,
) -> None:
    ex = rig.exchange
    await ex.place_market_order("BTCUSDT", BUY, D("0.002"), client_order_id="long")
    stop = rig.price() * D("0.95123")
    placed = await ex.place_protective_order(
        "BTCUSDT", SELL, ProtectiveKind.STOP_LOSS, stop, client_order_id="sl"
    )
    assert (placed.status, placed.type, placed.close_position, placed.duplicate) == (
        OrderStatus.NEW,
        OrderType.STOP_MARKET,
        True,
        False,
    )
    assert placed.stop_price == stop.quantize(D("0.1"))
    [algo] = rig.desk.account.algo_orders.values()
    assert (placed.order_id, placed.client_order_id) == (algo.algo_id, algo.client_algo_id)
    assert rig.faults.count("POST", ORDER) == 1  # the entry only: -4120 never happens
    again = await ex.place_protective_order(
        "BTCUSDT", SELL, ProtectiveKind.STOP_LOSS, stop, client_order_id="sl"
    )
    assert (again.duplicate, again.order_id) == (True, placed.order_id)
    assert len(rig.desk.account.algo_orders) == 1
    assert rig.faults.count("POST", ALGO_ORDER) == 1
    assert await ex.get_order("BTCUSDT", "sl") == placed
    assert [o.client_order_id for o in await ex.open_orders("BTCUSDT")] == ["sl"]
    assert [o.client_order_id for o in await ex.open_orders()] == ["sl"]
    canceled = await ex.cancel_order("BTCUSDT", "sl")
    assert (canceled.status, canceled.order_id) == (OrderStatus.CANCELED, placed.order_id)
    assert await ex.open_orders() == []
    with pytest.raises(UnknownOrderError) as unknown:
        await ex.cancel_order("BTCUSDT", "sl")
    assert isinstance(unknown.value, trading.UnknownOrder)
    with pytest.raises(WouldImmediatelyTriggerError):
        await ex.place_protective_order(
            "BTCUSDT", SELL, ProtectiveKind.TAKE_PROFIT, stop, client_order_id="tp-low"
        )


async def test_looking_up_a_market_order_never_asks_for_algo_orders(rig: Rig) -> None:
    ex = rig.exchange
    placed = await ex.place_market_order(
        "BTCUSDT", BUY, D("0.002"), client_order_id="entry", first_attempt=True
    )
    found = await ex.get_order("BTCUSDT", "entry")
    assert found == placed
    assert rig.faults.count("GET", ORDER) == 1  # the get_order itself
    assert rig.faults.count("GET", ALGO_ORDER) == 0
    assert await ex.get_order("BTCUSDT", "never-placed") is None
    assert rig.faults.count("GET", ALGO_ORDER) == 1


async def test_the_order_endpoint_refuses_conditional_types(rig: Rig) -> None:
    params: list[tuple[str, Param]] = [
        ("symbol", "BTCUSDT"),
        ("side", "SELL"),
        ("type", "STOP_MARKET"),
        ("stopPrice", (rig.price() * D("0.9")).quantize(D("0.1"))),
        ("closePosition", True),
    ]
    with pytest.raises(AlgoOrderRequiredError) as refused:
        await rig.exchange._send(NEW_ORDER, params)
    assert (refused.value.status, refused.value.code) == (400, -4120)
    assert isinstance(refused.value, trading.OrderRejected)


async def test_a_triggered_stop_reports_the_fill_of_its_market_order(rig: Rig) -> None:
    ex = rig.exchange
    opened = await ex.place_market_order("BTCUSDT", BUY, D("0.002"), client_order_id="long")
    stop = opened.avg_price - D(1)
    placed = await ex.place_protective_order(
        "BTCUSDT", SELL, ProtectiveKind.STOP_LOSS, stop, client_order_id="sl"
    )
    while True:  # until the synthetic price has crossed the stop
        rig.sim_clock.advance(60_000)
        fired = await ex.get_order("BTCUSDT", "sl")
        assert fired is not None
        if fired.status is not OrderStatus.NEW:
            break
    [algo] = rig.desk.account.algo_orders.values()
    assert algo.actual_order_id == fired.order_id != placed.order_id
    assert (fired.client_order_id, fired.type, fired.stop_price) == (
        "sl",
        OrderType.STOP_MARKET,
        placed.stop_price,
    )
    assert (fired.status, fired.executed_qty, fired.reduce_only) == (
        OrderStatus.FILLED,
        D("0.002"),
        True,
    )
    assert fired.avg_price <= stop
    assert fired.realized_pnl == (fired.avg_price - opened.avg_price) * D("0.002")
    assert fired.commission == fired.avg_price * D("0.002") * FEE
    [trade] = await ex.fills("BTCUSDT", fired.order_id)
    assert (trade.price, trade.commission) == (fired.avg_price, fired.commission)
    assert rig.trades() == 2  # the entry and the stop's own market order, once
    assert await ex.positions() == []
    assert await ex.open_orders() == []
    with pytest.raises(UnknownOrderError):
        await ex.cancel_order("BTCUSDT", "sl")


async def test_a_partial_take_profit_reduces_by_its_quantity(rig: Rig) -> None:
    ex = rig.exchange
    await ex.place_market_order("BTCUSDT", BUY, D("0.004"), client_order_id="long")
    placed = await ex.place_protective_order(
        "BTCUSDT",
        SELL,
        ProtectiveKind.TAKE_PROFIT,
        rig.price() * 2,
        client_order_id="tp",
        close_position=False,
        quantity=D("0.0019"),
    )
    assert (placed.orig_qty, placed.reduce_only, placed.close_position) == (
        D("0.001"),
        True,
        False,
    )
    with pytest.raises(ValueError, match="quantity"):
        await ex.place_protective_order(
            "BTCUSDT", SELL, ProtectiveKind.TAKE_PROFIT, D(1), client_order_id="x", quantity=D(1)
        )


async def test_mark_price_and_filters(rig: Rig) -> None:
    ex = rig.exchange
    assert await ex.mark_price("BTCUSDT") == rig.price()
    filters = await ex.symbol_filters("ETHUSDT")
    assert (filters.step_size, filters.tick_size, filters.min_notional) == (
        D("0.001"),
        D("0.01"),
        D(5),
    )


@pytest.mark.parametrize(
    ("credentials", "error"),
    [
        ({"key": "intruder"}, InvalidApiKeyError),
        ({"secret": "not-the-secret"}, InvalidSignatureError),
    ],
)
async def test_bad_credentials_are_typed(
    credentials: dict[str, str], error: type[Exception]
) -> None:
    async with trading_rig(**credentials) as built:
        with pytest.raises(error):
            await built.exchange.account()
        with pytest.raises(error):
            await built.exchange.place_market_order("BTCUSDT", BUY, D("0.002"), client_order_id="x")
        assert built.trades() == 0
