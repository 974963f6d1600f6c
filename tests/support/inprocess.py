"""The trade engine in one process, for tests of its decisions and its service layer.

Real parts, no fakes: a real Data Manager app on a SQLite file and the real exchange
simulator app, each reached through its client over an in-process ASGI transport (no
sockets, no subprocesses), and ``Locks`` on the in-memory lease store. What only several
processes can show (a replica killed mid-decision, NATS redelivery, replicas racing) stays
in tests/integration/test_tradeengine.py.

Two ways in, on the same parts (:func:`_services` makes them):

- :func:`engine_core` — executors made on demand (:class:`EngineCore`), for decisions;
- :func:`engine_rig` — a whole :class:`~petrosa.tradeengine.service.Engine` built as
  ``petrosa.tradeengine.wiring`` builds it, only with these collaborators (:class:`Rig`).

The simulator's clock is frozen by default, so the market stands still unless a test moves
it (``advance``): sizes and risk limits never drift while a slow run is in progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from petrosa.client import DataManagerClient
from petrosa.contracts.trading import PositionIn, PositionSide
from petrosa.coordination import Locks, MemoryLeaseStore
from petrosa.datamanager.app import create_app as create_data_manager
from petrosa.datamanager.settings import DataManagerSettings
from petrosa.exchange.binance import BinanceFuturesTrading
from petrosa.exchange.simulator.app import create_app as create_simulator
from petrosa.exchange.simulator.clock import SimulatedClock
from petrosa.exchange.simulator.settings import (
    PAPER_API_KEY,
    PAPER_API_SECRET,
    SimulatorSettings,
)
from petrosa.tradeengine.executor import Executor
from petrosa.tradeengine.ledger import Ledger
from petrosa.tradeengine.service import Engine
from petrosa.tradeengine.settings import TradeEngineSettings

SIMULATOR_SYMBOLS = ("BTCUSDT", "ETHUSDT", "BNBUSDT", "XRPUSDT")
"""The symbols the simulator lists."""
UNLISTED = "SOLUSDT"
"""One of the rig engine's symbols (``TRADEENGINE_SYMBOLS``) that the simulator does not list."""
DM_URL = "http://data-manager"
DEADLINE_S = 60.0
"""How long :func:`eventually` waits for a condition (generous: the machine may be busy)."""


@dataclass(frozen=True)
class _Services:
    """A Data Manager app (its lifespan running) and a simulator app, with their transports."""

    data_manager: FastAPI
    dm_transport: httpx.AsyncBaseTransport
    clock: SimulatedClock
    sim_transport: httpx.AsyncBaseTransport
    sim_url: str

    def exchange(self, api_key: str = PAPER_API_KEY) -> BinanceFuturesTrading:
        """A client of the paper exchange (unopened; its owner closes it)."""
        return BinanceFuturesTrading(
            api_key, PAPER_API_SECRET, base_url=self.sim_url, transport=self.sim_transport
        )


class ServerLikeTransport(httpx.AsyncBaseTransport):
    """An ASGI app reached in-process but answering as a server in its own process would:
    a caller that gives up (cancelled) does not cancel the app's work. A plain
    ``httpx.ASGITransport`` runs the app inside the caller's task, so stopping an engine
    cancelled the Data Manager's database work halfway; SQLAlchemy then closed the SQLite
    connection in a task of its own that could outlive the app's shutdown and hang the
    event loop's close. :meth:`drain` waits for the requests still running."""

    def __init__(self, app: FastAPI) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._running: set[asyncio.Task[httpx.Response]] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        work = asyncio.ensure_future(self._inner.handle_async_request(request))
        self._running.add(work)
        work.add_done_callback(self._finished)
        return await asyncio.shield(work)

    def _finished(self, work: asyncio.Task[httpx.Response]) -> None:
        self._running.discard(work)
        if not work.cancelled():
            work.exception()  # a caller that gave up is not there to see it

    async def drain(self) -> None:
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)


@contextlib.asynccontextmanager
async def _services(tmp_path: Path, *, frozen: bool) -> AsyncIterator[_Services]:
    data_manager = create_data_manager(
        DataManagerSettings(database_url=SecretStr(f"sqlite:///{tmp_path / 'dm.db'}"))
    )
    clock = SimulatedClock(frozen=frozen)
    simulator = create_simulator(SimulatorSettings(symbols=SIMULATOR_SYMBOLS), clock=clock)
    # The Binance client shares its request-weight budget per base URL in a process: one
    # address per simulator keeps each test's paper exchange on a budget of its own.
    sim_url = f"http://exchange-sim-{uuid.uuid4().hex[:8]}"
    dm_transport = ServerLikeTransport(data_manager)
    async with data_manager.router.lifespan_context(data_manager):
        try:
            yield _Services(
                data_manager,
                dm_transport,
                clock,
                httpx.ASGITransport(app=simulator),
                sim_url,
            )
        finally:
            await dm_transport.drain()  # before the Data Manager closes its database


@dataclass
class EngineCore:
    """One Data Manager, one paper exchange, one lease store; executors made on demand
    (each is a replica: same parts, its own name and settings)."""

    store: DataManagerClient
    exchange: BinanceFuturesTrading
    simulator: httpx.AsyncClient
    """Plain HTTP to the simulator, for its control and inspection routes (``/sim/...``)."""
    clock: SimulatedClock
    locks: Locks

    def executor(self, replica: str = "r1", **settings: Any) -> Executor:
        """An executor with the engine's defaults but for ``settings`` (field names of
        ``TradeEngineSettings``)."""
        options: dict[str, Any] = {
            "replica": replica,
            "symbols": SIMULATOR_SYMBOLS,
            "max_signal_age_s": 600.0,
            "lock_ttl_s": 10.0,
            **settings,
        }
        return Executor(TradeEngineSettings(**options), self.store, self.exchange, self.locks)

    async def mark(self, symbol: str) -> Decimal:
        return await self.exchange.mark_price(symbol)

    async def orders(self) -> list[dict[str, Any]]:
        """Every order the paper account took (the simulator's own view)."""
        orders: list[dict[str, Any]] = (await self.simulator.get("/sim/orders")).json()["orders"]
        return orders

    async def algo_orders(self) -> list[dict[str, Any]]:
        """Every stop-loss / take-profit (algo order) the paper account took."""
        body = (await self.simulator.get("/sim/orders")).json()
        algo: list[dict[str, Any]] = body["algoOrders"]
        return algo

    def advance(self, ms: int) -> None:
        """Move the simulated market forward by ``ms``."""
        self.clock.advance(ms)


@contextlib.asynccontextmanager
async def engine_core(tmp_path: Path, *, frozen: bool = True) -> AsyncIterator[EngineCore]:
    """An :class:`EngineCore` for the duration of the block (a fresh SQLite file under
    ``tmp_path``, a fresh paper account)."""
    async with _services(tmp_path, frozen=frozen) as services, contextlib.AsyncExitStack() as stack:
        store = await stack.enter_async_context(
            DataManagerClient(DM_URL, transport=services.dm_transport)
        )
        exchange = await stack.enter_async_context(services.exchange())
        raw = await stack.enter_async_context(
            httpx.AsyncClient(base_url=services.sim_url, transport=services.sim_transport)
        )
        await Ledger(store, "harness").prepare()
        locks = Locks(MemoryLeaseStore())
        stack.push_async_callback(locks.close)
        yield EngineCore(store, exchange, raw, services.clock, locks)


@dataclass
class Rig:
    engine: Engine
    dm: DataManagerClient
    """A client of the same Data Manager, for the test's own reads and writes."""


@contextlib.asynccontextmanager
async def engine_rig(
    tmp_path: Path,
    *,
    nats_url: str | None = None,
    store_transport: httpx.AsyncBaseTransport | None = None,
    frozen: bool = True,
    api_key: str = PAPER_API_KEY,
    **settings: Any,
) -> AsyncIterator[Rig]:
    """An engine (not started) trading ``SIMULATOR_SYMBOLS`` and :data:`UNLISTED`;
    ``settings`` override ``TradeEngineSettings`` fields. ``store_transport`` replaces the
    engine's way to the Data Manager (an outage, say); with another ``api_key`` than the
    paper account's, the exchange refuses every signed request."""
    async with _services(tmp_path, frozen=frozen) as services:
        options: dict[str, Any] = {
            "replica": f"rig-{uuid.uuid4().hex[:6]}",
            "symbols": (*SIMULATOR_SYMBOLS, UNLISTED),
            "max_signal_age_s": 600,
            **settings,
        }
        engine = Engine(
            TradeEngineSettings(**options),
            store=DataManagerClient(DM_URL, transport=services.dm_transport)
            if store_transport is None
            else DataManagerClient(DM_URL, transport=store_transport, max_attempts=1),
            exchange=services.exchange(api_key),
            locks=Locks(MemoryLeaseStore()),
            nats_url=nats_url,
        )
        async with DataManagerClient(DM_URL, transport=services.dm_transport) as dm:
            try:
                yield Rig(engine, dm)
            finally:
                await engine.stop()


async def started(engine: Engine) -> Engine:
    """``engine`` started and past its self-test (its collections declared)."""
    await engine.start()
    await eventually(lambda: prepared(engine), "the engine's self-test to pass")
    return engine


async def prepared(engine: Engine) -> bool:
    """The engine passed its self-test and takes part in leader elections."""
    return engine.selftest_error is None and engine.election.running


async def eventually(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll ``condition`` until it holds, or fail after ``DEADLINE_S``."""
    deadline = time.monotonic() + DEADLINE_S
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def store_open_position(
    dm: DataManagerClient, symbol: str, *, metadata: dict[str, Any] | None = None
) -> str:
    """An open long position (2 at 10, unrealized P&L 1.5 as last stored) written straight
    into the Data Manager; returns its id."""
    position_id = f"rig-{symbol}-{uuid.uuid4().hex[:8]}"
    await dm.upsert_position(
        position_id,
        PositionIn(
            strategy_id="rig",
            symbol=symbol,
            side=PositionSide.LONG,
            quantity=Decimal("2"),
            entry_price=Decimal("10"),
            unrealized_pnl=Decimal("1.5"),
            opened_at=dt.datetime.now(dt.UTC),
            metadata=metadata or {},
        ),
    )
    return position_id
