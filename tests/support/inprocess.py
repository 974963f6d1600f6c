"""The trade engine's core in one process, for tests of its decisions.

Real parts, no fakes: a real Data Manager app on a SQLite file and the real exchange
simulator app, each reached through its client over an in-process ASGI transport (no
sockets, no subprocesses), and ``Locks`` on the in-memory lease store. What only several
processes can show (a replica killed mid-decision, NATS redelivery, replicas racing) stays
in tests/integration/test_tradeengine.py.

The simulator's clock is frozen by default, so the market stands still unless a test moves
it (``advance``): sizes and risk limits never drift while a slow run is in progress.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from petrosa.client import DataManagerClient
from petrosa.coordination import Locks, MemoryLeaseStore
from petrosa.datamanager.app import create_app as create_data_manager
from petrosa.datamanager.settings import DataManagerSettings
from petrosa.exchange.binance import BinanceFuturesTrading
from petrosa.exchange.simulator.app import create_app as create_simulator
from petrosa.exchange.simulator.clock import SimulatedClock
from petrosa.exchange.simulator.settings import SimulatorSettings
from petrosa.tradeengine.executor import Executor
from petrosa.tradeengine.ledger import Ledger
from petrosa.tradeengine.settings import TradeEngineSettings

PAPER_KEY, PAPER_SECRET = "paper-key", "paper-secret"
SIMULATOR_SYMBOLS = ("BTCUSDT", "ETHUSDT", "BNBUSDT", "XRPUSDT")


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
    dm_settings = DataManagerSettings(database_url=SecretStr(f"sqlite:///{tmp_path / 'dm.db'}"))
    data_manager = create_data_manager(dm_settings)
    clock = SimulatedClock(frozen=frozen)
    simulator = create_simulator(SimulatorSettings(symbols=SIMULATOR_SYMBOLS), clock=clock)
    # The Binance client shares its request-weight budget per base URL in a process: one
    # address per simulator keeps each test's paper exchange on a budget of its own.
    sim_url = f"http://exchange-sim-{uuid.uuid4().hex[:8]}"
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(data_manager.router.lifespan_context(data_manager))
        store = await stack.enter_async_context(
            DataManagerClient(
                "http://data-manager", transport=httpx.ASGITransport(app=data_manager)
            )
        )
        sim_transport = httpx.ASGITransport(app=simulator)
        exchange = await stack.enter_async_context(
            BinanceFuturesTrading(
                PAPER_KEY, PAPER_SECRET, base_url=sim_url, transport=sim_transport
            )
        )
        raw = await stack.enter_async_context(
            httpx.AsyncClient(base_url=sim_url, transport=sim_transport)
        )
        await Ledger(store, "harness").prepare()
        locks = Locks(MemoryLeaseStore())
        stack.push_async_callback(locks.close)
        yield EngineCore(store, exchange, raw, clock, locks)
