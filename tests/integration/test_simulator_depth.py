"""The order book endpoints of a real ``petrosa exchange-sim serve`` process (frozen clock),
over HTTP. Needs no other server.

Checks Binance's shapes, limits, weights (``X-MBX-USED-WEIGHT-1M``) and errors for
``/api/v3/depth`` and ``/fapi/v1/depth``, that the book moves only when the clock does, and
that the served book is exactly the one ``BookModel`` computes in this process from the same
seed (what a client keeping a book from the diff stream is compared with).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from petrosa.exchange.simulator import ManualClock, SimulatorSettings
from petrosa.exchange.simulator.book import BOOK_LEVELS, IDS_PER_STEP, STEP_MS, BookModel
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.venue import Venue
from tests.support.depth import book_of, replay
from tests.support.server import RunningServer, start_exchange_simulator

pytestmark = pytest.mark.integration

CLOCK_START = "2025-06-01T12:34:00Z"
"""A whole minute: the weight window lasts a minute after start-up, longer than the tests."""
NOW_MS = int(dt.datetime.fromisoformat(CLOCK_START).timestamp() * 1_000)
SPOT_DEPTH = "/api/v3/depth"
FUTURES_DEPTH = "/fapi/v1/depth"
WEIGHT = "X-MBX-USED-WEIGHT-1M"


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_exchange_simulator(
        tmp_path_factory.mktemp("exchange-sim-depth"),
        "--clock-start",
        CLOCK_START,
        "--freeze-clock",
    )
    yield server
    server.stop()


@pytest.fixture
def sim(simulator: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=simulator.base_url, timeout=10.0) as client:
        client.post("/sim/reset")
        yield client


def _book(kind: MarketKind, symbol: str) -> BookModel:
    """The same book, computed in this process from the simulator's default settings."""
    return Venue(SimulatorSettings(), ManualClock(NOW_MS)).book(kind, symbol)


def _now(sim: httpx.Client) -> int:
    now: int = sim.get("/api/v3/time").json()["serverTime"]
    return now


def _sane(body: dict[str, Any], levels: int) -> None:
    bids = [(Decimal(p), Decimal(q)) for p, q in body["bids"]]
    asks = [(Decimal(p), Decimal(q)) for p, q in body["asks"]]
    assert len(bids) == len(asks) == levels
    assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
    assert [p for p, _ in asks] == sorted(p for p, _ in asks)
    assert bids[0][0] < asks[0][0]
    assert all(q > 0 for _, q in bids + asks)


def test_both_markets_answer_with_binance_shapes(sim: httpx.Client) -> None:
    spot = sim.get(SPOT_DEPTH, params={"symbol": "BTCUSDT"})
    assert spot.status_code == 200
    assert spot.headers[WEIGHT] == "5"
    assert list(spot.json()) == ["lastUpdateId", "bids", "asks"]
    _sane(spot.json(), 100)
    futures = sim.get(FUTURES_DEPTH, params={"symbol": "ETHUSDT"})
    assert futures.status_code == 200
    assert futures.headers[WEIGHT] == "10"
    body = futures.json()
    assert list(body) == ["lastUpdateId", "E", "T", "bids", "asks"]
    _sane(body, 500)
    now = _now(sim)
    assert body["E"] == now
    assert body["T"] == now - now % STEP_MS


@pytest.mark.parametrize(
    ("path", "limits"),
    [
        (SPOT_DEPTH, [(100, 5, 100), (500, 25, 500), (1_000, 50, 1_000), (5_000, 250, 1_000)]),
        (FUTURES_DEPTH, [(5, 2, 5), (100, 5, 100), (500, 10, 500), (1_000, 20, 1_000)]),
    ],
)
def test_limits_and_weights(
    sim: httpx.Client, path: str, limits: list[tuple[int, int, int]]
) -> None:
    used = 0
    for limit, weight, levels in limits:
        answer = sim.get(path, params={"symbol": "XRPUSDT", "limit": str(limit)})
        assert answer.status_code == 200
        _sane(answer.json(), levels)
        used += weight
        assert int(answer.headers[WEIGHT]) == used


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        (SPOT_DEPTH, {"symbol": "NOPEUSDT"}, -1121),
        (FUTURES_DEPTH, {"symbol": "NOPEUSDT"}, -1121),
        (SPOT_DEPTH, {"symbol": "BTCUSDT", "limit": "0"}, -1130),
        (SPOT_DEPTH, {"symbol": "BTCUSDT", "limit": "ten"}, -1100),
        (FUTURES_DEPTH, {"symbol": "BTCUSDT", "limit": "7"}, -1100),
        (FUTURES_DEPTH, {"symbol": "BTCUSDT", "limit": "5000"}, -1100),
        (SPOT_DEPTH, {}, -1102),
    ],
)
def test_errors(sim: httpx.Client, path: str, params: dict[str, str], code: int) -> None:
    answer = sim.get(path, params=params)
    assert answer.status_code == 400
    assert answer.json()["code"] == code


@pytest.mark.parametrize(
    ("kind", "path"), [(MarketKind.SPOT, SPOT_DEPTH), (MarketKind.FUTURES, FUTURES_DEPTH)]
)
def test_the_served_book_is_the_model_and_moves_with_the_clock(
    sim: httpx.Client, kind: MarketKind, path: str
) -> None:
    params = {"symbol": "BTCUSDT", "limit": "1000"}
    first = sim.get(path, params=params).json()
    assert sim.get(path, params=params).json()["lastUpdateId"] == first["lastUpdateId"]
    model = _book(kind, "BTCUSDT")
    step = model.step_at(_now(sim))
    expected = model.snapshot(step)
    assert first["lastUpdateId"] == expected.last_update_id
    assert first["bids"] == [list(level) for level in expected.bids]
    assert first["asks"] == [list(level) for level in expected.asks]
    assert len(first["bids"]) == BOOK_LEVELS

    assert sim.post("/sim/clock/advance", params={"ms": str(STEP_MS)}).status_code == 200
    later = sim.get(path, params=params).json()
    assert later["lastUpdateId"] == first["lastUpdateId"] + IDS_PER_STEP[kind]
    event = model.changes(step, step + 1)
    assert event.last_update_id == later["lastUpdateId"]
    replayed = replay(book_of(first["bids"], first["asks"]), event)
    assert replayed == book_of(later["bids"], later["asks"])
    assert replayed != book_of(first["bids"], first["asks"])
