"""The exchange simulator as users run it: a real ``petrosa exchange-sim serve`` process on a
free loopback port, over HTTP. Needs no other server.

Checks Binance's HTTP surface (shapes, headers, error codes and statuses, limits, the
still-open last candle), 429 then 418 with a tiny budget, and the project's own Binance
client paging through it unchanged.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from petrosa.exchange.binance import BinanceClient
from tests.support.server import RunningServer, start_exchange_simulator

pytestmark = pytest.mark.integration

STARTUP_TIMEOUT_S = 30.0
CLOCK_START = "2025-06-01T12:34:00Z"
"""A whole minute: the rate-limit window then ends a minute after start-up, so the tests
(seconds long) never straddle a reset."""
NOW_MS = int(dt.datetime.fromisoformat(CLOCK_START).timestamp() * 1_000)
MINUTE_MS = 60_000
TINY_SPOT_BUDGET = 10
BAN_TOLERANCE = 2


def start_simulator(log_dir: Path, *args: str) -> RunningServer:
    """``petrosa exchange-sim serve`` with a frozen clock, ready to answer."""
    return start_exchange_simulator(log_dir, "--clock-start", CLOCK_START, "--freeze-clock", *args)


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_simulator(tmp_path_factory.mktemp("exchange-sim"))
    yield server
    server.stop()


@pytest.fixture
def sim(simulator: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=simulator.base_url, timeout=10.0) as client:
        client.post("/sim/reset")
        yield client


def test_time_ping_and_health(sim: httpx.Client) -> None:
    for path in ("/api/v3/time", "/fapi/v1/time"):
        answer = sim.get(path)
        assert answer.json() == {"serverTime": NOW_MS}
        assert answer.headers["X-MBX-USED-WEIGHT-1M"] == "1"
    assert sim.get("/api/v3/ping").json() == {}
    assert sim.get("/fapi/v1/ping").json() == {}
    assert sim.get("/health/liveness").json() == {"status": "ok"}
    assert sim.get("/health/readiness").status_code == 200
    assert "petrosa_exchange_sim_requests" in sim.get("/metrics").text


def test_spot_klines_end_with_the_open_candle(sim: httpx.Client) -> None:
    answer = sim.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m"})
    assert answer.status_code == 200
    assert answer.headers["x-mbx-used-weight-1m"] == "2"
    rows = answer.json()
    assert len(rows) == 500
    for row in rows:
        assert len(row) == 12
        assert [type(v) for v in row] == [
            int,
            str,
            str,
            str,
            str,
            str,
            int,
            str,
            int,
            str,
            str,
            str,
        ]
        high, low = Decimal(row[2]), Decimal(row[3])
        assert high >= max(Decimal(row[1]), Decimal(row[4]))
        assert low <= min(Decimal(row[1]), Decimal(row[4]))
        assert Decimal(row[9]) <= Decimal(row[5])
    assert all(a[4] == b[1] for a, b in itertools.pairwise(rows))
    last = rows[-1]
    assert last[0] == NOW_MS  # frozen at a whole minute: the new candle just opened
    assert last[6] == NOW_MS + MINUTE_MS - 1
    assert rows[-2][6] == NOW_MS - 1


def test_hour_candle_still_open(sim: httpx.Client) -> None:
    params = {"symbol": "ETHUSDT", "interval": "1h", "limit": "2"}
    previous, current = sim.get("/api/v3/klines", params=params).json()
    assert current[0] <= NOW_MS < current[6]
    minutes = sim.get(
        "/api/v3/klines",
        params={"symbol": "ETHUSDT", "interval": "1m", "startTime": str(current[0])},
    ).json()
    assert minutes[-1][0] == NOW_MS
    assert Decimal(current[5]) == sum(Decimal(m[5]) for m in minutes)
    assert current[4] == minutes[-1][4]
    assert previous[6] + 1 == current[0]


def test_nothing_after_now(sim: httpx.Client) -> None:
    later = {"symbol": "BTCUSDT", "interval": "1m", "startTime": str(NOW_MS + MINUTE_MS)}
    assert sim.get("/api/v3/klines", params=later).json() == []
    trades = sim.get("/fapi/v1/aggTrades", params={"symbol": "BTCUSDT", "limit": "1000"}).json()
    assert len(trades) == 1_000
    assert max(t["T"] for t in trades) <= NOW_MS
    funding = sim.get("/fapi/v1/fundingRate", params={"symbol": "BTCUSDT"}).json()
    assert funding[-1]["fundingTime"] == NOW_MS - NOW_MS % (8 * 3_600_000)


@pytest.mark.parametrize(
    ("path", "limit", "status"),
    [
        ("/api/v3/klines", 1_000, 200),
        ("/api/v3/klines", 1_001, 400),
        ("/fapi/v1/klines", 1_500, 200),
        ("/fapi/v1/klines", 1_501, 400),
    ],
)
def test_kline_limits(sim: httpx.Client, path: str, limit: int, status: int) -> None:
    params = {"symbol": "XRPUSDT", "interval": "5m", "limit": str(limit)}
    answer = sim.get(path, params=params)
    assert answer.status_code == status
    if status == 200:
        assert len(answer.json()) == limit
    else:
        assert answer.json()["code"] == -1130


def test_futures_kline_weight_follows_the_limit(sim: httpx.Client) -> None:
    used = []
    for limit in (99, 100, 500, 1_001):
        params = {"symbol": "BTCUSDT", "interval": "1m", "limit": str(limit)}
        used.append(int(sim.get("/fapi/v1/klines", params=params).headers["x-mbx-used-weight-1m"]))
    assert used == [1, 3, 8, 18]


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/api/v3/klines", {"symbol": "NOPEUSDT", "interval": "1m"}, -1121),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "2m"}, -1120),
        ("/api/v3/klines", {"interval": "1m"}, -1102),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": "0"}, -1130),
        ("/api/v3/klines", {"symbol": "btcusdt", "interval": "1m"}, -1100),
        (
            "/fapi/v1/aggTrades",
            {"symbol": "BTCUSDT", "startTime": "0", "endTime": "3600000"},
            -1127,
        ),
        ("/fapi/v1/fundingRate", {"symbol": "NOPEUSDT"}, -1121),
    ],
)
def test_errors_are_binance_errors(
    sim: httpx.Client, path: str, params: dict[str, str], code: int
) -> None:
    answer = sim.get(path, params=params)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["code"] == code


def test_agg_trades_by_time_and_id(sim: httpx.Client) -> None:
    start = NOW_MS - 10 * MINUTE_MS
    window = {"symbol": "ETHUSDT", "startTime": str(start), "endTime": str(start + MINUTE_MS - 1)}
    minute = sim.get("/api/v3/aggTrades", params={**window, "limit": "1000"}).json()
    candle = sim.get(
        "/api/v3/klines",
        params={"symbol": "ETHUSDT", "interval": "1m", "startTime": str(start), "limit": "1"},
    ).json()[0]
    assert sum(Decimal(t["q"]) for t in minute) == Decimal(candle[5])
    assert min(Decimal(t["p"]) for t in minute) == Decimal(candle[3])
    assert max(Decimal(t["p"]) for t in minute) == Decimal(candle[2])
    assert sum(t["l"] - t["f"] + 1 for t in minute) == candle[8]
    assert all(t["M"] is True for t in minute)
    following = sim.get(
        "/api/v3/aggTrades", params={"symbol": "ETHUSDT", "fromId": str(minute[-1]["a"] + 1)}
    ).json()
    assert following[0]["a"] == minute[-1]["a"] + 1
    assert following[0]["T"] >= start + MINUTE_MS


def test_funding_rates(sim: httpx.Client) -> None:
    start = NOW_MS - 3 * 86_400_000
    rows = sim.get("/fapi/v1/fundingRate", params={"symbol": "BTCUSDT", "startTime": str(start)})
    body = rows.json()
    # from 12:34 three days ago: 16:00 that day, two whole days, 00:00 and 08:00 today
    assert len(body) == 1 + 2 * 3 + 2
    assert [r["fundingTime"] % (8 * 3_600_000) for r in body] == [0] * len(body)
    first = body[0]
    candle = sim.get(
        "/fapi/v1/klines",
        params={
            "symbol": "BTCUSDT",
            "interval": "1m",
            "startTime": str(first["fundingTime"]),
            "limit": "1",
        },
    ).json()[0]
    assert Decimal(first["markPrice"]) == Decimal(candle[1])


def test_exchange_info(sim: httpx.Client) -> None:
    spot = sim.get("/api/v3/exchangeInfo")
    assert spot.headers["x-mbx-used-weight-1m"] == "20"
    symbols = spot.json()["symbols"]
    assert len(symbols) == 10
    assert all(s["status"] == "TRADING" and s["quoteAsset"] == "USDT" for s in symbols)
    futures = sim.get("/fapi/v1/exchangeInfo").json()
    filters = {f["filterType"] for f in futures["symbols"][0]["filters"]}
    assert {"LOT_SIZE", "PRICE_FILTER", "MIN_NOTIONAL"} <= filters


def test_tiny_budget_gives_429_then_418(tmp_path: Path) -> None:
    server = start_simulator(
        tmp_path,
        "--spot-weight-limit",
        str(TINY_SPOT_BUDGET),
        "--ban-tolerance",
        str(BAN_TOLERANCE),
    )
    params = {"symbol": "BTCUSDT", "interval": "1m", "limit": "1"}
    try:
        with httpx.Client(base_url=server.base_url, timeout=10.0) as sim:
            for _ in range(TINY_SPOT_BUDGET // 2):
                assert sim.get("/api/v3/klines", params=params).status_code == 200
            limited = sim.get("/api/v3/klines", params=params)
            assert limited.status_code == 429
            assert limited.json()["code"] == -1003
            assert 1 <= int(limited.headers["Retry-After"]) <= 60
            assert limited.headers["x-mbx-used-weight-1m"] == str(TINY_SPOT_BUDGET)
            assert sim.get("/fapi/v1/time").status_code == 200  # futures has its own budget
            for _ in range(BAN_TOLERANCE):
                assert sim.get("/api/v3/klines", params=params).status_code == 429
            banned = sim.get("/api/v3/klines", params=params)
            assert banned.status_code == 418
            assert banned.json()["code"] == -1003
            assert "banned until" in banned.json()["msg"]
            assert 110 <= int(banned.headers["Retry-After"]) <= 120
            assert sim.get("/api/v3/time").status_code == 418  # everything, while it lasts
            stats = sim.get("/sim/stats").json()["markets"]["spot"]
            assert stats["rate_limited_429"] == 1 + BAN_TOLERANCE
            assert stats["banned_418"] == 2
            assert stats["bans"] == 1
            assert stats["weight_used_1m"] == TINY_SPOT_BUDGET
            assert sim.post("/sim/reset").status_code == 200
            assert sim.get("/api/v3/klines", params=params).status_code == 200
    finally:
        server.stop()


async def test_the_project_binance_client_pages_through_it(simulator: RunningServer) -> None:
    day_start = NOW_MS - 86_400_000
    async with BinanceClient("spot", base_url=simulator.base_url) as spot:
        pages = [p async for p in spot.iter_klines("BTCUSDT", "1m", day_start, NOW_MS)]
        candles = [k for page in pages for k in page]
        assert len(candles) == 1_440
        assert [k.open_time for k in candles] == list(range(day_start, NOW_MS, MINUTE_MS))
        assert all(a.close == b.open for a, b in itertools.pairwise(candles))
        trades = [
            t
            async for page in spot.iter_agg_trades("BTCUSDT", NOW_MS - 5 * MINUTE_MS, NOW_MS)
            for t in page
        ]
        ids = [t.trade_id for t in trades]
        assert ids == list(range(ids[0], ids[0] + len(ids)))
        volume = sum((Decimal(str(k.volume)) for k in candles[-5:]), Decimal(0))
        traded = sum((Decimal(str(t.quantity)) for t in trades), Decimal(0))
        assert traded == volume
    async with BinanceClient("futures", base_url=simulator.base_url) as futures:
        week = [
            r
            async for page in futures.iter_funding_rates("ETHUSDT", NOW_MS - 7 * 86_400_000, NOW_MS)
            for r in page
        ]
        assert len(week) == 21
        assert all(r.mark_price is not None and r.mark_price > 0 for r in week)
