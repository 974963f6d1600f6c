"""The trading adapter wired to the exchange simulator in process (ASGI transport), through a
transport that can lose answers, refuse connections or answer for the server.

No network, no monkeypatching: the adapter takes ``transport``, ``clock`` and ``sleep``. The
adapter's clock is a ``FakeTime`` that moves only when the adapter sleeps; the simulator's
``ManualClock`` moves with it, and on its own when a test says so (the clocks then drift).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from petrosa.exchange.binance import BinanceFuturesTrading
from petrosa.exchange.simulator import ManualClock, SimulatorSettings, create_app
from petrosa.exchange.simulator.desk import PaperDesk
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.prices import last_price
from tests.unit.exchange.binance.fakes import FakeTime

SIM_NOW_MS = 1_748_781_296_789
"""2025-06-01T12:34:56.789Z."""
SIM_URL = "http://sim"
MS_PER_S = 1_000
KEY = "paper-key"
SECRET = "paper-secret"
JITTER = 0.5
LOST = "lose the answer"
"""A fault: the server handles the request, the answer never arrives (read timeout)."""
REFUSED = "refuse the connection"
"""A fault: the request never reaches the server."""
Fault = str | httpx.Response


@dataclass
class Faults(httpx.AsyncBaseTransport):
    """Passes requests to ``inner`` except those a test scripted a fault for."""

    inner: httpx.AsyncBaseTransport
    planned: dict[tuple[str, str], list[Fault]] = field(default_factory=dict)
    seen: list[tuple[str, str]] = field(default_factory=list)

    def plan(self, method: str, path: str, *faults: Fault) -> None:
        """Apply ``faults``, one per request, to the next ``method path`` requests."""
        self.planned.setdefault((method, path), []).extend(faults)

    def count(self, method: str, path: str) -> int:
        return self.seen.count((method, path))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.method, request.url.path)
        self.seen.append(key)
        pending = self.planned.get(key)
        fault = pending.pop(0) if pending else None
        if fault == REFUSED:
            raise httpx.ConnectError("connection refused", request=request)
        if isinstance(fault, httpx.Response):
            return fault
        response = await self.inner.handle_async_request(request)
        if fault == LOST:
            await response.aread()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


@dataclass
class Rig:
    """The simulator and an adapter pointed at it."""

    exchange: BinanceFuturesTrading
    faults: Faults
    sim_clock: ManualClock
    time: FakeTime
    app: Any

    @property
    def desk(self) -> PaperDesk:
        desk: PaperDesk = self.app.state.paper
        return desk

    def price(self, symbol: str = "BTCUSDT") -> Decimal:
        market = self.desk.venue.market(MarketKind.FUTURES, symbol)
        return last_price(market, self.sim_clock.now_ms())

    def trades(self, symbol: str = "BTCUSDT") -> int:
        return len(self.desk.account.trades.get(symbol, []))


@asynccontextmanager
async def trading_rig(
    *, key: str = KEY, secret: str = SECRET, **options: Any
) -> AsyncIterator[Rig]:
    """An adapter on a simulator with BTCUSDT and ETHUSDT at ``SIM_NOW_MS``."""
    sim_clock = ManualClock(SIM_NOW_MS)
    settings = SimulatorSettings(seed=7, symbols=("BTCUSDT", "ETHUSDT"))
    app = create_app(settings, clock=sim_clock)
    faults = Faults(httpx.ASGITransport(app=app))
    time = FakeTime(SIM_NOW_MS / 1_000)

    async def sleep(seconds: float) -> None:
        """The adapter waits; time passes for the simulator too."""
        await time.sleep(seconds)
        sim_clock.advance(round(seconds * MS_PER_S))

    exchange = BinanceFuturesTrading(
        key,
        secret,
        base_url=SIM_URL,
        transport=faults,
        clock=time.clock,
        sleep=sleep,
        random=lambda: JITTER,
        **options,
    )
    try:
        yield Rig(exchange, faults, sim_clock, time, app)
    finally:
        await exchange.close()
