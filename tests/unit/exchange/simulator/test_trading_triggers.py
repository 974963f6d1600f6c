"""Resting STOP_MARKET / TAKE_PROFIT_MARKET orders fire at the exact trade of the synthetic
tape that first reaches their stop, evaluated lazily whenever the next request comes."""

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
        "symbol": extra.pop("symbol", "BTCUSDT"),
        "side": side,
        "type": kind,
        "stopPrice": str(stop),
        "newClientOrderId": client_id,
        **extra,
    }


async def _order(paper: PaperClient, client_id: str, symbol: str = "BTCUSDT") -> dict[str, Any]:
    found: dict[str, Any] = await paper.ok(
        "GET", ORDER, {"symbol": symbol, "origClientOrderId": client_id}
    )
    return found


async def test_a_stop_loss_fires_at_the_first_trade_through_its_stop(paper: PaperClient) -> None:
    start = paper.clock.now_ms()
    entry = D((await paper.market_order("BUY", "0.002", "long"))["avgPrice"])
    trades = _trades(paper.market(), start, start + WINDOW_MS)
    low = min(p for _, p in trades)
    assert low < entry
    stop = _midway(entry, low).quantize(D("0.1"))
    fired_at, fill_price = _first(trades, at_or_below=stop)
    params = _conditional("STOP_MARKET", "SELL", stop, "stop", closePosition="true")
    await paper.ok("POST", ORDER, params)

    paper.clock.set(fired_at - 1)
    assert (await _order(paper, "stop"))["status"] == "NEW"
    paper.clock.set(start + WINDOW_MS)
    fired = await _order(paper, "stop")
    assert (fired["status"], D(fired["avgPrice"]), fired["updateTime"]) == (
        "FILLED",
        fill_price,
        fired_at,
    )
    assert D(fired["executedQty"]) == D("0.002")
    trade = (await paper.ok("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"}))[-1]
    assert D(trade["realizedPnl"]) == (fill_price - entry) * D("0.002")
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
    await paper.ok("POST", ORDER, params)
    paper.clock.set(start + WINDOW_MS)
    fired = await _order(paper, "tp", "ETHUSDT")
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
        "POST", ORDER, _conditional("STOP_MARKET", "SELL", stop, "s", closePosition="true")
    )
    for _ in range(3):
        assert (await _order(paper, "s"))["status"] == "NEW"


async def test_the_first_crossed_of_a_bracket_fires_and_the_other_expires_later(
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
        "POST", ORDER, _conditional("STOP_MARKET", "SELL", stop, "sl", closePosition="true")
    )
    await paper.ok(
        "POST",
        ORDER,
        _conditional("TAKE_PROFIT_MARKET", "SELL", target, "tp", closePosition="true"),
    )
    paper.clock.set(start + 4 * WINDOW_MS)
    first, second = ("sl", "tp") if stop_time < target_time else ("tp", "sl")
    assert (await _order(paper, first))["status"] == "FILLED"
    assert (await _order(paper, second))["status"] == "EXPIRED"
    assert await paper.ok("GET", "/fapi/v1/openOrders") == []


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
        "POST", ORDER, _conditional("STOP_MARKET", "BUY", trigger, "breakout", quantity="0.002")
    )
    paper.clock.set(start + WINDOW_MS)
    [position] = await paper.ok("GET", "/fapi/v3/positionRisk")
    assert (D(position["positionAmt"]), D(position["entryPrice"])) == (D("0.002"), fill_price)
    assert position["updateTime"] == fired_at
