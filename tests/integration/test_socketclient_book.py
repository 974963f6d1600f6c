"""The socket client's local order book against the exchange simulator's book.

Servers: a real ``petrosa exchange-sim serve`` process (frozen clock, moved with
``POST /sim/clock/advance``). Snapshots come from its ``/api/v3/depth`` and ``/fapi/v1/depth``
through ``BinanceClient.depth``; diff events are built, the way the simulator's diff-depth
stream builds them, from the same book model in-process (same seed and settings), so the
test drives 1,000 steps without waiting 100 s of simulated stream. The book a ``BookKeeper``
maintains must equal the simulator's book exactly after 1,000 updates, and again after a
lost event forced a resync.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from petrosa.contracts.market import Market
from petrosa.exchange.binance import BinanceClient
from petrosa.exchange.simulator.book import BOOK_LEVELS, STEP_MS, BookModel, DepthSnapshot
from petrosa.exchange.simulator.clock import ManualClock
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.settings import SimulatorSettings
from petrosa.exchange.simulator.venue import Venue
from petrosa.socketclient.book import LocalBook
from petrosa.socketclient.book_sync import DEFAULT_SNAPSHOT_LIMITS, BookKeeper, SyncStep
from tests.support.server import RunningServer, start_exchange_simulator

pytestmark = pytest.mark.integration

CLOCK_START = "2025-06-01T12:34:00Z"
NOW_MS = int(dt.datetime.fromisoformat(CLOCK_START).timestamp() * 1_000)
SYMBOL = "BTCUSDT"
UPDATES = 1_000
AFTER_RESYNC = 50
DEADLINE_S = 60.0
"""Generous: a snapshot of 1,000 levels a side over loopback on a loaded 2-core machine."""
DEPTH_WEIGHT = {"spot": 250, "futures": 20}
"""Binance's weight of the deepest snapshot (spot limit 5000, futures 1000)."""


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_exchange_simulator(
        tmp_path_factory.mktemp("exchange-sim"), "--clock-start", CLOCK_START, "--freeze-clock"
    )
    yield server
    server.stop()


@pytest.fixture
async def control(simulator: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=simulator.base_url, timeout=30.0) as client:
        (await client.post("/sim/reset")).raise_for_status()
        yield client


def simulated_book(market: str) -> BookModel:
    """The simulator's book model in this process: same (default) seed and settings."""
    return Venue(SimulatorSettings(), ManualClock(NOW_MS)).book(MarketKind(market), SYMBOL)


def as_body(snapshot: DepthSnapshot) -> dict[str, Any]:
    """A model snapshot as the REST ``/depth`` body."""
    return {
        "lastUpdateId": snapshot.last_update_id,
        "bids": [list(level) for level in snapshot.bids],
        "asks": [list(level) for level in snapshot.asks],
    }


def model_book(model: BookModel, step: int, limit: int) -> LocalBook:
    return LocalBook.from_snapshot(as_body(model.snapshot(step, limit)))


class DiffStream:
    """The diff-depth events of the model, built as the simulator's stream builds them: the
    changes since the last event sent, one event per step that changed something."""

    def __init__(self, model: BookModel, market: str, after_step: int) -> None:
        self.model = model
        self.futures = market == "futures"
        self.step = after_step
        """The step the last event brought a client to."""

    def through(self, step: int) -> dict[str, Any] | None:
        """The event taking a client to ``step`` (None: nothing changed since the last)."""
        changes = self.model.changes(self.step, step)
        if not changes.bids and not changes.asks:
            return None
        self.step = step
        event: dict[str, Any] = {
            "e": "depthUpdate",
            "E": step * STEP_MS,
            "s": SYMBOL,
            "U": changes.first_update_id,
            "u": changes.last_update_id,
            "b": [list(level) for level in changes.bids],
            "a": [list(level) for level in changes.asks],
        }
        if self.futures:
            event |= {"T": step * STEP_MS, "pu": changes.previous_update_id}
        return event

    def next_event(self, *, limit_steps: int = 10_000) -> dict[str, Any]:
        """The next event there is, however many steps later."""
        for step in range(self.step + 1, self.step + limit_steps + 1):
            event = self.through(step)
            if event is not None:
                return event
        raise AssertionError(f"the book did not change in {limit_steps} steps")


async def advance(control: httpx.AsyncClient, steps: int) -> None:
    answer = await control.post("/sim/clock/advance", params={"ms": steps * STEP_MS})
    answer.raise_for_status()


async def synced(keeper: BookKeeper) -> None:
    await asyncio.wait_for(keeper.wait_synced(), DEADLINE_S)


@pytest.mark.parametrize("market", ["spot", "futures"])
async def test_depth_is_the_simulators_book_at_its_weight(
    simulator: RunningServer, control: httpx.AsyncClient, market: str
) -> None:
    model = simulated_book(market)
    limit = DEFAULT_SNAPSHOT_LIMITS[Market(market)]
    async with BinanceClient(market, base_url=simulator.base_url, sync_clock=False) as client:
        now_ms = await client.server_time()
        weight_before = client.stats.weight
        body = await client.depth(SYMBOL, limit)
        assert client.stats.weight - weight_before == DEPTH_WEIGHT[market]
    expected = as_body(model.snapshot(model.step_at(now_ms), limit))
    assert body["lastUpdateId"] == expected["lastUpdateId"]
    assert body["bids"] == expected["bids"]
    assert body["asks"] == expected["asks"]
    assert len(body["bids"]) == len(body["asks"]) == BOOK_LEVELS
    book = LocalBook.from_snapshot(body)
    best_bid, best_ask = book.top(1)
    assert float(best_bid[0][0]) < float(best_ask[0][0])


@pytest.mark.parametrize("market", ["spot", "futures"])
async def test_the_maintained_book_equals_the_simulators_after_1000_updates_and_a_resync(
    simulator: RunningServer, control: httpx.AsyncClient, market: str
) -> None:
    model = simulated_book(market)
    limit = DEFAULT_SNAPSHOT_LIMITS[Market(market)]
    async with BinanceClient(market, base_url=simulator.base_url, sync_clock=False) as client:
        start = model.step_at(await client.server_time())
        stream = DiffStream(model, market, after_step=start - 1)
        keeper = BookKeeper(market, SYMBOL, client.depth)
        try:
            # The first event is buffered, the keeper fetches the server's snapshot.
            assert keeper.feed(stream.next_event()) is SyncStep.BUFFERED
            await synced(keeper)
            assert keeper.last_update_id == model.update_id(stream.step)
            assert keeper.book.differences(model_book(model, stream.step, limit)) == []

            applied = 0
            for step in range(stream.step + 1, start + UPDATES + 1):
                event = stream.through(step)
                if event is not None:
                    assert keeper.feed(event) is SyncStep.APPLIED, step
                    applied += 1
            final = start + UPDATES
            assert applied > UPDATES // 2, "the model should change on most steps"
            assert keeper.synced
            assert keeper.last_update_id == model.update_id(final)
            assert keeper.book.differences(model_book(model, final, limit)) == []
            # And equal to what the running simulator serves for that step.
            await advance(control, UPDATES)
            served = LocalBook.from_snapshot(await client.depth(SYMBOL, limit))
            assert keeper.book.differences(served) == []
            assert keeper.resyncs == 0

            # One event lost: a gap, an unsynced book, a new snapshot, an exact book again.
            lost = stream.next_event()
            after_gap = stream.next_event()
            await advance(control, stream.step - final)
            assert keeper.feed(after_gap) is SyncStep.GAP
            assert not keeper.synced
            assert keeper.resyncs == 1
            await synced(keeper)
            assert lost["u"] < keeper.last_update_id
            end = stream.step + AFTER_RESYNC
            for step in range(stream.step + 1, end + 1):
                event = stream.through(step)
                if event is not None:
                    assert keeper.feed(event) is SyncStep.APPLIED, step
            assert keeper.book.differences(model_book(model, end, limit)) == []
            assert keeper.resyncs == 1
        finally:
            await keeper.aclose()
