"""The HTTP surface in process (ASGI transport): Binance's parameter errors, shapes, exact
decimal strings, and the gate's headers. The real process is covered by the integration test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from petrosa.exchange.simulator import ManualClock, SimulatorSettings, create_app
from tests.unit.exchange.simulator.conftest import NOW_MS, SEED

SPOT_KLINES = "/api/v3/klines"
FUTURES_KLINES = "/fapi/v1/klines"


@pytest.fixture
async def sim() -> AsyncIterator[httpx.AsyncClient]:
    settings = SimulatorSettings(seed=SEED, symbols=("BTCUSDT", "ETHUSDT", "FOOUSDT"))
    app = create_app(settings, clock=ManualClock(NOW_MS))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield client


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        (SPOT_KLINES, {"interval": "1m"}, -1102),
        (SPOT_KLINES, {"symbol": "BTCUSDT"}, -1102),
        (SPOT_KLINES, {"symbol": "", "interval": "1m"}, -1102),
        (SPOT_KLINES, {"symbol": "btc/usdt", "interval": "1m"}, -1100),
        (SPOT_KLINES, {"symbol": "NOPEUSDT", "interval": "1m"}, -1121),
        (SPOT_KLINES, {"symbol": "BTCUSDT", "interval": "7m"}, -1120),
        (SPOT_KLINES, {"symbol": "BTCUSDT", "interval": "1m", "limit": "1001"}, -1130),
        (SPOT_KLINES, {"symbol": "BTCUSDT", "interval": "1m", "limit": "0"}, -1130),
        (SPOT_KLINES, {"symbol": "BTCUSDT", "interval": "1m", "limit": "ten"}, -1100),
        (SPOT_KLINES, {"symbol": "BTCUSDT", "interval": "1m", "startTime": "-5"}, -1100),
        (SPOT_KLINES, {"symbol": "BTCUSDT", "interval": "1m", "endTime": ""}, -1105),
        (SPOT_KLINES, {"symbol": "BTCUSDT", "interval": "1m", "sartTime": "1"}, -1104),
        (SPOT_KLINES, {"symbol": "BTCUSDT", "interval": "1m", "timeZone": "8"}, -1130),
        (FUTURES_KLINES, {"symbol": "BTCUSDT", "interval": "1m", "limit": "1501"}, -1130),
        (FUTURES_KLINES, {"symbol": "BTCUSDT", "interval": "1m", "timeZone": "0"}, -1104),
        (
            FUTURES_KLINES,
            {"symbol": "BTCUSDT", "interval": "1m", "startTime": "9", "endTime": "1"},
            -1023,
        ),
        ("/api/v3/aggTrades", {"symbol": "BTCUSDT", "startTime": "0", "endTime": "3600000"}, -1127),
        ("/fapi/v1/fundingRate", {"symbol": "NOPEUSDT"}, -1121),
        ("/fapi/v1/fundingRate", {"limit": "1001"}, -1130),
        ("/api/v3/exchangeInfo", {"symbol": "NOPEUSDT"}, -1121),
        ("/api/v3/exchangeInfo", {"symbols": "[BTCUSDT"}, -1100),
        ("/api/v3/ping", {"x": "1"}, -1104),
    ],
)
async def test_parameter_errors(
    sim: httpx.AsyncClient, path: str, params: dict[str, str], code: int
) -> None:
    answer = await sim.get(path, params=params)
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == code
    assert isinstance(body["msg"], str)
    assert "x-mbx-used-weight-1m" in answer.headers


async def test_duplicate_parameters(sim: httpx.AsyncClient) -> None:
    answer = await sim.get(SPOT_KLINES + "?symbol=BTCUSDT&symbol=ETHUSDT&interval=1m")
    assert answer.json() == {"code": -1101, "msg": "Duplicate values for a parameter detected."}


async def test_spot_reversed_range_is_empty(sim: httpx.AsyncClient) -> None:
    params = {"symbol": "BTCUSDT", "interval": "1m", "startTime": "9", "endTime": "1"}
    answer = await sim.get(SPOT_KLINES, params=params)
    assert answer.status_code == 200
    assert answer.json() == []


async def test_kline_shape_and_exact_decimals(sim: httpx.AsyncClient) -> None:
    hour = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000
    one_hour = {"symbol": "BTCUSDT", "interval": "1h", "startTime": str(hour), "limit": "1"}
    (candle,) = (await sim.get(SPOT_KLINES, params=one_hour)).json()
    minutes_query = {**one_hour, "interval": "1m", "limit": "60"}
    minutes = (await sim.get(SPOT_KLINES, params=minutes_query)).json()
    assert len(candle) == 12
    assert isinstance(candle[0], int)
    assert isinstance(candle[6], int)
    assert isinstance(candle[8], int)
    assert all(isinstance(candle[i], str) for i in (1, 2, 3, 4, 5, 7, 9, 10, 11))
    assert candle[11] == "0"
    assert candle[6] == hour + 3_600_000 - 1
    assert all(len(candle[i].split(".")[1]) == 8 for i in (1, 5, 7))  # spot shows 8 decimals
    assert candle[1] == minutes[0][1]
    assert candle[4] == minutes[-1][4]
    assert Decimal(candle[2]) == max(Decimal(m[2]) for m in minutes)
    assert Decimal(candle[3]) == min(Decimal(m[3]) for m in minutes)
    for field in (5, 7, 9, 10):
        assert Decimal(candle[field]) == sum(Decimal(m[field]) for m in minutes)
    assert candle[8] == sum(m[8] for m in minutes)


async def test_futures_klines_use_contract_precision(sim: httpx.AsyncClient) -> None:
    params = {"symbol": "BTCUSDT", "interval": "1m", "limit": "2"}
    rows = (await sim.get(FUTURES_KLINES, params=params)).json()
    assert len(rows) == 2
    assert len(rows[0][1].split(".")[1]) == 1  # tick 0.1
    assert len(rows[0][5].split(".")[1]) == 3  # step 0.001
    assert rows[-1][0] <= NOW_MS < rows[-1][6]


async def test_default_limits(sim: httpx.AsyncClient) -> None:
    spot = (await sim.get(SPOT_KLINES, params={"symbol": "ETHUSDT", "interval": "1m"})).json()
    assert len(spot) == 500
    trades = (await sim.get("/fapi/v1/aggTrades", params={"symbol": "ETHUSDT"})).json()
    assert len(trades) == 500
    funding = (await sim.get("/fapi/v1/fundingRate", params={"symbol": "ETHUSDT"})).json()
    assert len(funding) == 100


async def test_agg_trades_shape(sim: httpx.AsyncClient) -> None:
    spot = (await sim.get("/api/v3/aggTrades", params={"symbol": "BTCUSDT", "limit": "3"})).json()
    assert set(spot[0]) == {"a", "p", "q", "f", "l", "T", "m", "M"}
    futures = await sim.get("/fapi/v1/aggTrades", params={"symbol": "BTCUSDT", "limit": "3"})
    assert set(futures.json()[0]) == {"a", "p", "q", "f", "l", "T", "m"}
    assert [t["a"] for t in spot] == list(range(spot[0]["a"], spot[0]["a"] + 3))
    assert all(t["T"] <= NOW_MS for t in spot)


async def test_funding_rate_shape(sim: httpx.AsyncClient) -> None:
    rows = (await sim.get("/fapi/v1/fundingRate", params={"limit": "6"})).json()
    assert len(rows) == 6
    assert set(rows[0]) == {"symbol", "fundingTime", "fundingRate", "markPrice"}
    assert {r["symbol"] for r in rows} == {"BTCUSDT", "ETHUSDT", "FOOUSDT"}
    assert [r["fundingTime"] for r in rows] == sorted(r["fundingTime"] for r in rows)
    assert all(len(r["fundingRate"].split(".")[1]) == 8 for r in rows)


async def test_exchange_info(sim: httpx.AsyncClient) -> None:
    spot = await sim.get("/api/v3/exchangeInfo", params={"symbols": '["ETHUSDT","FOOUSDT"]'})
    symbols = spot.json()["symbols"]
    assert [s["symbol"] for s in symbols] == ["ETHUSDT", "FOOUSDT"]
    assert symbols[1]["baseAsset"] == "FOO"
    assert symbols[0]["status"] == "TRADING"
    futures = (await sim.get("/fapi/v1/exchangeInfo")).json()
    btc = futures["symbols"][0]
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["LOT_SIZE"]["stepSize"] == "0.001"
    assert filters["PRICE_FILTER"]["tickSize"] == "0.1"
    assert filters["MIN_NOTIONAL"]["notional"] == "100"
    limits = {
        r["rateLimitType"]: r["limit"] for r in futures["rateLimits"] if r["interval"] == "MINUTE"
    }
    assert limits["REQUEST_WEIGHT"] == 2_400


async def test_time_and_used_weight(sim: httpx.AsyncClient) -> None:
    first = await sim.get("/api/v3/time")
    assert first.json() == {"serverTime": NOW_MS}
    assert first.headers["X-MBX-USED-WEIGHT-1M"] == "1"
    await sim.get(SPOT_KLINES, params={"symbol": "BTCUSDT", "interval": "1d", "limit": "1"})
    assert (await sim.get("/api/v3/ping")).headers["x-mbx-used-weight-1m"] == "4"
    futures = await sim.get(FUTURES_KLINES, params={"symbol": "BTCUSDT", "interval": "1d"})
    assert futures.headers["x-mbx-used-weight-1m"] == "5"
    stats = (await sim.get("/sim/stats")).json()
    assert stats["markets"]["spot"]["weight_used_1m"] == 4
    assert stats["markets"]["futures"]["requests"] == 1
    assert "x-mbx-used-weight-1m" not in (await sim.get("/health/liveness")).headers


async def test_listing_is_rounded_up_to_a_whole_day() -> None:
    settings = SimulatorSettings(symbols=("BTCUSDT",), history_start="2024-03-05T07:00:00Z")
    app = create_app(settings, clock=ManualClock(NOW_MS))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        funding = await client.get("/fapi/v1/fundingRate", params={"startTime": "0"})
        days = await client.get(
            SPOT_KLINES, params={"symbol": "BTCUSDT", "interval": "1d", "startTime": "0"}
        )
    listing = 1_709_683_200_000  # 2024-03-06T00:00:00Z
    assert funding.json()[0]["fundingTime"] == listing
    assert days.json()[0][0] == listing


@pytest.mark.parametrize("ms", [str(2**63), str(4_102_444_800_000), "-1", "0"])
async def test_the_clock_never_moves_past_2100_or_backwards(
    sim: httpx.AsyncClient, ms: str
) -> None:
    refused = await sim.post("/sim/clock/advance", params={"ms": ms})
    assert refused.status_code == 400
    assert refused.json()["code"] == -1100
    assert (await sim.get("/fapi/v1/time")).json() == {"serverTime": NOW_MS}
    stats = await sim.get("/sim/stats")
    assert stats.status_code == 200


async def test_the_clock_moves_forward_by_what_it_is_told(sim: httpx.AsyncClient) -> None:
    moved = await sim.post("/sim/clock/advance", params={"ms": "60000"})
    assert moved.json() == {"serverTime": NOW_MS + 60_000}
    assert (await sim.get("/fapi/v1/time")).json() == {"serverTime": NOW_MS + 60_000}
