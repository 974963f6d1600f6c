"""``/api/v3/depth`` and ``/fapi/v1/depth`` in process (ASGI transport): Binance's shapes,
limits, weights and errors, and answers that are the venue's book at the clock's step."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI

from petrosa.exchange.simulator import ManualClock, SimulatorSettings, create_app
from petrosa.exchange.simulator.book import BOOK_LEVELS, STEP_MS
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.venue import Venue
from petrosa.exchange.simulator.weights import request_cost
from tests.support.depth import book_of, replay
from tests.unit.exchange.simulator.conftest import NOW_MS, SEED

SPOT_DEPTH = "/api/v3/depth"
FUTURES_DEPTH = "/fapi/v1/depth"
WEIGHT = "x-mbx-used-weight-1m"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW_MS)


@pytest.fixture
def app(clock: ManualClock) -> FastAPI:
    settings = SimulatorSettings(seed=SEED, symbols=("BTCUSDT", "ETHUSDT", "FOOUSDT"))
    return create_app(settings, clock=clock)


@pytest.fixture
def venue(app: FastAPI) -> Venue:
    found: Venue = app.state.venue
    return found


@pytest.fixture
async def sim(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield client


@pytest.mark.parametrize(
    ("market", "limit", "weight"),
    [
        (MarketKind.SPOT, None, 5),
        (MarketKind.SPOT, "1", 5),
        (MarketKind.SPOT, "100", 5),
        (MarketKind.SPOT, "101", 25),
        (MarketKind.SPOT, "500", 25),
        (MarketKind.SPOT, "501", 50),
        (MarketKind.SPOT, "1000", 50),
        (MarketKind.SPOT, "1001", 250),
        (MarketKind.SPOT, "5000", 250),
        (MarketKind.SPOT, "junk", 5),
        (MarketKind.SPOT, "²", 5),  # a digit to str.isdigit, not to int()
        (MarketKind.FUTURES, "9" * 5_000, 10),  # past int()'s digit limit
        (MarketKind.FUTURES, None, 10),
        (MarketKind.FUTURES, "5", 2),
        (MarketKind.FUTURES, "50", 2),
        (MarketKind.FUTURES, "100", 5),
        (MarketKind.FUTURES, "500", 10),
        (MarketKind.FUTURES, "1000", 20),
    ],
)
def test_depth_weighs_by_limit(market: MarketKind, limit: str | None, weight: int) -> None:
    query = {"symbol": "BTCUSDT"} if limit is None else {"symbol": "BTCUSDT", "limit": limit}
    assert request_cost(market, "depth", query).weight == weight


async def test_spot_depth_is_the_book_at_the_clock_step(
    sim: httpx.AsyncClient, venue: Venue
) -> None:
    answer = await sim.get(SPOT_DEPTH, params={"symbol": "BTCUSDT"})
    assert answer.status_code == 200
    assert answer.headers[WEIGHT] == "5"
    body = answer.json()
    assert list(body) == ["lastUpdateId", "bids", "asks"]
    assert len(body["bids"]) == len(body["asks"]) == 100
    book = venue.book(MarketKind.SPOT, "BTCUSDT")
    expected = book.snapshot(book.step_at(NOW_MS), 100)
    assert body["lastUpdateId"] == expected.last_update_id
    assert body["bids"] == [list(level) for level in expected.bids]
    assert body["asks"] == [list(level) for level in expected.asks]
    assert Decimal(body["bids"][0][0]) < Decimal(body["asks"][0][0])
    assert all(len(value.split(".")[1]) == 8 for level in body["bids"] for value in level)


async def test_spot_limits(sim: httpx.AsyncClient) -> None:
    params = {"symbol": "ETHUSDT"}
    small = await sim.get(SPOT_DEPTH, params={**params, "limit": "7"})
    assert len(small.json()["bids"]) == 7
    whole = await sim.get(SPOT_DEPTH, params={**params, "limit": "5000"})
    assert len(whole.json()["asks"]) == BOOK_LEVELS  # the whole book
    assert whole.headers[WEIGHT] == str(5 + 250)
    beyond = await sim.get(SPOT_DEPTH, params={**params, "limit": "9999"})
    assert beyond.status_code == 200  # Binance cuts it to 5,000
    assert beyond.json() == whole.json()
    assert beyond.headers[WEIGHT] == str(5 + 250 + 250)


async def test_futures_depth_shape_and_limits(
    sim: httpx.AsyncClient, venue: Venue, clock: ManualClock
) -> None:
    clock.advance(1_234)
    now = NOW_MS + 1_234
    answer = await sim.get(FUTURES_DEPTH, params={"symbol": "BTCUSDT"})
    assert answer.headers[WEIGHT] == "10"
    body = answer.json()
    assert list(body) == ["lastUpdateId", "E", "T", "bids", "asks"]
    assert len(body["bids"]) == len(body["asks"]) == 500
    assert body["E"] == now
    assert body["T"] == now - now % STEP_MS
    book = venue.book(MarketKind.FUTURES, "BTCUSDT")
    assert body["lastUpdateId"] == book.update_id(book.step_at(now))
    assert len(body["bids"][0][0].split(".")[1]) == 1  # tick 0.1
    assert len(body["bids"][0][1].split(".")[1]) == 3  # lot 0.001
    for limit, weight in ((5, 2), (100, 5), (1_000, 20)):
        sized = await sim.get(FUTURES_DEPTH, params={"symbol": "BTCUSDT", "limit": str(limit)})
        assert len(sized.json()["asks"]) == limit
        assert int(sized.headers[WEIGHT]) - int(answer.headers[WEIGHT]) >= weight
        answer = sized


async def test_the_book_moves_with_the_clock(
    sim: httpx.AsyncClient, venue: Venue, clock: ManualClock
) -> None:
    params = {"symbol": "FOOUSDT", "limit": "5000"}
    before = (await sim.get(SPOT_DEPTH, params=params)).json()
    clock.advance(STEP_MS)
    after = (await sim.get(SPOT_DEPTH, params=params)).json()
    book = venue.book(MarketKind.SPOT, "FOOUSDT")
    step = book.step_at(NOW_MS)
    assert after["lastUpdateId"] == book.update_id(step + 1) > before["lastUpdateId"]
    event = book.changes(step, step + 1)
    assert event.first_update_id == before["lastUpdateId"] + 1
    replayed = replay(book_of(before["bids"], before["asks"]), event)
    assert replayed == book_of(after["bids"], after["asks"])


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        (SPOT_DEPTH, {}, -1102),
        (SPOT_DEPTH, {"symbol": "btcusdt"}, -1100),
        (SPOT_DEPTH, {"symbol": "NOPEUSDT"}, -1121),
        (SPOT_DEPTH, {"symbol": "BTCUSDT", "limit": "0"}, -1130),
        (SPOT_DEPTH, {"symbol": "BTCUSDT", "limit": "ten"}, -1100),
        (SPOT_DEPTH, {"symbol": "BTCUSDT", "limit": ""}, -1105),
        (SPOT_DEPTH, {"symbol": "BTCUSDT", "depth": "5"}, -1104),
        (FUTURES_DEPTH, {}, -1102),
        (FUTURES_DEPTH, {"symbol": "NOPEUSDT"}, -1121),
        (FUTURES_DEPTH, {"symbol": "BTCUSDT", "limit": "7"}, -1100),
        (FUTURES_DEPTH, {"symbol": "BTCUSDT", "limit": "5000"}, -1100),
        (FUTURES_DEPTH, {"symbol": "BTCUSDT", "limit": "-5"}, -1100),
        (FUTURES_DEPTH, {"symbol": "BTCUSDT", "limit": "²"}, -1100),
        (SPOT_DEPTH, {"symbol": "BTCUSDT", "limit": "9" * 5_000}, -1100),
    ],
)
async def test_depth_errors(
    sim: httpx.AsyncClient, path: str, params: dict[str, str], code: int
) -> None:
    answer = await sim.get(path, params=params)
    assert answer.status_code == 400
    assert answer.json()["code"] == code
    assert WEIGHT in answer.headers


async def test_futures_limit_error_lists_the_legal_values(sim: httpx.AsyncClient) -> None:
    answer = await sim.get(FUTURES_DEPTH, params={"symbol": "BTCUSDT", "limit": "7"})
    assert answer.json()["msg"] == (
        "Illegal characters found in parameter 'limit'; legal range is"
        " '5, 10, 20, 50, 100, 500, 1000'."
    )
