"""``BookKeeper``: when it fetches snapshots, what it does meanwhile, and how it retries.

The fetch is a fake whose answers the test hands out one by one, and the backoff sleep
returns at once after recording its delay: nothing here depends on how fast anything runs.
Every wait on the keeper is for a condition, under a generous deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from petrosa.socketclient.book_sync import BookKeeper, SyncStep

DEADLINE_S = 30.0


def spot_event(first: int, last: int, **levels: list[list[str]]) -> dict[str, Any]:
    return {
        "e": "depthUpdate",
        "U": first,
        "u": last,
        "b": levels.get("b", []),
        "a": levels.get("a", []),
    }


def snapshot(update_id: int, bid: str = "1") -> dict[str, Any]:
    return {"lastUpdateId": update_id, "bids": [["10", bid]], "asks": [["11", "1"]]}


class HandedFetch:
    """A snapshot fetch whose every call waits until the test answers it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self._waiting: asyncio.Queue[asyncio.Future[Mapping[str, Any]]] = asyncio.Queue()

    async def __call__(self, symbol: str, limit: int) -> Mapping[str, Any]:
        self.calls.append((symbol, limit))
        answer: asyncio.Future[Mapping[str, Any]] = asyncio.get_running_loop().create_future()
        await self._waiting.put(answer)
        return await answer

    async def next_call(self) -> asyncio.Future[Mapping[str, Any]]:
        """The next call in progress (waits for it to be made)."""
        return await asyncio.wait_for(self._waiting.get(), DEADLINE_S)

    async def answer(self, body: Mapping[str, Any]) -> None:
        (await self.next_call()).set_result(body)

    async def fail(self, error: Exception) -> None:
        (await self.next_call()).set_exception(error)


class RecordedSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def fetch() -> HandedFetch:
    return HandedFetch()


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


def make_keeper(
    market: str, fetch: HandedFetch, sleep: RecordedSleep, **options: Any
) -> BookKeeper:
    return BookKeeper(market, "BTCUSDT", fetch, sleep=sleep, random=lambda: 0.5, **options)


async def synced(keeper: BookKeeper) -> None:
    await asyncio.wait_for(keeper.wait_synced(), DEADLINE_S)


@pytest.mark.parametrize(("market", "limit"), [("spot", 5000), ("futures", 1000)])
async def test_the_snapshot_is_fetched_once_the_first_event_is_buffered(
    fetch: HandedFetch, sleep: RecordedSleep, market: str, limit: int
) -> None:
    keeper = make_keeper(market, fetch, sleep)
    for _ in range(3):
        await asyncio.sleep(0)
    assert fetch.calls == []
    event = spot_event(101, 101) | ({"pu": 100} if market == "futures" else {})
    assert keeper.feed(event) is SyncStep.BUFFERED
    await fetch.answer(snapshot(100))
    await synced(keeper)
    assert fetch.calls == [("BTCUSDT", limit)]
    assert keeper.last_update_id == 101
    await keeper.aclose()


async def test_the_snapshot_depth_is_configurable(fetch: HandedFetch, sleep: RecordedSleep) -> None:
    keeper = make_keeper("spot", fetch, sleep, limit=100)
    keeper.feed(spot_event(101, 101))
    await fetch.answer(snapshot(100))
    await synced(keeper)
    assert fetch.calls == [("BTCUSDT", 100)]


async def test_events_arriving_during_the_fetch_are_buffered_then_replayed(
    fetch: HandedFetch, sleep: RecordedSleep
) -> None:
    keeper = make_keeper("spot", fetch, sleep)
    keeper.feed(spot_event(101, 101))
    pending = await fetch.next_call()
    for update_id in range(102, 110):
        assert (
            keeper.feed(spot_event(update_id, update_id, b=[["10", str(update_id)]]))
            is SyncStep.BUFFERED
        )
    assert keeper.sync.buffered == 9
    pending.set_result(snapshot(104))
    await synced(keeper)
    assert keeper.book.top(1)[0] == [("10", "109")]
    assert keeper.last_update_id == 109
    assert len(fetch.calls) == 1


async def test_a_failed_fetch_is_retried_with_capped_jittered_backoff_while_intake_goes_on(
    fetch: HandedFetch, sleep: RecordedSleep
) -> None:
    keeper = make_keeper("spot", fetch, sleep, retry_initial_s=1.0, retry_max_s=4.0)
    keeper.feed(spot_event(101, 101))
    for attempt in range(5):
        await fetch.fail(ConnectionError(f"down {attempt}"))
        keeper.feed(spot_event(102 + attempt, 102 + attempt))
    await fetch.answer(snapshot(101))
    await synced(keeper)
    assert keeper.fetch_failures == 5
    assert keeper.fetches == 6
    assert sleep.delays == [0.5, 1.0, 2.0, 2.0, 2.0]  # min(4, 1 * 2**n) * 0.5
    assert keeper.last_update_id == 106


async def test_a_stale_snapshot_is_fetched_again(fetch: HandedFetch, sleep: RecordedSleep) -> None:
    keeper = make_keeper("spot", fetch, sleep)
    keeper.feed(spot_event(101, 105))
    await fetch.answer(snapshot(90))
    await fetch.answer(snapshot(103, bid="7"))
    await synced(keeper)
    assert keeper.sync.counters.stale_snapshots == 1
    assert len(sleep.delays) == 1
    assert keeper.book.top(1)[0] == [("10", "7")]


async def test_a_malformed_snapshot_is_fetched_again(
    fetch: HandedFetch, sleep: RecordedSleep
) -> None:
    keeper = make_keeper("spot", fetch, sleep)
    keeper.feed(spot_event(101, 105))
    await fetch.answer({"lastUpdateId": "no"})
    await fetch.answer(snapshot(103))
    await synced(keeper)
    assert keeper.sync.counters.malformed == 1


async def test_a_gap_unsyncs_the_book_until_a_new_snapshot_makes_it_exact_again(
    fetch: HandedFetch, sleep: RecordedSleep
) -> None:
    keeper = make_keeper("futures", fetch, sleep)
    keeper.feed({**spot_event(98, 101), "pu": 97})
    await fetch.answer(snapshot(100))
    await synced(keeper)
    assert keeper.feed({**spot_event(102, 103, b=[["10", "2"]]), "pu": 101}) is SyncStep.APPLIED
    assert keeper.feed({**spot_event(107, 109, b=[["10", "5"]]), "pu": 105}) is SyncStep.GAP
    assert not keeper.synced
    assert keeper.resyncs == 1
    waiter = asyncio.ensure_future(keeper.wait_synced())
    await fetch.answer(snapshot(108, bid="4"))
    await asyncio.wait_for(waiter, DEADLINE_S)
    assert keeper.book.top(1)[0] == [("10", "5")]
    assert keeper.last_update_id == 109
    assert len(fetch.calls) == 2


async def test_close_cancels_a_fetch_in_flight_and_starts_no_other(
    fetch: HandedFetch, sleep: RecordedSleep
) -> None:
    keeper = make_keeper("spot", fetch, sleep)
    keeper.feed(spot_event(101, 101))
    pending = await fetch.next_call()
    await keeper.aclose()
    assert pending.cancelled()
    keeper.feed(spot_event(102, 102))
    for _ in range(3):
        await asyncio.sleep(0)
    assert len(fetch.calls) == 1
    assert not keeper.synced
