"""A fake clock and a scripted, in-memory Binance for the client's unit tests.

``FakeBinance`` answers on an ``httpx.MockTransport`` in Binance's formats and keeps its own
books: its own table of request weights (written from Binance's documentation, not taken
from the client), the weight it received per calendar minute of its clock, and every
request. It refuses what Binance refuses (unknown symbol or interval, limits out of range,
futures aggTrades windows of an hour or more) and answers 429 past its limit.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

MINUTE_S = 60
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
EIGHT_HOURS_MS = 8 * HOUR_MS

T0_S = 1_699_999_980.0
"""A whole minute (2023-11-14 22:13:00 UTC)."""

SERVER_WEIGHTS = {
    "spot": {"time": 1, "exchangeInfo": 20, "aggTrades": 4, "klines": 2},
    "futures": {"time": 1, "exchangeInfo": 1, "aggTrades": 20, "fundingRate": 0},
}
PREFIX = {"spot": "/api/v3/", "futures": "/fapi/v1/"}
MAX_KLINES = {"spot": 1000, "futures": 1500}
INTERVALS_MS = {"1m": MINUTE_MS, "5m": 5 * MINUTE_MS, "1h": HOUR_MS}


def futures_kline_weight(limit: int) -> int:
    """Binance's table for ``/fapi/v1/klines``."""
    if limit < 100:
        return 1
    if limit < 500:
        return 2
    if limit <= 1000:
        return 5
    return 10


ARRIVAL_TURNS = 20
"""Event-loop turns a sleeper yields before its time passes (> a request's in-flight turns)."""

Step = int | httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeTime:
    """A wall clock that only moves when someone sleeps on it (or a test advances it)."""

    def __init__(self, start_s: float = T0_S + 5) -> None:
        self.now = start_s
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        # Requests already on the wire arrive before the sleeper's time passes, as they
        # would on a real clock (they take milliseconds, the sleep takes seconds).
        for _ in range(ARRIVAL_TURNS):
            await asyncio.sleep(0)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def binance_error(status: int, code: int, msg: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "msg": msg}, headers=headers)


@dataclass
class Seen:
    """One request as the fake received it."""

    at_s: float
    endpoint: str
    params: dict[str, str]
    weight: int


@dataclass
class FakeBinance:
    """An in-memory Binance market on a ``FakeTime``."""

    time: FakeTime
    market: str = "futures"
    weight_limit: int | None = None
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    listed_ms: int = int(T0_S * 1000) - 3 * 24 * HOUR_MS
    """First kline open time (every interval starts here)."""
    missing_klines: set[int] = field(default_factory=set)
    trades_from_ms: int = int(T0_S * 1000) - 6 * HOUR_MS
    trade_count: int = 5_000
    trade_spacing_ms: int = 1_500
    """Two trades every ``trade_spacing_ms``: pairs share a millisecond."""
    funding_from_ms: int = int(T0_S * 1000) - 400 * EIGHT_HOURS_MS
    other_usage: dict[int, int] = field(default_factory=dict)
    """Weight used in a minute by other processes behind the same IP."""
    in_flight_yields: int = 3
    """Event-loop turns each request takes, so concurrent requests overlap in flight."""
    send_used_weight: bool = True
    clock_offset_s: float = 0.0
    """How far the server's clock is ahead of the client's."""
    seen: list[Seen] = field(default_factory=list)
    weight_by_minute: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    _script: list[Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.weight_limit is None:
            self.weight_limit = 6_000 if self.market == "spot" else 2_400

    # -- test controls --------------------------------------------------------------------

    def script(self, *steps: Step) -> None:
        """Answer the next non-``/time`` requests with ``steps`` before behaving normally."""
        self._script.extend(steps)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def calls(self, endpoint: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.endpoint == endpoint]

    @property
    def now_s(self) -> float:
        return self.time.now + self.clock_offset_s

    @property
    def now_ms(self) -> int:
        return int(self.now_s * 1000)

    # -- the server ---------------------------------------------------------------------

    async def handle(self, request: httpx.Request) -> httpx.Response:
        for _ in range(self.in_flight_yields):
            await asyncio.sleep(0)
        prefix = PREFIX[self.market]
        assert request.url.path.startswith(prefix), request.url.path
        endpoint = request.url.path.removeprefix(prefix)
        params = dict(request.url.params)
        weight = self._weight(endpoint, params)
        minute = math.floor(self.now_s / MINUTE_S)
        self.seen.append(Seen(self.now_s, endpoint, params, weight))
        self.weight_by_minute[minute] += weight
        used = self.weight_by_minute[minute] + self.other_usage.get(minute, 0)
        headers = {"X-MBX-USED-WEIGHT-1M": str(used)} if self.send_used_weight else {}
        assert self.weight_limit is not None
        if used > self.weight_limit:
            retry_after = str(math.ceil((minute + 1) * MINUTE_S - self.now_s))
            return binance_error(
                429,
                -1003,
                "Too much request weight used.",
                **headers,
                **{"Retry-After": retry_after},
            )
        if endpoint != "time" and self._script:
            response = self._scripted(self._script.pop(0), request)
            response.headers.update(headers)
            return response
        status, body = self._answer(endpoint, params)
        return httpx.Response(status, json=body, headers=headers)

    def _scripted(self, step: Step, request: httpx.Request) -> httpx.Response:
        if isinstance(step, Exception):
            raise step
        if isinstance(step, int):
            return binance_error(step, -1000, "An unknown error occurred.")
        if isinstance(step, httpx.Response):
            return step
        return step(request)

    def _weight(self, endpoint: str, params: dict[str, str]) -> int:
        if endpoint == "klines":
            if self.market == "spot":
                return 2
            return futures_kline_weight(int(params.get("limit", "500")))
        return SERVER_WEIGHTS[self.market][endpoint]

    def _answer(self, endpoint: str, params: dict[str, str]) -> tuple[int, Any]:
        if endpoint == "time":
            return 200, {"serverTime": self.now_ms}
        if endpoint == "exchangeInfo":
            return 200, self._exchange_info()
        if params.get("symbol") not in self.symbols:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        if endpoint == "klines":
            return self._klines(params)
        if endpoint == "aggTrades":
            return self._agg_trades(params)
        return self._funding(params)

    def _exchange_info(self) -> dict[str, Any]:
        rows = [{"symbol": symbol, "status": "TRADING"} for symbol in self.symbols]
        rows.append({"symbol": "OLDUSDT", "status": "BREAK"})
        limits = [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": self.weight_limit},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
        ]  # fmt: skip
        return {"timezone": "UTC", "serverTime": self.now_ms, "rateLimits": limits, "symbols": rows}

    def _klines(self, params: dict[str, str]) -> tuple[int, Any]:
        step = INTERVALS_MS.get(params.get("interval", ""))
        if step is None:
            return 400, {"code": -1120, "msg": "Invalid interval."}
        limit = int(params.get("limit", "500"))
        if not 1 <= limit <= MAX_KLINES[self.market]:
            return 400, {"code": -1130, "msg": "Data sent for parameter 'limit' is not valid."}
        last = self.listed_ms + (self.now_ms - self.listed_ms) // step * step
        opens = range(self.listed_ms, last + 1, step)
        start = int(params.get("startTime", self.listed_ms))
        end = int(params.get("endTime", last))
        chosen = [t for t in opens if start <= t <= end and t not in self.missing_klines]
        chosen = chosen[:limit] if "startTime" in params else chosen[-limit:]
        return 200, [_kline_row(t, step) for t in chosen]

    def _trade(self, trade_id: int) -> dict[str, Any]:
        time = self.trades_from_ms + (trade_id // 2) * self.trade_spacing_ms
        return {
            "a": trade_id, "p": "100.5", "q": "0.25", "f": 3 * trade_id, "l": 3 * trade_id + 2,
            "T": time, "m": trade_id % 3 == 0, "M": True,
        }  # fmt: skip

    def _agg_trades(self, params: dict[str, str]) -> tuple[int, Any]:
        limit = int(params.get("limit", "500"))
        if not 1 <= limit <= 1000:
            return 400, {"code": -1130, "msg": "Data sent for parameter 'limit' is not valid."}
        trades = [self._trade(i) for i in range(self.trade_count)]
        if "fromId" in params:
            trades = [t for t in trades if t["a"] >= int(params["fromId"])]
        if "startTime" in params and "endTime" in params:
            start, end = int(params["startTime"]), int(params["endTime"])
            if self.market == "futures" and end - start >= HOUR_MS:
                return 400, {
                    "code": -1127,
                    "msg": "More than 1 hours between startTime and endTime.",
                }
            trades = [t for t in trades if start <= t["T"] <= end]
        return 200, trades[:limit]

    def _funding(self, params: dict[str, str]) -> tuple[int, Any]:
        limit = int(params.get("limit", "100"))
        if not 1 <= limit <= 1000:
            return 400, {"code": -1130, "msg": "Data sent for parameter 'limit' is not valid."}
        times = range(self.funding_from_ms, self.now_ms + 1, EIGHT_HOURS_MS)
        start = int(params.get("startTime", self.funding_from_ms))
        end = int(params.get("endTime", self.now_ms))
        chosen = [t for t in times if start <= t <= end][:limit]
        return 200, [
            {"symbol": params["symbol"], "fundingTime": t, "fundingRate": "0.00010000",
             "markPrice": "34287.5"}
            for t in chosen
        ]  # fmt: skip


def _kline_row(open_time: int, step: int) -> list[Any]:
    return [
        open_time, "1.0", "2.0", "0.5", "1.5", "10.0", open_time + step - 1,
        "15.0", 3, "4.0", "6.0", "0",
    ]  # fmt: skip
