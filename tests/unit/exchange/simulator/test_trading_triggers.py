"""Algo STOP_MARKET / TAKE_PROFIT_MARKET orders fire at the exact trade of the synthetic tape
that first reaches their trigger, evaluated lazily whenever the next request comes: each
places a market order of its own, filled at that trade with the taker fee."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from petrosa.exchange.simulator import tape
from petrosa.exchange.simulator.market import SyntheticMarket
from tests.unit.exchange.simulator.test_trading_helpers import (
    PaperClient,
    paper_client,
)

D = Decimal
ORDER = "/fapi/v1/order"
ALGO = "/fapi/v1/algoOrder"
FEE = D("0.0004")
WINDOW_MS = 15 * 60_000
ALL_TRADES = 1_000_000


@pytest.fixture
async def paper() -> AsyncIterator[PaperClient]:
    async with paper_client() as client:
        yield client


def _trades(market: SyntheticMarket, after: int, until: int) -> list[tuple[int, Decimal]]:
    """(time, price) of every trade in (after, until], from the market's own tape."""
    found = tape.between(market, after + 1, until, now=until, limit=ALL_TRADES)
    scale = market.contract.price_decimals
    return [
        (t, Decimal(p).scaleb(-scale))
        for t, p in zip(found.time.tolist(), found.price.tolist(), strict=True)
    ]


def _first(trades: list[tuple[int, Decimal]], *, at_or_below: Decimal) -> tuple[int, Decimal]:
    return next((t, p) for t, p in trades if p <= at_or_below)


def _midway(a: Decimal, b: Decimal) -> Decimal:
    return ((a + b) / 2).quantize(D("0.01"))


def _conditional(
    kind: str, side: str, stop: Decimal, client_id: str, **extra: str
) -> dict[str, str]:
    return {
        "algoType": "CONDITIONAL",
        "symbol": extra.pop("symbol", "BTCUSDT"),
        "side": side,
        "type": kind,
        "triggerPrice": str(stop),
        "clientAlgoId": client_id,
        **extra,
    }


async def _algo(paper: PaperClient, client_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await paper.ok("GET", ALGO, {"clientAlgoId": client_id})
    return found


async def _fired(paper: PaperClient, client_id: str) -> dict[str, Any]:
    """The market order the algo order ``client_id`` placed when it fired."""
    algo = await _algo(paper, client_id)
    assert algo["algoStatus"] == "FINISHED"
    order: dict[str, Any] = await paper.ok(
        "GET", ORDER, {"symbol": algo["symbol"], "orderId": algo["actualOrderId"]}
    )
    assert D(algo["actualPrice"]) == D(order["avgPrice"])
    assert algo["triggerTime"] == order["updateTime"]
    return order


async def test_a_stop_loss_fires_at_the_first_trade_through_its_stop(paper: PaperClient) -> None:
    start = paper.clock.now_ms()
    entry = D((await paper.market_order("BUY", "0.002", "long"))["avgPrice"])
    trades = _trades(paper.market(), start, start + WINDOW_MS)
    low = min(p for _, p in trades)
    assert low < entry
    stop = _midway(entry, low).quantize(D("0.1"))
    fired_at, fill_price = _first(trades, at_or_below=stop)
    params = _conditional("STOP_MARKET", "SELL", stop, "stop", closePosition="true")
    await paper.ok("POST", ALGO, params)

    paper.clock.set(fired_at - 1)
    waiting = await _algo(paper, "stop")
    assert (waiting["algoStatus"], waiting["actualOrderId"]) == ("NEW", "")
    paper.clock.set(start + WINDOW_MS)
    fired = await _fired(paper, "stop")
    assert (fired["status"], fired["type"], D(fired["avgPrice"]), fired["updateTime"]) == (
        "FILLED",
        "MARKET",
        fill_price,
        fired_at,
    )
    assert (D(fired["executedQty"]), fired["reduceOnly"]) == (D("0.002"), True)
    [trade] = await paper.ok(
        "GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT", "orderId": fired["orderId"]}
    )
    assert D(trade["realizedPnl"]) == (fill_price - entry) * D("0.002")
    assert D(trade["commission"]) == fill_price * D("0.002") * FEE
    assert await paper.ok("GET", "/fapi/v3/positionRisk") == []


async def test_a_take_profit_closes_a_short_when_the_price_falls_to_it(
    paper: PaperClient,
) -> None:
    start = paper.clock.now_ms()
    entry = D((await paper.market_order("SELL", "1.000", "short", symbol="ETHUSDT"))["avgPrice"])
    trades = _trades(paper.market("ETHUSDT"), start, start + WINDOW_MS)
    target = _midway(entry, min(p for _, p in trades))
    fired_at, fill_price = _first(trades, at_or_below=target)
    params = _conditional(
        "TAKE_PROFIT_MARKET", "BUY", target, "tp", symbol="ETHUSDT", quantity="1", reduceOnly="true"
    )
    await paper.ok("POST", ALGO, params)
    paper.clock.set(start + WINDOW_MS)
    fired = await _fired(paper, "tp")
    assert (fired["status"], D(fired["avgPrice"]), fired["updateTime"]) == (
        "FILLED",
        fill_price,
        fired_at,
    )
    trade = (await paper.ok("GET", "/fapi/v1/userTrades", {"symbol": "ETHUSDT"}))[-1]
    assert D(trade["realizedPnl"]) == entry - fill_price


async def test_nothing_fires_while_the_clock_stands(paper: PaperClient) -> None:
    entry = D((await paper.market_order("BUY", "0.002", "long"))["avgPrice"])
    stop = (entry - D("0.1")).quantize(D("0.1"))
    await paper.ok(
        "POST", ALGO, _conditional("STOP_MARKET", "SELL", stop, "s", closePosition="true")
    )
    for _ in range(3):
        assert (await _algo(paper, "s"))["algoStatus"] == "NEW"


async def test_the_first_crossed_of_a_bracket_fires_and_the_other_is_rejected_later(
    paper: PaperClient,
) -> None:
    start = paper.clock.now_ms()
    entry = D((await paper.market_order("BUY", "0.002", "long"))["avgPrice"])
    trades = _trades(paper.market(), start, start + 4 * WINDOW_MS)
    low, high = min(p for _, p in trades), max(p for _, p in trades)
    stop, target = _midway(entry, low).quantize(D("0.1")), _midway(entry, high).quantize(D("0.1"))
    stop_time, _ = _first(trades, at_or_below=stop)
    target_time = next(t for t, p in trades if p >= target)
    await paper.ok(
        "POST", ALGO, _conditional("STOP_MARKET", "SELL", stop, "sl", closePosition="true")
    )
    await paper.ok(
        "POST",
        ALGO,
        _conditional("TAKE_PROFIT_MARKET", "SELL", target, "tp", closePosition="true"),
    )
    paper.clock.set(start + 4 * WINDOW_MS)
    first, second = ("sl", "tp") if stop_time < target_time else ("tp", "sl")
    assert (await _fired(paper, first))["status"] == "FILLED"
    rejected = await _algo(paper, second)  # nothing left to close when it fired
    assert (rejected["algoStatus"], rejected["actualOrderId"]) == ("REJECTED", "")
    assert rejected["triggerTime"] == max(stop_time, target_time)
    assert await paper.ok("GET", "/fapi/v1/openAlgoOrders") == []
    orders = (await paper.http.get("/sim/orders")).json()["orders"]
    assert [o["type"] for o in orders] == ["MARKET", "MARKET"]  # the entry, the one that fired


async def test_an_opening_stop_buys_when_the_price_rises_to_it(paper: PaperClient) -> None:
    while True:  # a quarter-hour in which the price rises above where it starts
        start, price = paper.clock.now_ms(), paper.price()
        trades = _trades(paper.market(), start, start + WINDOW_MS)
        if max(p for _, p in trades) > price + 1:
            break
        paper.clock.advance(WINDOW_MS)
    trigger = _midway(price, max(p for _, p in trades)).quantize(D("0.1"))
    fired_at, fill_price = next((t, p) for t, p in trades if p >= trigger)
    await paper.ok(
        "POST", ALGO, _conditional("STOP_MARKET", "BUY", trigger, "breakout", quantity="0.002")
    )
    paper.clock.set(start + WINDOW_MS)
    [position] = await paper.ok("GET", "/fapi/v3/positionRisk")
    assert (D(position["positionAmt"]), D(position["entryPrice"])) == (D("0.002"), fill_price)
    assert position["updateTime"] == fired_at
