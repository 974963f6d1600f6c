"""Market-data requests with values no backend can take are 422s, the same on all three.

Runs once per backend (SQLite file, MariaDB, PostgreSQL) against a real Data Manager process.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

MINUTE = 60_000
BEYOND_INT64 = 2**63
YEAR_10000_MS = 253_402_300_800_000


def unique_symbol() -> str:
    return "V" + uuid.uuid4().hex[:10].upper()


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC).timestamp() * 1000)


def kline(open_time: int, close_time: int | None = None) -> list[Any]:
    close = open_time + MINUTE - 1 if close_time is None else close_time
    return [open_time, "1", "2", "0.5", "1.5", "3", close, "4", 5, "1", "2", "0"]


def cursor(order: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{order}:{key}".encode()).decode().rstrip("=")


def assert_422_at(response: httpx.Response, loc: list[Any]) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc, response.text


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/data/candles", {"pair": "BTCUSDT", "period": "1m"}),
        ("/data/trades", {"symbol": "BTCUSDT"}),
        ("/data/funding", {"symbol": "BTCUSDT"}),
        ("/data/klines/coverage", {"symbol": "BTCUSDT", "interval": "1m"}),
    ],
)
async def test_time_bounds_past_64_bits_are_422s(
    raw: httpx.AsyncClient, path: str, params: dict[str, str]
) -> None:
    for name in ("start", "end"):
        response = await raw.get(path, params={**params, name: str(BEYOND_INT64)})
        assert_422_at(response, ["query", name])
    largest = await raw.get(path, params={**params, "start": str(BEYOND_INT64 - 1)})
    assert largest.status_code == 200, largest.text
    if path != "/data/klines/coverage":
        for order in ("asc", "desc"):
            forged = cursor(order, BEYOND_INT64)
            response = await raw.get(path, params={**params, "order": order, "cursor": forged})
            assert_422_at(response, ["query", "cursor"])


async def test_a_monthly_coverage_reaching_year_10000_is_a_422(raw: httpx.AsyncClient) -> None:
    symbol = unique_symbol()
    month = [ms(2024, 1, 1), "1", "2", "0.5", "1.5", "3", ms(2024, 2, 1) - 1, "4", 5, "1", "2", "0"]
    written = await raw.post(
        "/data/klines", json={"symbol": symbol, "interval": "1M", "klines": [month]}
    )
    assert written.status_code == 200, written.text
    base = {"symbol": symbol, "interval": "1M"}
    for params, loc in [
        ({"start": "0", "end": str(YEAR_10000_MS)}, ["query", "end"]),
        ({"start": "0", "end": str(BEYOND_INT64 - 1)}, ["query", "end"]),
        ({"end": str(YEAR_10000_MS)}, ["query", "end"]),
        ({"start": "0", "end": str(ms(2400, 1, 1))}, ["query", "end"]),
    ]:
        assert_422_at(await raw.get("/data/klines/coverage", params={**base, **params}), loc)
    past_the_data = await raw.get(
        "/data/klines/coverage", params={**base, "start": str(BEYOND_INT64 - 1)}
    )
    assert past_the_data.status_code == 200, past_the_data.text
    assert (past_the_data.json()["expected"], past_the_data.json()["gaps"]) == (0, [])
    century = await raw.get(
        "/data/klines/coverage", params={**base, "start": "0", "end": str(ms(2100, 1, 1))}
    )
    assert century.status_code == 200, century.text
    assert century.json()["expected"] == 130 * 12


@pytest.mark.parametrize(
    ("interval", "on_grid", "off_grid"),
    [
        ("1m", ms(2024, 3, 5, 10, 7), ms(2024, 3, 5, 10, 7) + 1),
        ("5m", ms(2024, 3, 5, 10, 5), ms(2024, 3, 5, 10, 6)),
        ("1h", ms(2024, 3, 5, 10), ms(2024, 3, 5, 10, 30)),
        ("1d", ms(2024, 3, 5), ms(2024, 3, 5, 1)),
        ("3d", ms(2024, 3, 3), ms(2024, 3, 4)),  # every third day since the epoch
        ("1w", ms(2024, 3, 4), ms(2024, 3, 7)),  # weeks open on Monday, not on the epoch's day
        ("1M", ms(2024, 3, 1), ms(2024, 3, 2)),
        ("1M", ms(2024, 2, 1), ms(2024, 1, 31)),
    ],
)
async def test_klines_off_the_interval_grid_are_422s_naming_the_row(
    raw: httpx.AsyncClient, interval: str, on_grid: int, off_grid: int
) -> None:
    symbol = unique_symbol()
    body = {"symbol": symbol, "interval": interval, "klines": [kline(on_grid, on_grid + 1)]}
    assert (await raw.post("/data/klines", json=body)).status_code == 200
    bad = {
        "symbol": symbol,
        "interval": interval,
        "klines": [kline(on_grid, on_grid + 1), kline(off_grid, off_grid + 1)],
    }
    assert_422_at(await raw.post("/data/klines", json=bad), ["body", "klines", 1, "open_time"])
    stored = await raw.get(
        "/data/candles", params={"pair": symbol, "period": interval, "format": "arrays"}
    )
    assert [row[0] for row in stored.json()["candles"]] == [on_grid]
