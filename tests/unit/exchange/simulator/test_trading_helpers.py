"""A signed Binance client for the paper account's HTTP tests (signing written here from
Binance's documentation, not taken from the code under test), and the app it talks to."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx

from petrosa.exchange.simulator import ManualClock, SimulatorSettings, create_app
from petrosa.exchange.simulator.desk import PaperDesk
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.market import SyntheticMarket
from petrosa.exchange.simulator.prices import last_price
from tests.unit.exchange.simulator.conftest import NOW_MS, SEED

KEY = "paper-key"
SECRET = "paper-secret"
FORM = {"content-type": "application/x-www-form-urlencoded"}
HOUR_MS = 3_600_000


def sign(query: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()


class PaperClient:
    """Sends signed requests to the simulator app in process, at its manual clock."""

    def __init__(self, http: httpx.AsyncClient, app: Any, clock: ManualClock) -> None:
        self.http = http
        self.app = app
        self.clock = clock

    @property
    def desk(self) -> PaperDesk:
        desk: PaperDesk = self.app.state.paper
        return desk

    def market(self, symbol: str = "BTCUSDT") -> SyntheticMarket:
        return self.desk.venue.market(MarketKind.FUTURES, symbol)

    def price(self, symbol: str = "BTCUSDT") -> Decimal:
        return last_price(self.market(symbol), self.clock.now_ms())

    async def call(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        in_body: bool = False,
        key: str | None = KEY,
        secret: str = SECRET,
        timestamp: int | None = None,
    ) -> httpx.Response:
        items = {**(params or {}), "timestamp": timestamp or self.clock.now_ms()}
        query = urlencode(items)
        signed = f"{query}&signature={sign(query, secret)}"
        headers = {} if key is None else {"X-MBX-APIKEY": key}
        if in_body:
            return await self.http.request(
                method, path, content=signed, headers={**headers, **FORM}
            )
        return await self.http.request(method, f"{path}?{signed}", headers=headers)

    async def ok(self, method: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        answer = await self.call(method, path, params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def refused(
        self, method: str, path: str, params: Mapping[str, Any] | None = None
    ) -> tuple[int, int]:
        answer = await self.call(method, path, params)
        assert answer.status_code != 200, answer.text
        return answer.status_code, answer.json()["code"]

    async def market_order(
        self, side: str, quantity: str, client_id: str, symbol: str = "BTCUSDT", **extra: Any
    ) -> Any:
        params = {
            "symbol": symbol,
            "side": side,
            "type": "MARKET",
            "quantity": quantity,
            "newClientOrderId": client_id,
            "newOrderRespType": "RESULT",
            **extra,
        }
        return await self.ok("POST", "/fapi/v1/order", params)


@asynccontextmanager
async def paper_client() -> AsyncIterator[PaperClient]:
    """The simulator (BTCUSDT, ETHUSDT) at ``NOW_MS`` on a manual clock, signed client."""
    clock = ManualClock(NOW_MS)
    app = create_app(SimulatorSettings(seed=SEED, symbols=("BTCUSDT", "ETHUSDT")), clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        yield PaperClient(http, app, clock)
