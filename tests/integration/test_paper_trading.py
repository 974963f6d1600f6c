"""Paper trading end to end: a real ``petrosa exchange-sim serve`` process on a free loopback
port (running clock), driven over HTTP by ``BinanceFuturesTrading``. Needs no other server.

Round trips long and short to the cent (fees and P&L recomputed from the fill prices the
simulator reports), one order per client order id even across a lost answer, a protective
stop firing at the exact trade of the synthetic tape that reaches it, typed refusals of bad
credentials. Protective orders are algo orders (``/fapi/v1/algoOrder``), as on Binance: found,
listed, canceled, never doubled, and once fired reported as their own market order; on a
second simulator whose clock stands still until the test moves it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest

from petrosa.exchange.binance import (
    AlgoOrderRequiredError,
    BinanceFuturesTrading,
    InvalidApiKeyError,
    InvalidSignatureError,
    WouldImmediatelyTriggerError,
)
from petrosa.exchange.binance._signing import Param
from petrosa.exchange.binance._trading_endpoints import NEW_ORDER
from petrosa.exchange.simulator import ManualClock, SimulatorSettings, tape
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.market import SyntheticMarket
from petrosa.exchange.simulator.venue import Venue
from petrosa.exchange.trading import (
    OrderFill,
    OrderSide,
    OrderStatus,
    OrderType,
    ProtectiveKind,
)
from tests.support.server import RunningServer, start_exchange_simulator

pytestmark = pytest.mark.integration

CLOCK_START = "2025-06-01T12:34:00Z"
KEY, SECRET = "paper-key", "paper-secret"
FEE = Decimal("0.0004")
STARTING_BALANCE = Decimal(10_000)
PLACEMENT_MARGIN_MS = 2_000
"""The stop is chosen from trades this long after "now": the order is placed before them."""
STOP_WINDOW_MS = 20_000
POLL_S = 0.25
ALL_TRADES = 100_000
FROZEN_WINDOW_MS = 6 * 3_600_000
"""How far the frozen clock is moved for a stop to fire."""
BUY, SELL = OrderSide.BUY, OrderSide.SELL


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_exchange_simulator(
        tmp_path_factory.mktemp("paper-trading"), "--clock-start", CLOCK_START
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def frozen_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_exchange_simulator(
        tmp_path_factory.mktemp("paper-frozen"), "--clock-start", CLOCK_START, "--freeze-clock"
    )
    yield server
    server.stop()


async def _reset_and_trade(server: RunningServer) -> AsyncIterator[BinanceFuturesTrading]:
    """The adapter on ``server``'s paper account, reset (a moved clock stays moved)."""
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        assert (await http.post("/sim/reset")).status_code == 200
    async with BinanceFuturesTrading(KEY, SECRET, base_url=server.base_url) as trading:
        yield trading


@pytest.fixture
async def exchange(simulator: RunningServer) -> AsyncIterator[BinanceFuturesTrading]:
    async for trading in _reset_and_trade(simulator):
        yield trading


@pytest.fixture
async def frozen(frozen_simulator: RunningServer) -> AsyncIterator[BinanceFuturesTrading]:
    async for trading in _reset_and_trade(frozen_simulator):
        yield trading


def _fee(order: OrderFill) -> Decimal:
    return order.executed_qty * order.avg_price * FEE


async def test_a_long_round_trip_to_the_cent(exchange: BinanceFuturesTrading) -> None:
    opened = await exchange.place_market_order(
        "BTCUSDT", BUY, Decimal("0.003"), client_order_id="long-open"
    )
    await asyncio.sleep(1.0)  # let the synthetic price move on
    closed = await exchange.place_market_order(
        "BTCUSDT", SELL, Decimal("0.003"), client_order_id="long-close", reduce_only=True
    )
    assert (opened.status, closed.status) == (OrderStatus.FILLED, OrderStatus.FILLED)
    assert (opened.commission, closed.commission) == (_fee(opened), _fee(closed))
    realized = (closed.avg_price - opened.avg_price) * Decimal("0.003")
    assert (opened.realized_pnl, closed.realized_pnl) == (Decimal(0), realized)
    account = await exchange.account()
    expected = STARTING_BALANCE + realized - _fee(opened) - _fee(closed)
    assert account.wallet_balance == expected
    assert account.equity == expected
    assert await exchange.positions() == []


async def test_a_short_round_trip_to_the_cent(exchange: BinanceFuturesTrading) -> None:
    opened = await exchange.place_market_order(
        "ETHUSDT", SELL, Decimal("1.5"), client_order_id="short-open"
    )
    [position] = await exchange.positions()
    assert (position.symbol, position.quantity, position.entry_price) == (
        "ETHUSDT",
        Decimal("-1.5"),
        opened.avg_price,
    )
    assert position.unrealized_pnl == (position.mark_price - opened.avg_price) * Decimal("-1.5")
    await asyncio.sleep(1.0)
    closed = await exchange.place_market_order(
        "ETHUSDT", BUY, Decimal("1.5"), client_order_id="short-close", reduce_only=True
    )
    realized = (opened.avg_price - closed.avg_price) * Decimal("1.5")
    assert closed.realized_pnl == realized
    account = await exchange.account()
    assert account.wallet_balance == STARTING_BALANCE + realized - _fee(opened) - _fee(closed)


async def test_one_client_order_id_is_one_order(exchange: BinanceFuturesTrading) -> None:
    first = await exchange.place_market_order(
        "BTCUSDT", BUY, Decimal("0.003"), client_order_id="only-one"
    )
    again = await exchange.place_market_order(
        "BTCUSDT", BUY, Decimal("0.003"), client_order_id="only-one"
    )
    assert (again.duplicate, again.order_id) == (True, first.order_id)
    [position] = await exchange.positions()
    assert position.quantity == Decimal("0.003")


class _LoseFirstOrderAnswer(httpx.AsyncBaseTransport):
    """Delivers every request, but the answer to the first new order never comes back."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.posts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path == "/fapi/v1/order":
            self.posts += 1
            if self.posts == 1:
                await response.aread()
                raise httpx.ReadTimeout("the answer was lost", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_placement_whose_answer_is_lost_is_not_doubled(
    simulator: RunningServer, exchange: BinanceFuturesTrading
) -> None:
    transport = _LoseFirstOrderAnswer()
    async with BinanceFuturesTrading(
        KEY, SECRET, base_url=simulator.base_url, transport=transport
    ) as flaky:
        order = await flaky.place_market_order(
            "BTCUSDT", BUY, Decimal("0.004"), client_order_id="lost-answer"
        )
    assert (order.status, order.duplicate) == (OrderStatus.FILLED, False)
    assert transport.posts == 1
    [position] = await exchange.positions()
    assert position.quantity == Decimal("0.004")
    assert len(await exchange.fills("BTCUSDT", order.order_id)) == 1


@dataclass(frozen=True)
class _Plan:
    kind: ProtectiveKind
    stop: Decimal


def _futures_market(symbol: str) -> SyntheticMarket:
    """The simulator's market, rebuilt in process from the same (default) settings."""
    return Venue(SimulatorSettings(), ManualClock(0)).market(MarketKind.FUTURES, symbol)


def _tape(market: SyntheticMarket, after: int, until: int) -> list[tuple[int, Decimal]]:
    trades = tape.between(market, after + 1, until, now=until, limit=ALL_TRADES)
    scale = market.contract.price_decimals
    return [
        (time, Decimal(ticks).scaleb(-scale))
        for time, ticks in zip(trades.time.tolist(), trades.price.tolist(), strict=True)
    ]


def _plan(trades: list[tuple[int, Decimal]], price: Decimal) -> _Plan:
    """A stop-loss at the lowest trade ahead when the price dips, else a take-profit at the
    highest (a long position: both sell)."""
    low, high = min(p for _, p in trades), max(p for _, p in trades)
    if low < price:
        return _Plan(ProtectiveKind.STOP_LOSS, low)
    assert high > price, "the synthetic price stands still for 20 s"
    return _Plan(ProtectiveKind.TAKE_PROFIT, high)


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1_000)


async def test_a_protective_stop_fires_at_the_trade_that_reaches_it(
    simulator: RunningServer, exchange: BinanceFuturesTrading
) -> None:
    market = _futures_market("BTCUSDT")
    opened = await exchange.place_market_order(
        "BTCUSDT", BUY, Decimal("0.003"), client_order_id="guarded"
    )
    async with httpx.AsyncClient(base_url=simulator.base_url) as http:
        now = (await http.get("/fapi/v1/time")).json()["serverTime"]
    ahead = _tape(market, now + PLACEMENT_MARGIN_MS, now + STOP_WINDOW_MS)
    plan = _plan(ahead, await exchange.mark_price("BTCUSDT"))
    try:
        placed = await exchange.place_protective_order(
            "BTCUSDT", SELL, plan.kind, plan.stop, client_order_id="guard"
        )
    except WouldImmediatelyTriggerError:
        pytest.fail("placing the order took longer than the margin allowed for")
    placed_ms = _ms(placed.update_time)
    assert placed_ms < now + PLACEMENT_MARGIN_MS
    crossing = [
        (t, p)
        for t, p in _tape(market, placed_ms, now + STOP_WINDOW_MS)
        if (p <= plan.stop if plan.kind is ProtectiveKind.STOP_LOSS else p >= plan.stop)
    ]
    fired_at, fill_price = crossing[0]

    fired = placed
    while fired.status is OrderStatus.NEW:
        await asyncio.sleep(POLL_S)
        found = await exchange.get_order("BTCUSDT", "guard")
        assert found is not None
        fired = found
    assert fired.status is OrderStatus.FILLED
    assert (fired.avg_price, _ms(fired.update_time)) == (fill_price, fired_at)
    assert fired.realized_pnl == (fill_price - opened.avg_price) * Decimal("0.003")
    assert fired.commission == _fee(fired)
    assert await exchange.positions() == []


async def _sim(server: RunningServer, method: str, path: str, **params: int) -> Any:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.request(method, path, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()


async def test_a_protective_order_is_an_algo_order_found_listed_and_canceled(
    frozen_simulator: RunningServer, frozen: BinanceFuturesTrading
) -> None:
    await frozen.place_market_order("BTCUSDT", BUY, Decimal("0.003"), client_order_id="algo-long")
    stop = await frozen.mark_price("BTCUSDT") * Decimal("0.9")
    placed = await frozen.place_protective_order(
        "BTCUSDT", SELL, ProtectiveKind.STOP_LOSS, stop, client_order_id="algo-sl"
    )
    again = await frozen.place_protective_order(
        "BTCUSDT", SELL, ProtectiveKind.STOP_LOSS, stop, client_order_id="algo-sl"
    )
    assert (placed.duplicate, again.duplicate, again.order_id) == (False, True, placed.order_id)
    [algo] = (await _sim(frozen_simulator, "GET", "/sim/orders"))["algoOrders"]
    assert (algo["algoId"], algo["clientAlgoId"], algo["algoStatus"]) == (
        placed.order_id,
        "algo-sl",
        "NEW",
    )
    assert (algo["orderType"], algo["closePosition"]) == ("STOP_MARKET", True)
    assert await frozen.get_order("BTCUSDT", "algo-sl") == placed
    assert [o.client_order_id for o in await frozen.open_orders("BTCUSDT")] == ["algo-sl"]
    canceled = await frozen.cancel_order("BTCUSDT", "algo-sl")
    assert canceled.status is OrderStatus.CANCELED
    assert await frozen.open_orders() == []
    orders = (await _sim(frozen_simulator, "GET", "/sim/orders"))["orders"]
    assert [o["clientOrderId"] for o in orders] == ["algo-long"]  # no order of its own


async def test_a_fired_stop_is_one_market_order_with_its_fee(
    frozen_simulator: RunningServer, frozen: BinanceFuturesTrading
) -> None:
    market = _futures_market("BTCUSDT")
    opened = await frozen.place_market_order(
        "BTCUSDT", BUY, Decimal("0.003"), client_order_id="frozen-long"
    )
    now = (await _sim(frozen_simulator, "GET", "/fapi/v1/time"))["serverTime"]
    ahead = _tape(market, now, now + FROZEN_WINDOW_MS)
    low = min(p for _, p in ahead)
    assert low < opened.avg_price, "the synthetic price never dips in 6 h"
    stop = ((opened.avg_price + low) / 2).quantize(Decimal("0.1"))
    fired_at, fill_price = next((t, p) for t, p in ahead if p <= stop)
    placed = await frozen.place_protective_order(
        "BTCUSDT", SELL, ProtectiveKind.STOP_LOSS, stop, client_order_id="frozen-sl"
    )
    assert (await frozen.get_order("BTCUSDT", "frozen-sl")) == placed  # the clock stands

    await _sim(frozen_simulator, "POST", "/sim/clock/advance", ms=FROZEN_WINDOW_MS)
    fired = await frozen.get_order("BTCUSDT", "frozen-sl")
    assert fired is not None
    assert (fired.status, fired.type, fired.client_order_id) == (
        OrderStatus.FILLED,
        OrderType.STOP_MARKET,
        "frozen-sl",
    )
    assert (fired.avg_price, fired.executed_qty, _ms(fired.update_time)) == (
        fill_price,
        Decimal("0.003"),
        fired_at,
    )
    assert fired.commission == _fee(fired)
    assert fired.realized_pnl == (fill_price - opened.avg_price) * Decimal("0.003")
    seen = await _sim(frozen_simulator, "GET", "/sim/orders")
    [algo] = seen["algoOrders"]
    assert (algo["algoStatus"], algo["actualOrderId"]) == ("FINISHED", str(fired.order_id))
    markets = [o for o in seen["orders"] if o["type"] == "MARKET"]
    assert [o["orderId"] for o in markets] == [opened.order_id, fired.order_id]
    assert len(await frozen.fills("BTCUSDT", fired.order_id)) == 1
    assert await frozen.positions() == []


async def test_the_order_endpoint_refuses_a_stop_with_4120(frozen: BinanceFuturesTrading) -> None:
    stop = (await frozen.mark_price("BTCUSDT") * Decimal("0.9")).quantize(Decimal("0.1"))
    params: list[tuple[str, Param]] = [
        ("symbol", "BTCUSDT"),
        ("side", "SELL"),
        ("type", "STOP_MARKET"),
        ("stopPrice", stop),
        ("closePosition", True),
    ]
    with pytest.raises(AlgoOrderRequiredError) as refused:
        await frozen._send(NEW_ORDER, params)
    assert (refused.value.status, refused.value.code) == (400, -4120)


@pytest.mark.parametrize(
    ("key", "secret", "error"),
    [("intruder", SECRET, InvalidApiKeyError), (KEY, "wrong", InvalidSignatureError)],
)
async def test_bad_credentials_are_typed_errors(
    simulator: RunningServer, key: str, secret: str, error: type[Exception]
) -> None:
    async with BinanceFuturesTrading(key, secret, base_url=simulator.base_url) as trading:
        with pytest.raises(error):
            await trading.account()
        with pytest.raises(error):
            await trading.place_market_order(
                "BTCUSDT", BUY, Decimal("0.003"), client_order_id="refused"
            )
