"""Algo orders of the paper account over HTTP in process: placed, found by either id, listed,
canceled, refused with Binance's codes, and visible to tests on ``/sim/orders``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from tests.unit.exchange.simulator.test_trading_helpers import PaperClient, paper_client

D = Decimal
ALGO = "/fapi/v1/algoOrder"
OPEN_ALGO = "/fapi/v1/openAlgoOrders"
FIRST_ALGO_ID = 1_000_000_001


@pytest.fixture
async def paper() -> AsyncIterator[PaperClient]:
    async with paper_client() as client:
        yield client


def _stop(paper: PaperClient, client_id: str, **extra: str) -> dict[str, str]:
    """A stop-loss closing a long, 10 % under the price."""
    trigger = (paper.price() * D("0.9")).quantize(D("0.1"))
    return {
        "algoType": "CONDITIONAL",
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "STOP_MARKET",
        "triggerPrice": str(trigger),
        "closePosition": "true",
        "clientAlgoId": client_id,
        **extra,
    }


async def test_an_algo_order_is_placed_found_listed_and_canceled(paper: PaperClient) -> None:
    await paper.market_order("BUY", "0.002", "long")
    params = _stop(paper, "sl-1")
    placed: dict[str, Any] = await paper.ok("POST", ALGO, params)
    now = paper.clock.now_ms()
    assert placed["algoId"] == FIRST_ALGO_ID
    assert {k: placed[k] for k in ("clientAlgoId", "algoType", "orderType", "algoStatus")} == {
        "clientAlgoId": "sl-1",
        "algoType": "CONDITIONAL",
        "orderType": "STOP_MARKET",
        "algoStatus": "NEW",
    }
    assert (placed["symbol"], placed["side"], placed["triggerPrice"]) == (
        "BTCUSDT",
        "SELL",
        params["triggerPrice"],
    )
    assert (placed["closePosition"], placed["reduceOnly"], placed["quantity"]) == (
        True,
        False,
        "0.000",
    )
    assert (placed["actualOrderId"], placed["createTime"], placed["triggerTime"]) == ("", now, 0)
    assert await paper.ok("GET", ALGO, {"algoId": placed["algoId"]}) == placed
    assert await paper.ok("GET", ALGO, {"clientAlgoId": "sl-1"}) == placed
    assert await paper.ok("GET", OPEN_ALGO, {"symbol": "BTCUSDT"}) == [placed]
    assert await paper.ok("GET", OPEN_ALGO) == [placed]
    assert await paper.ok("GET", OPEN_ALGO, {"symbol": "ETHUSDT"}) == []
    assert await paper.ok("GET", "/fapi/v1/openOrders") == []  # not a regular order

    canceled = await paper.ok("DELETE", ALGO, {"clientAlgoId": "sl-1"})
    assert canceled == {
        "algoId": FIRST_ALGO_ID,
        "clientAlgoId": "sl-1",
        "code": "200",
        "msg": "success",
    }
    assert (await paper.ok("GET", ALGO, {"clientAlgoId": "sl-1"}))["algoStatus"] == "CANCELED"
    assert await paper.refused("DELETE", ALGO, {"clientAlgoId": "sl-1"}) == (400, -2011)
    assert await paper.ok("GET", OPEN_ALGO) == []


async def test_one_client_algo_id_is_one_algo_order(paper: PaperClient) -> None:
    await paper.market_order("BUY", "0.002", "long")
    await paper.ok("POST", ALGO, _stop(paper, "once"))
    assert await paper.refused("POST", ALGO, _stop(paper, "once")) == (400, -4116)
    await paper.ok("DELETE", ALGO, {"clientAlgoId": "once"})
    assert await paper.refused("POST", ALGO, _stop(paper, "once")) == (400, -4116)
    assert len((await paper.http.get("/sim/orders")).json()["algoOrders"]) == 1


async def test_unknown_algo_orders(paper: PaperClient) -> None:
    assert await paper.refused("GET", ALGO, {"clientAlgoId": "nope"}) == (400, -2013)
    assert await paper.refused("GET", ALGO, {"algoId": "7"}) == (400, -2013)
    assert await paper.refused("DELETE", ALGO, {"clientAlgoId": "nope"}) == (400, -2011)
    assert await paper.refused("GET", ALGO, {}) == (400, -1102)


async def test_a_trigger_already_crossed_is_refused(paper: PaperClient) -> None:
    above = str((paper.price() * D("1.01")).quantize(D("0.1")))
    params = {
        **_stop(paper, "crossed", triggerPrice=above),
        "closePosition": "false",
        "quantity": "0.002",
        "reduceOnly": "true",
    }
    assert await paper.refused("POST", ALGO, params) == (400, -2021)
    take_profit = {**params, "type": "TAKE_PROFIT_MARKET", "clientAlgoId": "tp"}
    assert (await paper.ok("POST", ALGO, take_profit))["algoStatus"] == "NEW"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"algoType": "VP"}, -1130),
        ({"type": "LIMIT"}, -1116),
        ({"type": "TRAILING_STOP_MARKET"}, -1116),  # Binance's, not served here
        ({"triggerPrice": ""}, -1105),
        ({"triggerPrice": "1.05"}, -1111),
        ({"triggerPrice": "0"}, -4006),
        ({"quantity": "0.002"}, -4137),
        ({"reduceOnly": "true"}, -1106),
        ({"workingType": "LAST"}, -4031),
        ({"positionSide": "LONG"}, -4061),
        ({"clientAlgoId": "no spaces"}, -4015),
        ({"stopPrice": "1"}, -1104),
        ({"symbol": "NOPEUSDT"}, -1121),
        ({"closePosition": "false"}, -1102),  # then a quantity is mandatory
        ({"closePosition": "false", "quantity": "0.001"}, -4164),  # opening, below 100 USDT
    ],
)
async def test_algo_refusals_with_binance_codes(
    paper: PaperClient, changes: dict[str, str], code: int
) -> None:
    params = {**_stop(paper, "refused"), **changes}
    assert await paper.refused("POST", ALGO, params) == (400, code)
    assert (await paper.http.get("/sim/orders")).json()["algoOrders"] == []


async def test_reset_forgets_algo_orders(paper: PaperClient) -> None:
    await paper.ok("POST", ALGO, _stop(paper, "before-reset"))
    await paper.http.post("/sim/reset")
    assert await paper.ok("GET", OPEN_ALGO) == []
    assert (await paper.ok("POST", ALGO, _stop(paper, "before-reset")))["algoId"] == FIRST_ALGO_ID
