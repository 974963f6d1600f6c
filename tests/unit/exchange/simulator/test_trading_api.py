"""The paper account over HTTP in process: fills at the last trade, fees and realized P&L to
the cent, Binance's refusals, order book-keeping, weights, concurrency and reset."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from tests.unit.exchange.simulator.test_trading_helpers import (
    HOUR_MS,
    PaperClient,
    paper_client,
)

D = Decimal
FEE = D("0.0004")
ORDER = "/fapi/v1/order"


@pytest.fixture
async def paper() -> AsyncIterator[PaperClient]:
    async with paper_client() as client:
        yield client


def _fee(quantity: Decimal, price: Decimal) -> Decimal:
    return quantity * price * FEE


async def _wallet(paper: PaperClient) -> Decimal:
    account = await paper.ok("GET", "/fapi/v3/account")
    return D(account["assets"][0]["walletBalance"])


async def test_a_market_order_fills_at_the_last_trade(paper: PaperClient) -> None:
    price = paper.price()
    order = await paper.market_order("BUY", "0.002", "buy-1")
    assert order["status"] == "FILLED"
    assert order["price"] == "0"
    assert D(order["avgPrice"]) == price
    assert D(order["executedQty"]) == D("0.002")
    assert D(order["cumQuote"]) == price * D("0.002")
    [trade] = await paper.ok("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
    assert D(trade["commission"]) == _fee(D("0.002"), price)
    assert (trade["commissionAsset"], D(trade["realizedPnl"])) == ("USDT", D(0))
    [position] = await paper.ok("GET", "/fapi/v3/positionRisk", {"symbol": "BTCUSDT"})
    assert D(position["positionAmt"]) == D("0.002")
    assert D(position["entryPrice"]) == price
    assert D(position["markPrice"]) == price


async def test_ack_answers_the_order_as_accepted_and_the_query_shows_it_filled(
    paper: PaperClient,
) -> None:
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.002"}
    accepted = await paper.ok("POST", ORDER, {**params, "newClientOrderId": "ack-1"})
    assert (accepted["status"], accepted["executedQty"]) == ("NEW", "0.000")
    found = await paper.ok("GET", ORDER, {"symbol": "BTCUSDT", "origClientOrderId": "ack-1"})
    assert found["status"] == "FILLED"
    assert found["orderId"] == accepted["orderId"]


async def test_long_round_trip_books_the_move_and_two_fees(paper: PaperClient) -> None:
    quantity = D("0.003")
    opened = await paper.market_order("BUY", "0.003", "long-open")
    paper.clock.advance(HOUR_MS)
    closed = await paper.market_order("SELL", "0.003", "long-close", reduceOnly="true")
    entry, exit_ = D(opened["avgPrice"]), D(closed["avgPrice"])
    assert entry != exit_
    trades = await paper.ok("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
    assert D(trades[1]["realizedPnl"]) == (exit_ - entry) * quantity
    expected = (
        D(10_000) + (exit_ - entry) * quantity - _fee(quantity, entry) - _fee(quantity, exit_)
    )
    assert await _wallet(paper) == expected
    assert await paper.ok("GET", "/fapi/v3/positionRisk") == []


async def test_short_round_trip_gains_what_the_price_fell(paper: PaperClient) -> None:
    quantity = D("1.250")
    opened = await paper.market_order("SELL", "1.250", "short-open", symbol="ETHUSDT")
    paper.clock.advance(3 * HOUR_MS)
    closed = await paper.market_order(
        "BUY", "1.250", "short-close", symbol="ETHUSDT", reduceOnly="true"
    )
    entry, exit_ = D(opened["avgPrice"]), D(closed["avgPrice"])
    realized = (entry - exit_) * quantity
    trades = await paper.ok("GET", "/fapi/v1/userTrades", {"symbol": "ETHUSDT"})
    assert [D(t["realizedPnl"]) for t in trades] == [0, realized]
    fees = _fee(quantity, entry) + _fee(quantity, exit_)
    assert await _wallet(paper) == D(10_000) + realized - fees


async def test_unrealized_pnl_follows_the_mark(paper: PaperClient) -> None:
    opened = await paper.market_order("SELL", "0.004", "short")
    paper.clock.advance(HOUR_MS)
    mark = paper.price()
    [position] = await paper.ok("GET", "/fapi/v2/positionRisk", {"symbol": "BTCUSDT"})
    assert D(position["unRealizedProfit"]) == (mark - D(opened["avgPrice"])) * D("-0.004")
    assert position["leverage"] == "10"
    account = await paper.ok("GET", "/fapi/v3/account")
    asset = account["assets"][0]
    margin = D("0.004") * mark / 10
    assert D(asset["initialMargin"]) == margin.quantize(D("1e-8"))
    assert D(asset["availableBalance"]) == D(asset["marginBalance"]) - D(asset["initialMargin"])


async def test_a_client_order_id_is_used_once(paper: PaperClient) -> None:
    await paper.market_order("BUY", "0.002", "only-once")
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.002"}
    refused = await paper.refused("POST", ORDER, {**params, "newClientOrderId": "only-once"})
    assert refused == (400, -4116)
    assert len(await paper.ok("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})) == 1


async def test_concurrent_orders_with_one_client_id_fill_once(paper: PaperClient) -> None:
    params = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "MARKET",
        "quantity": "0.002",
        "newClientOrderId": "race",
    }
    answers = await asyncio.gather(*(paper.call("POST", ORDER, params) for _ in range(8)))
    assert sorted(a.status_code for a in answers) == [200] + [400] * 7
    [position] = await paper.ok("GET", "/fapi/v3/positionRisk")
    assert D(position["positionAmt"]) == D("0.002")


async def test_reduce_only_never_grows_a_position(paper: PaperClient) -> None:
    params = {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.002"}
    assert await paper.refused("POST", ORDER, {**params, "reduceOnly": "true"}) == (400, -2022)
    await paper.market_order("BUY", "0.005", "long")
    await paper.market_order("BUY", "0.002", "more")
    buy_more = {**params, "side": "BUY", "reduceOnly": "true"}
    assert await paper.refused("POST", ORDER, buy_more) == (400, -2022)
    closed = await paper.market_order("SELL", "0.010", "too-much", reduceOnly="true")
    assert (closed["origQty"], closed["executedQty"]) == ("0.010", "0.007")
    assert await paper.ok("GET", "/fapi/v3/positionRisk") == []


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"quantity": "0.001"}, -4164),  # 0.001 BTC is below BTCUSDT's 100 USDT notional
        ({"quantity": "0.0021"}, -1111),
        ({"quantity": "0"}, -4003),
        ({"quantity": "1000000"}, -4005),
        ({"quantity": "1e-3"}, -1100),
        ({"positionSide": "LONG"}, -4061),
        ({"type": "LIMIT"}, -1116),
        ({"side": "HOLD"}, -1117),
        ({"newClientOrderId": "no spaces allowed"}, -4015),
        ({"stopPrice": "60000"}, -1106),
        ({"newOrderRespType": "FULL"}, -1136),
        ({"reduceOnly": "maybe"}, -1130),
        ({"price": "60000"}, -1104),
        ({"symbol": "NOPEUSDT"}, -1121),
        ({"type": "STOP_MARKET", "stopPrice": "60000", "closePosition": "true"}, -4120),
        ({"type": "TAKE_PROFIT_MARKET", "stopPrice": "90000"}, -4120),
        ({"type": "TRAILING_STOP_MARKET"}, -4120),
    ],
)
async def test_refusals_with_binance_codes(
    paper: PaperClient, changes: dict[str, str], code: int
) -> None:
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.002"}
    assert await paper.refused("POST", ORDER, {**params, **changes}) == (400, code)
    assert await paper.ok("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"}) == []


async def test_margin_decides_with_the_leverage(paper: PaperClient) -> None:
    price = paper.price()
    quantity = (D(10_000) / price * D("1.2")).quantize(D("0.001"))
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": str(quantity)}
    await paper.ok("POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 1})
    assert await paper.refused("POST", ORDER, params) == (400, -2019)
    answer = await paper.ok("POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 2})
    assert answer["leverage"] == 2
    assert (await paper.ok("POST", ORDER, params))["status"] == "NEW"
    assert await paper.refused(
        "POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 0}
    ) == (
        400,
        -4028,
    )


async def test_orders_are_found_and_a_filled_one_cannot_be_canceled(paper: PaperClient) -> None:
    lookup = {"symbol": "BTCUSDT", "origClientOrderId": "long"}
    assert await paper.refused("GET", ORDER, lookup) == (400, -2013)
    assert await paper.refused("DELETE", ORDER, lookup) == (400, -2011)
    assert await paper.refused("GET", ORDER, {"symbol": "BTCUSDT"}) == (400, -1102)
    placed = await paper.market_order("BUY", "0.002", "long")
    by_id = await paper.ok("GET", ORDER, {"symbol": "BTCUSDT", "orderId": placed["orderId"]})
    assert by_id == await paper.ok("GET", ORDER, lookup) == placed
    assert await paper.refused("DELETE", ORDER, lookup) == (400, -2011)
    assert await paper.ok("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"}) == []


async def test_weights_follow_binance(paper: PaperClient) -> None:
    async def used(method: str, path: str, params: dict[str, str] | None = None) -> int:
        answer = await paper.call(method, path, params)
        return int(answer.headers["x-mbx-used-weight-1m"])

    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.002"}
    start = await used("POST", ORDER, params)
    assert start == 0
    lookup = {"symbol": "BTCUSDT", "orderId": "1"}
    assert await used("GET", ORDER, lookup) == 1
    assert await used("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"}) == 2
    assert await used("GET", "/fapi/v1/openOrders") == 42
    assert await used("GET", "/fapi/v3/positionRisk") == 47
    assert await used("GET", "/fapi/v2/account") == 52
    assert await used("GET", "/fapi/v3/balance") == 57
    assert await used("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"}) == 62
    assert await used("DELETE", ORDER, lookup) == 63
    algo = {"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL"}
    assert await used("POST", "/fapi/v1/algoOrder", algo) == 63  # refused (no type): weight 0
    assert await used("GET", "/fapi/v1/algoOrder", {"algoId": "1"}) == 64
    assert await used("DELETE", "/fapi/v1/algoOrder", {"algoId": "1"}) == 65
    assert await used("GET", "/fapi/v1/openAlgoOrders", {"symbol": "BTCUSDT"}) == 66
    assert await used("GET", "/fapi/v1/openAlgoOrders") == 106


async def test_balance_and_premium_index(paper: PaperClient) -> None:
    [balance] = await paper.ok("GET", "/fapi/v2/balance")
    assert (balance["asset"], D(balance["balance"])) == ("USDT", D(10_000))
    answer = await paper.http.get("/fapi/v1/premiumIndex", params={"symbol": "ETHUSDT"})
    index = answer.json()
    assert D(index["markPrice"]) == paper.price("ETHUSDT")
    assert index["nextFundingTime"] % (8 * HOUR_MS) == 0
    every = (await paper.http.get("/fapi/v1/premiumIndex")).json()
    assert [row["symbol"] for row in every] == ["BTCUSDT", "ETHUSDT"]


async def test_reset_reopens_the_account(paper: PaperClient) -> None:
    await paper.market_order("BUY", "0.002", "before-reset")
    await paper.http.post("/sim/reset")
    assert await paper.ok("GET", "/fapi/v3/positionRisk") == []
    assert await _wallet(paper) == 10_000
    await paper.market_order("BUY", "0.002", "before-reset")


async def test_the_whole_account_is_visible_to_tests(paper: PaperClient) -> None:
    await paper.market_order("BUY", "0.002", "first")
    await paper.market_order("SELL", "1", "second", symbol="ETHUSDT")
    orders = (await paper.http.get("/sim/orders")).json()["orders"]
    assert [o["clientOrderId"] for o in orders] == ["first", "second"]
    positions = (await paper.http.get("/sim/positions")).json()["positions"]
    assert {p["symbol"]: D(p["positionAmt"]) for p in positions} == {
        "BTCUSDT": D("0.002"),
        "ETHUSDT": D(-1),
    }
