"""The socket client against a real ``petrosa exchange-sim serve`` process and real NATS.

Servers: the simulator (frozen clock, moved on by a :class:`ClockDriver` in 100 ms steps so
that 1,000 diff-depth events take seconds, not minutes), NATS at 127.0.0.1:4222. The client
runs in-process.

* Two symbols' klines, trades, depth, book tickers and mark prices on spot and on USD-M's two
  routes, interleaved: every NATS message is on its own stream's subject (the system this
  replaces labelled every book with its first symbol).
* The maintained books equal the simulator's book (its model, computed here from the same
  settings, and its REST ``/depth``) after 1,000 diff events; a skipped event (the
  simulator's ``/sim/ws/skip`` fault) forces a resync, counted, and an exact book again.

The helpers here (collector, clock driver, readiness watch, order checks) serve the other
socket-client integration modules too.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import nats
import orjson
import pytest
from nats.aio.msg import Msg

from petrosa.contracts.market import Market
from petrosa.exchange.binance import BinanceClient
from petrosa.exchange.binance.streams import StreamKind, parse_stream
from petrosa.exchange.simulator.book import BookModel
from petrosa.exchange.simulator.clock import ManualClock
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.settings import SimulatorSettings
from petrosa.exchange.simulator.venue import Venue
from petrosa.socketclient.book import LocalBook
from petrosa.socketclient.book_sync import DEFAULT_SNAPSHOT_LIMITS, SnapshotFetcher
from petrosa.socketclient.plan import BookKey, build_plan
from petrosa.socketclient.service import SocketClient
from petrosa.socketclient.settings import SocketClientSettings
from tests.support.server import RunningServer, start_service
from tests.support.services import NATS_HOST, NATS_PORT, require_port

pytestmark = pytest.mark.integration
NATS_URL = f"nats://{NATS_HOST}:{NATS_PORT}"
SYMBOLS = ("BTCUSDT", "ETHUSDT")
CLOCK_START = "2025-06-01T12:34:00Z"
NOW_MS = int(dt.datetime.fromisoformat(CLOCK_START).timestamp() * 1_000)
WAIT_S = 90.0
"""Generous: CI runs with both cores busy."""
STEP_MS = 100
DIFF_EVENTS = 1_000
SIM_TICK_MS = 5
"""The simulator's stream poll tick: each clock step reaches the client as its own event."""


# -- shared helpers ---------------------------------------------------------------------------


def start_simulator(log_dir: Any, *options: str, tick_ms: int | None = None) -> RunningServer:
    """``petrosa exchange-sim serve`` (optionally with a faster stream poll tick), ready."""
    env = {} if tick_ms is None else {"EXCHANGE_SIM_WS_TICK_MS": str(tick_ms)}
    return start_service(
        "exchange-sim",
        ["exchange-sim", "serve", *options],
        log_dir,
        ready_path="/health/liveness",
        extra_env=env,
    )


def ws_base(server: RunningServer) -> str:
    return server.base_url.replace("http://", "ws://")


async def wait_for(
    condition: Callable[[], bool | Awaitable[bool]], what: str, timeout_s: float = WAIT_S
) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@dataclass
class Received:
    subject: str
    body: dict[str, Any]
    msg_id: str | None


@dataclass
class Collector:
    """Every NATS message under ``binance.>`` for the given symbols, in arrival order."""

    symbols: tuple[str, ...]
    messages: list[Received] = field(default_factory=list)

    async def take(self, message: Msg) -> None:
        if message.subject.rsplit(".", 1)[1] in self.symbols:
            headers = message.headers or {}
            body = orjson.loads(message.data)
            self.messages.append(Received(message.subject, body, headers.get("Nats-Msg-Id")))

    def on(self, subject: str) -> list[Received]:
        return [m for m in self.messages if m.subject == subject]

    def count(self, subject: str) -> int:
        return sum(1 for m in self.messages if m.subject == subject)

    def market_data(self) -> list[Received]:
        return [m for m in self.messages if m.subject.split(".")[2] != "book"]


@contextlib.asynccontextmanager
async def collecting(symbols: tuple[str, ...]) -> AsyncIterator[Collector]:
    listener = await nats.connect(NATS_URL)
    collector = Collector(symbols)
    await listener.subscribe("binance.>", cb=collector.take)
    await listener.flush()
    try:
        yield collector
    finally:
        await listener.drain()


def order_of(message: Received) -> tuple[int, ...]:
    """A message's position in its stream, from the payload's own ids."""
    data = message.body["data"]
    kind = parse_stream(message.body["stream"], message.subject.split(".")[1]).type.kind
    if kind is StreamKind.KLINE:
        return (data["k"]["t"], data["E"])
    if kind is StreamKind.AGG_TRADE:
        return (data["a"],)
    if kind is StreamKind.TRADE:
        return (data["t"],)
    if kind in (StreamKind.DIFF_DEPTH, StreamKind.BOOK_TICKER):
        return (data["u"],)
    return (data["E"],)


def assert_once_and_in_order(messages: list[Received]) -> dict[str, int]:
    """Within each subject: payload ids strictly increasing and message ids unique.

    Returns the number of messages per subject."""
    per_subject: dict[str, list[Received]] = defaultdict(list)
    for message in messages:
        per_subject[message.subject].append(message)
    for subject, received in per_subject.items():
        keys = [order_of(m) for m in received]
        for before, after in itertools.pairwise(keys):
            assert before < after, f"{subject}: {after} after {before} (repeat or reorder)"
        ids = [m.msg_id for m in received]
        assert len(set(ids)) == len(ids), f"{subject}: a message id published twice"
    return {subject: len(received) for subject, received in per_subject.items()}


def assert_on_own_subject(messages: list[Received]) -> None:
    """Each message's subject, envelope stream and payload symbol agree."""
    for message in messages:
        _, market, token, symbol = message.subject.split(".")
        body = message.body
        if token == "book":
            assert body["symbol"] == symbol
            assert body["market"] == market
            continue
        stream = parse_stream(body["stream"], market)
        assert stream.subject == message.subject, (message.subject, body["stream"])
        assert stream.symbol == symbol
        data = body["data"]
        payload_symbol = data["k"]["s"] if stream.type.kind is StreamKind.KLINE else data.get("s")
        if payload_symbol is not None:  # spot partial depth carries none
            assert payload_symbol == symbol, (message.subject, payload_symbol)
        if "s" in data:
            assert data["s"] == symbol
        assert message.msg_id is not None
        assert message.msg_id.startswith(body["stream"] + ":")


class ClockDriver:
    """Moves the simulator's frozen clock on by ``step_ms`` at a time until stopped."""

    def __init__(self, http: httpx.AsyncClient, step_ms: int = STEP_MS) -> None:
        self.http = http
        self.step_ms = step_ms
        self.steps = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ClockDriver:
        self._task = asyncio.create_task(self._drive())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _drive(self) -> None:
        while True:
            answer = await self.http.post("/sim/clock/advance", params={"ms": self.step_ms})
            answer.raise_for_status()
            self.steps += 1
            await asyncio.sleep(SIM_TICK_MS / 1_000)


class ReadinessWatch:
    """Reads the client's readiness on every turn of the event loop and keeps each distinct
    problem seen, so a short outage (a reconnect) is caught however short it is."""

    def __init__(self, client: SocketClient) -> None:
        self.client = client
        self.seen: list[str] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def saw(self, words: str) -> bool:
        return any(words in problem for problem in self.seen)

    async def _watch(self) -> None:
        seen = set()
        while True:
            for problem in self.client.readiness_problems():
                if problem not in seen:
                    seen.add(problem)
                    self.seen.append(problem)
            await asyncio.sleep(0)


def new_client(
    simulator: RunningServer,
    *,
    markets: tuple[Market, ...],
    streams: tuple[str, ...],
    symbols: tuple[str, ...] = SYMBOLS,
    books: bool = True,
    fetchers: dict[Market, SnapshotFetcher] | None = None,
    **overrides: Any,
) -> SocketClient:
    settings = SocketClientSettings(
        markets=markets,
        symbols=symbols,
        streams=streams,
        books=books,
        spot_ws_url=ws_base(simulator),
        futures_ws_url=ws_base(simulator),
        nats_url=NATS_URL,
        book_publishes_per_s=20.0,
        **overrides,
    )
    plan = build_plan(settings.markets, settings.symbols, settings.streams, books=books)
    return SocketClient(settings, plan, fetchers=fetchers or {})


@contextlib.asynccontextmanager
async def depth_fetchers(
    simulator: RunningServer, markets: tuple[Market, ...]
) -> AsyncIterator[dict[Market, SnapshotFetcher]]:
    async with contextlib.AsyncExitStack() as stack:
        fetchers: dict[Market, SnapshotFetcher] = {}
        for market in markets:
            binance = BinanceClient(market, base_url=simulator.base_url, sync_clock=False)
            fetchers[market] = (await stack.enter_async_context(binance)).depth
        yield fetchers


# -- this module: frozen clock, driven ------------------------------------------------------


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_simulator(
        tmp_path_factory.mktemp("sim-sc"),
        "--clock-start",
        CLOCK_START,
        "--freeze-clock",
        tick_ms=SIM_TICK_MS,
    )
    yield server
    server.stop()


@pytest.fixture
async def control(simulator: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    require_port("NATS", NATS_HOST, NATS_PORT)
    async with httpx.AsyncClient(base_url=simulator.base_url, timeout=30.0) as http:
        yield http
        await http.post("/sim/ws/drop")


ALL_STREAMS = ("kline_1m", "aggTrade", "depth@100ms", "bookTicker")


async def test_interleaved_streams_each_on_its_own_subject(
    simulator: RunningServer, control: httpx.AsyncClient
) -> None:
    markets = (Market.SPOT, Market.FUTURES)
    spot = new_client(
        simulator, markets=(Market.SPOT,), streams=(*ALL_STREAMS, "trade"), books=False
    )
    futures = new_client(
        simulator, markets=(Market.FUTURES,), streams=(*ALL_STREAMS, "markPrice@1s"), books=False
    )
    expected = {s.subject for c in (spot, futures) for s in c.plan.streams}
    assert len(expected) == 2 * (5 + 5)
    async with collecting(SYMBOLS) as collector, ClockDriver(control):
        await spot.start()
        await futures.start()
        try:
            await wait_for(
                lambda: all(collector.count(s) >= 3 for s in expected), "every stream, 3 times"
            )
            await wait_for(
                lambda: not spot.readiness_problems() and not futures.readiness_problems(),
                "readiness",
            )
        finally:
            await spot.stop()
            await futures.stop()
    messages = collector.market_data()
    assert {m.subject for m in messages} == expected
    assert {m.subject.split(".")[1] for m in messages} == {m.value for m in markets}
    assert_on_own_subject(messages)
    assert_once_and_in_order(messages)


def simulated_book(market: Market, symbol: str) -> BookModel:
    """The simulator's book model in this process: same (default) seed and settings."""
    return Venue(SimulatorSettings(), ManualClock(NOW_MS)).book(MarketKind(market.value), symbol)


def model_book(model: BookModel, step: int, limit: int | None = None) -> LocalBook:
    snapshot = model.snapshot(step, limit)
    body = {
        "lastUpdateId": snapshot.last_update_id,
        "bids": [list(level) for level in snapshot.bids],
        "asks": [list(level) for level in snapshot.asks],
    }
    return LocalBook.from_snapshot(body)


def step_of(model: BookModel, update_id: int | None, latest_step: int) -> int | None:
    """The step whose book has ``update_id`` as its last id (None: not one of the recent)."""
    for step in range(latest_step, latest_step - 100, -1):
        if model.update_id(step) == update_id:
            return step
    return None


async def assert_books_exact(
    client: SocketClient, collector: Collector, control: httpx.AsyncClient
) -> None:
    """With the clock standing still: each maintained book equals the model's and the REST
    snapshot's at its update id, and its last published message shows the same top levels."""
    now_ms = (await control.get("/api/v3/time")).json()["serverTime"]
    for key, maintained in client.desk.books.items():
        model = simulated_book(key.market, key.symbol)
        latest = model.step_at(now_ms)
        keeper = maintained.keeper

        def caught_up(keeper: Any = keeper, model: BookModel = model, latest: int = latest) -> bool:
            update_id = keeper.last_update_id
            return keeper.synced and step_of(model, update_id, latest) is not None

        await wait_for(caught_up, f"{key} caught up")
        assert keeper.last_update_id is not None
        step = step_of(model, keeper.last_update_id, latest)
        assert step is not None
        limit = DEFAULT_SNAPSHOT_LIMITS[key.market]
        assert keeper.book.differences(model_book(model, step, limit)) == [], key
        if step == latest:  # the REST book of this moment is the same book
            path = "/api/v3/depth" if key.market is Market.SPOT else "/fapi/v1/depth"
            body = (await control.get(path, params={"symbol": key.symbol, "limit": limit})).json()
            assert body["lastUpdateId"] == keeper.last_update_id
            assert keeper.book.differences(LocalBook.from_snapshot(body)) == [], key

        def published_now(key: BookKey = key, update_id: int = keeper.last_update_id) -> bool:
            last = _last_book(collector, key)
            return last is not None and last["last_update_id"] == update_id

        await wait_for(published_now, f"{key} published")
        published = _last_book(collector, key)
        assert published is not None
        bids, asks = model_book(model, step).top(client.settings.book_levels)
        assert published["bids"] == [list(level) for level in bids]
        assert published["asks"] == [list(level) for level in asks]


def _last_book(collector: Collector, key: BookKey) -> dict[str, Any] | None:
    books = collector.on(key.subject)
    return books[-1].body if books else None


async def test_maintained_books_equal_the_simulators_after_1000_updates_and_a_gap(
    simulator: RunningServer, control: httpx.AsyncClient
) -> None:
    markets = (Market.SPOT, Market.FUTURES)
    async with depth_fetchers(simulator, markets) as fetchers:
        client = new_client(simulator, markets=markets, streams=("depth@100ms",), fetchers=fetchers)
        depth_subjects = [s.subject for s in client.plan.streams]
        resyncs = {m: client.metrics.resyncs.labels(m.value) for m in markets}
        async with collecting(SYMBOLS) as collector:
            await client.start()
            try:
                async with ClockDriver(control):
                    await wait_for(
                        lambda: all(collector.count(s) >= DIFF_EVENTS for s in depth_subjects),
                        f"{DIFF_EVENTS} diff events per book",
                        timeout_s=4 * WAIT_S,
                    )
                await assert_books_exact(client, collector, control)
                assert all(book.keeper.resyncs == 0 for book in client.desk.books.values())

                # A lost event on every book: each notices the gap, resyncs, and is exact again.
                for market in markets:
                    for symbol in SYMBOLS:
                        skip = {"stream": f"{symbol.lower()}@depth@100ms", "market": market.value}
                        (await control.post("/sim/ws/skip", params=skip)).raise_for_status()
                async with ClockDriver(control):
                    await wait_for(
                        lambda: all(b.keeper.resyncs >= 1 for b in client.desk.books.values()),
                        "a resync of every book",
                    )
                    await wait_for(lambda: not client.readiness_problems(), "books synced again")
                    marks = {s: collector.count(s) for s in depth_subjects}
                    await wait_for(
                        lambda: all(collector.count(s) > marks[s] + 20 for s in depth_subjects),
                        "updates after the resync",
                    )
                await asyncio.sleep(2 / client.settings.book_publishes_per_s)
                assert all(resyncs[m]._value.get() >= len(SYMBOLS) for m in markets)
                await assert_books_exact(client, collector, control)
            finally:
                await client.stop()
    counts = assert_once_and_in_order(collector.market_data())
    assert all(counts[s] >= DIFF_EVENTS for s in depth_subjects)
    assert_on_own_subject(collector.messages)
