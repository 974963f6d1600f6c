"""Lost answers, refused connections, 5xx, 429 and clock drift while trading: an order is
looked up by its client id before it is ever sent again, so none is placed twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from petrosa.exchange.binance import BinanceTransportError, RetryPolicy
from petrosa.exchange.trading import OrderSide, OrderStatus, ProtectiveKind
from tests.unit.exchange.binance.test_trading_helpers import (
    LOST,
    REFUSED,
    Fault,
    Rig,
    trading_rig,
)

D = Decimal
ORDER = "/fapi/v1/order"
ALGO_ORDER = "/fapi/v1/algoOrder"
BUY = OrderSide.BUY


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with trading_rig() as built:
        yield built


def _unavailable() -> httpx.Response:
    return httpx.Response(503, json={"code": -1001, "msg": "Internal error."})


async def _buy(rig: Rig, client_id: str = "o-1") -> Decimal:
    order = await rig.exchange.place_market_order(
        "BTCUSDT", BUY, D("0.002"), client_order_id=client_id
    )
    assert order.status is OrderStatus.FILLED
    assert not order.duplicate
    return order.executed_qty


async def test_a_lost_answer_finds_the_order_it_placed(rig: Rig) -> None:
    rig.faults.plan("POST", ORDER, LOST)
    assert await _buy(rig) == D("0.002")
    assert rig.faults.count("POST", ORDER) == 1
    assert rig.trades() == 1


async def test_a_request_that_never_arrived_is_sent_again_with_the_same_id(rig: Rig) -> None:
    rig.faults.plan("POST", ORDER, REFUSED)
    await _buy(rig)
    assert rig.faults.count("POST", ORDER) == 2
    assert rig.trades() == 1


async def test_a_5xx_is_checked_before_resending(rig: Rig) -> None:
    rig.faults.plan("POST", ORDER, _unavailable())
    await _buy(rig)
    assert rig.faults.count("POST", ORDER) == 2
    assert rig.trades() == 1


async def test_placement_gives_up_after_its_attempts(rig: Rig) -> None:
    rig.faults.plan("POST", ORDER, REFUSED, REFUSED, REFUSED)
    with pytest.raises(BinanceTransportError):
        await _buy(rig)
    assert rig.faults.count("POST", ORDER) == 3
    assert rig.trades() == 0


async def test_a_429_pauses_then_resends(rig: Rig) -> None:
    limited = httpx.Response(
        429, json={"code": -1003, "msg": "Too many requests."}, headers={"Retry-After": "7"}
    )
    rig.faults.plan("POST", ORDER, limited)
    await _buy(rig)
    assert rig.faults.count("POST", ORDER) == 2
    assert 7 in rig.time.sleeps or sum(rig.time.sleeps) >= 7
    assert rig.trades() == 1


async def test_reads_are_retried_after_transport_errors(rig: Rig) -> None:
    rig.faults.plan("GET", "/fapi/v3/account", REFUSED, LOST)
    account = await rig.exchange.account()
    assert account.wallet_balance == D(10_000)
    assert rig.faults.count("GET", "/fapi/v3/account") == 3


async def _protect(rig: Rig) -> None:
    stop = rig.price() * D("0.9")
    placed = await rig.exchange.place_protective_order(
        "BTCUSDT", OrderSide.SELL, ProtectiveKind.STOP_LOSS, stop, client_order_id="sl"
    )
    assert (placed.status, placed.client_order_id) == (OrderStatus.NEW, "sl")


@pytest.mark.parametrize(("fault", "posts"), [(LOST, 1), (REFUSED, 2), (_unavailable(), 2)])
async def test_a_protective_order_without_an_answer_is_looked_up_before_resending(
    rig: Rig, fault: Fault, posts: int
) -> None:
    await _buy(rig)
    rig.faults.plan("POST", ALGO_ORDER, fault)
    await _protect(rig)
    assert rig.faults.count("POST", ALGO_ORDER) == posts
    assert len(rig.desk.account.algo_orders) == 1


@pytest.mark.parametrize(("fault", "deletes"), [(LOST, 1), (REFUSED, 2)])
async def test_a_cancel_without_an_answer_is_looked_up_then_sent_again_if_needed(
    rig: Rig, fault: str, deletes: int
) -> None:
    await _buy(rig)
    await _protect(rig)
    rig.faults.plan("DELETE", ALGO_ORDER, fault)
    assert (await rig.exchange.cancel_order("BTCUSDT", "sl")).status is OrderStatus.CANCELED
    assert rig.faults.count("DELETE", ALGO_ORDER) == deletes
    assert rig.faults.count("DELETE", ORDER) == 0


async def test_a_clock_drift_is_measured_again_and_the_request_resent(rig: Rig) -> None:
    await rig.exchange.account()
    assert rig.faults.count("GET", "/fapi/v1/time") == 1
    rig.sim_clock.advance(60_000)
    await rig.exchange.account()
    assert rig.faults.count("GET", "/fapi/v1/time") == 2
    assert rig.faults.count("GET", "/fapi/v3/account") == 3


async def test_weights_agree_with_the_server(rig: Rig) -> None:
    await _buy(rig)
    await rig.exchange.positions()
    await rig.exchange.open_orders()
    stats = rig.exchange.stats
    # time 1, exchangeInfo 1, premiumIndex 1, order lookup 1, order 0, userTrades 5,
    # positionRisk 5, openOrders and openAlgoOrders without a symbol 40 each
    assert stats.weight == stats.server_used_weight == 94


async def test_a_retry_policy_bounds_read_retries() -> None:
    async with trading_rig(retry=RetryPolicy(max_attempts=2)) as rig:
        rig.faults.plan("GET", "/fapi/v3/account", REFUSED, REFUSED, REFUSED)
        with pytest.raises(BinanceTransportError):
            await rig.exchange.account()
        assert rig.faults.count("GET", "/fapi/v3/account") == 2
