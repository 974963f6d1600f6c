"""``BinanceClient.depth``: the order-book snapshot, its limits and its weights.

The fake's depth endpoint and weight table are written here from Binance's documentation,
independently of the client's ``_weights``: a wrong weight in the client shows up as a
difference between what the client reserved and what the fake charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from petrosa.exchange.binance import (
    BinanceDecodingError,
    Endpoint,
    InvalidSymbolError,
    Market,
    depth_weight,
    request_weight,
)
from tests.unit.exchange.binance.conftest import MakeClient
from tests.unit.exchange.binance.fakes import FakeBinance, FakeTime

SPOT_DEPTH_WEIGHTS = [
    (1, 5), (100, 5), (101, 25), (500, 25), (501, 50), (1000, 50), (1001, 250), (5000, 250),
    (None, 5),  # default limit 100
]  # fmt: skip
FUTURES_DEPTH_WEIGHTS = [
    (5, 2), (10, 2), (20, 2), (50, 2), (100, 5), (500, 10), (1000, 20),
    (None, 10),  # default limit 500
]  # fmt: skip


def documented_depth_weight(market: str, limit: int) -> int:
    """Binance's tables for ``/api/v3/depth`` and ``/fapi/v1/depth``."""
    if market == "spot":
        return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
    return 2 if limit <= 50 else {100: 5, 500: 10, 1000: 20}[limit]


@dataclass
class FakeDepthBinance(FakeBinance):
    """``FakeBinance`` with an order book: ``levels`` levels a side around 100."""

    levels: int = 6_000
    last_update_id: int = 1_027_024

    def _weight(self, endpoint: str, params: dict[str, str]) -> int:
        if endpoint == "depth":
            default = 100 if self.market == "spot" else 500
            return documented_depth_weight(self.market, int(params.get("limit", default)))
        return super()._weight(endpoint, params)

    def _answer(self, endpoint: str, params: dict[str, str]) -> tuple[int, Any]:
        if endpoint != "depth":
            return super()._answer(endpoint, params)
        if params.get("symbol") not in self.symbols:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        limit = int(params.get("limit", "100" if self.market == "spot" else "500"))
        rows = min(limit, self.levels)
        body: dict[str, Any] = {
            "lastUpdateId": self.last_update_id,
            "bids": [[f"{99 - i * 0.01:.2f}", "1.50000000"] for i in range(rows)],
            "asks": [[f"{100 + i * 0.01:.2f}", "0.25000000"] for i in range(rows)],
        }
        if self.market == "futures":
            body |= {"E": self.now_ms, "T": self.now_ms - 3}
        return 200, body


@pytest.fixture
def depth_spot(fake_time: FakeTime) -> FakeDepthBinance:
    return FakeDepthBinance(fake_time, market="spot")


@pytest.fixture
def depth_futures(fake_time: FakeTime) -> FakeDepthBinance:
    return FakeDepthBinance(fake_time, market="futures")


@pytest.mark.parametrize(("limit", "weight"), SPOT_DEPTH_WEIGHTS)
def test_spot_depth_weight_follows_the_limit_tiers(limit: int | None, weight: int) -> None:
    assert depth_weight("spot", limit) == weight
    assert request_weight(Market.SPOT, Endpoint.DEPTH, limit=limit) == weight


@pytest.mark.parametrize(("limit", "weight"), FUTURES_DEPTH_WEIGHTS)
def test_futures_depth_weight_follows_the_limit_tiers(limit: int | None, weight: int) -> None:
    assert depth_weight("futures", limit) == weight
    assert request_weight(Market.FUTURES, Endpoint.DEPTH, limit=limit) == weight


@pytest.mark.parametrize(
    ("market", "limit"),
    [("spot", 0), ("spot", 5001), ("futures", 1), ("futures", 30), ("futures", 5000)],
)
def test_depth_limit_binance_refuses_is_refused_before_sending(market: str, limit: int) -> None:
    with pytest.raises(ValueError, match="depth limit"):
        depth_weight(market, limit)


async def test_spot_depth_returns_the_snapshot_as_sent(
    make_client: MakeClient, depth_spot: FakeDepthBinance
) -> None:
    client = make_client(depth_spot)

    book = await client.depth("BTCUSDT", 5000)

    assert book["lastUpdateId"] == depth_spot.last_update_id
    assert len(book["bids"]) == len(book["asks"]) == 5000
    assert book["bids"][0] == ["99.00", "1.50000000"]
    assert book["asks"][0] == ["100.00", "0.25000000"]
    [seen] = depth_spot.calls("depth")
    assert seen.params == {"symbol": "BTCUSDT", "limit": "5000"}
    assert seen.weight == 250


async def test_futures_depth_keeps_event_and_transaction_times(
    make_client: MakeClient, depth_futures: FakeDepthBinance
) -> None:
    client = make_client(depth_futures)

    book = await client.depth("ETHUSDT", limit=1000)

    assert {"lastUpdateId", "E", "T", "bids", "asks"} <= book.keys()
    assert len(book["bids"]) == 1000
    assert depth_futures.calls("depth")[0].weight == 20


async def test_depth_without_limit_sends_none_and_reserves_the_default_weight(
    make_client: MakeClient, depth_futures: FakeDepthBinance
) -> None:
    client = make_client(depth_futures, sync_clock=False)
    book = await client.depth("BTCUSDT")
    assert len(book["asks"]) == 500
    [seen] = depth_futures.calls("depth")
    assert seen.params == {"symbol": "BTCUSDT"}
    assert seen.weight == client.stats.weight == client.budget.used == 10


@pytest.mark.parametrize(
    ("market", "limit"),
    [(m, limit) for m, table in (("spot", SPOT_DEPTH_WEIGHTS), ("futures", FUTURES_DEPTH_WEIGHTS))
     for limit, _ in table],
)  # fmt: skip
async def test_depth_weight_matches_the_server(
    make_client: MakeClient, fake_time: FakeTime, market: str, limit: int | None
) -> None:
    fake = FakeDepthBinance(fake_time, market=market)
    client = make_client(fake, sync_clock=False)
    await client.depth("BTCUSDT", limit)
    assert client.stats.weight == client.budget.used == fake.seen[0].weight


async def test_futures_depth_with_an_invalid_limit_sends_nothing(
    make_client: MakeClient, depth_futures: FakeDepthBinance
) -> None:
    client = make_client(depth_futures)
    with pytest.raises(ValueError, match="depth limit"):
        await client.depth("BTCUSDT", 200)
    assert depth_futures.calls("depth") == []


async def test_depth_of_an_unknown_symbol_is_a_request_error(
    make_client: MakeClient, depth_spot: FakeDepthBinance
) -> None:
    client = make_client(depth_spot)
    with pytest.raises(InvalidSymbolError):
        await client.depth("NOPEUSDT", 10)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"bids": [], "asks": []},
        {"lastUpdateId": "7", "bids": [], "asks": []},
        {"lastUpdateId": True, "bids": [], "asks": []},
        {"lastUpdateId": 7, "bids": [["1.0"]], "asks": []},
        {"lastUpdateId": 7, "bids": [], "asks": {}},
    ],
)
async def test_a_body_that_is_not_a_book_is_a_decoding_error(
    make_client: MakeClient, depth_spot: FakeDepthBinance, body: Any
) -> None:
    depth_spot.script(httpx.Response(200, json=body))
    client = make_client(depth_spot)
    with pytest.raises(BinanceDecodingError, match="depth"):
        await client.depth("BTCUSDT", 10)


async def test_depth_is_retried_after_a_server_error(
    make_client: MakeClient, depth_spot: FakeDepthBinance
) -> None:
    depth_spot.script(503)
    client = make_client(depth_spot)
    book = await client.depth("BTCUSDT", 10)
    assert len(book["bids"]) == 10
    assert len(depth_spot.calls("depth")) == 2
