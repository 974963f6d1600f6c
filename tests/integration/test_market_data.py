"""Market-data endpoints through the client against a real Data Manager process.

Runs once per backend (SQLite file, MariaDB, PostgreSQL): see the ``dm_url`` fixture.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import orjson
import pytest

from petrosa.client import DataManagerClient
from petrosa.contracts import FundingRate, Interval, Kline, Trade

pytestmark = pytest.mark.integration

MINUTE = 60_000
BASE_TIME = 1_700_000_040_000 - (1_700_000_040_000 % (5 * MINUTE))


def unique_symbol() -> str:
    return "T" + uuid.uuid4().hex[:10].upper()


def binance_row(open_time: int, step: int = 5 * MINUTE, price: float = 100.0) -> list[Any]:
    """A kline as Binance serves it: 12 fields, decimals as strings."""
    return [
        open_time, f"{price:.2f}", f"{price + 2:.2f}", f"{price - 1:.2f}", f"{price + 1:.2f}",
        "12.5", open_time + step - 1, "1250.75", 42, "6.25", "625.5", "0",
    ]  # fmt: skip


def rows(start_index: int, count: int, step: int = 5 * MINUTE) -> list[list[Any]]:
    return [
        binance_row(BASE_TIME + i * step, step, price=100.0 + i)
        for i in range(start_index, start_index + count)
    ]


async def test_klines_round_trip_field_for_field(client: DataManagerClient) -> None:
    symbol = unique_symbol()
    sent = rows(0, 50)
    result = await client.insert_klines(symbol, "5m", sent)
    assert (result.received, result.inserted, result.updated) == (50, 50, 0)

    stored = await client.get_candles(symbol, "5m", limit=100, order="asc")
    assert [k.to_binance() for k in stored] == [Kline.from_binance(r).to_binance() for r in sent]
    assert stored == [Kline.from_binance(r) for r in sent]


async def test_models_and_arrays_are_both_accepted(client: DataManagerClient) -> None:
    symbol = unique_symbol()
    models = [Kline.from_binance(r) for r in rows(0, 5)]
    await client.insert_klines(symbol, Interval.M5, models)
    stored = await client.get_candles(symbol, Interval.M5, limit=10, order="asc")
    assert stored == models


async def test_same_batch_twice_keeps_one_row_per_key(client: DataManagerClient) -> None:
    symbol = unique_symbol()
    batch = rows(0, 120)
    first = await client.insert_klines(symbol, "5m", batch)
    second = await client.insert_klines(symbol, "5m", batch)
    assert (first.inserted, first.updated) == (120, 0)
    assert (second.inserted, second.updated) == (0, 120)
    coverage = await client.get_coverage(symbol, "5m")
    assert coverage.count == 120
    assert coverage.gaps == []


async def test_upsert_replaces_values(client: DataManagerClient) -> None:
    symbol = unique_symbol()
    await client.insert_klines(symbol, "5m", [binance_row(BASE_TIME, price=100.0)])
    await client.insert_klines(symbol, "5m", [binance_row(BASE_TIME, price=200.0)])
    latest = await client.get_latest_kline(symbol, "5m")
    assert latest is not None
    assert latest.close == 201.0


async def test_limit_one_returns_the_newest_candle(client: DataManagerClient) -> None:
    symbol = unique_symbol()
    await client.insert_klines(symbol, "5m", rows(0, 30))
    newest = await client.get_candles(symbol, "5m", limit=1)
    assert [k.open_time for k in newest] == [BASE_TIME + 29 * 5 * MINUTE]
    latest = await client.get_latest_kline(symbol, "5m")
    assert latest == newest[0]
    # a write must be visible to the very next read (no stale cached answer)
    await client.insert_klines(symbol, "5m", rows(30, 1))
    latest = await client.get_latest_kline(symbol, "5m")
    assert latest is not None
    assert latest.open_time == BASE_TIME + 30 * 5 * MINUTE
    assert await client.get_latest_kline(unique_symbol(), "5m") is None


async def test_range_order_and_cursor_pagination(client: DataManagerClient) -> None:
    symbol = unique_symbol()
    await client.insert_klines(symbol, "5m", rows(0, 100))
    start, end = BASE_TIME + 10 * 5 * MINUTE, BASE_TIME + 60 * 5 * MINUTE
    in_range = await client.get_candles(symbol, "5m", start=start, end=end, limit=1000, order="asc")
    assert [k.open_time for k in in_range] == list(range(start, end, 5 * MINUTE))

    seen: list[int] = []
    cursor: str | None = None
    while True:
        page = await client.get_candles(symbol, "5m", limit=7, order="desc", cursor=cursor)
        seen.extend(k.open_time for k in page)
        cursor = page.next_cursor
        if cursor is None:
            break
    expected = [BASE_TIME + i * 5 * MINUTE for i in reversed(range(100))]
    assert seen == expected
    assert [k.open_time async for k in client.iter_candles(symbol, "5m", page_size=9)] == expected


async def test_coverage_reports_gaps_inside_and_at_the_edges(client: DataManagerClient) -> None:
    symbol = unique_symbol()
    step = 5 * MINUTE
    present = [i for i in range(100) if not (20 <= i < 25 or i == 50)]
    await client.insert_klines(symbol, "5m", [binance_row(BASE_TIME + i * step) for i in present])

    cov = await client.get_coverage(symbol, "5m")
    assert cov.count == len(present)
    assert (cov.first_open_time, cov.last_open_time) == (BASE_TIME, BASE_TIME + 99 * step)
    assert [(g.start, g.end, g.missing) for g in cov.gaps] == [
        (BASE_TIME + 20 * step, BASE_TIME + 24 * step, 5),
        (BASE_TIME + 50 * step, BASE_TIME + 50 * step, 1),
    ]
    ranged = await client.get_coverage(
        symbol, "5m", start=BASE_TIME - 3 * step, end=BASE_TIME + 102 * step
    )
    assert ranged.expected == 105
    assert [(g.start, g.missing) for g in ranged.gaps] == [
        (BASE_TIME - 3 * step, 3),
        (BASE_TIME + 20 * step, 5),
        (BASE_TIME + 50 * step, 1),
        (BASE_TIME + 100 * step, 2),
    ]
    empty = await client.get_coverage(
        unique_symbol(), "5m", start=BASE_TIME, end=BASE_TIME + step * 4
    )
    assert empty.count == 0
    assert [(g.start, g.end, g.missing) for g in empty.gaps] == [
        (BASE_TIME, BASE_TIME + 3 * step, 4)
    ]


async def test_ten_concurrent_writers_overlapping_batches(dm_url: str) -> None:
    symbol = unique_symbol()
    total = 2_000

    async def writer(index: int) -> None:
        async with DataManagerClient(dm_url) as dm:
            first = index * 150  # batches of 500 rows overlapping their neighbours
            await dm.insert_klines(symbol, "1m", rows(first, 500, step=MINUTE))

    await asyncio.gather(*(writer(i) for i in range(10)))
    async with DataManagerClient(dm_url) as dm:
        await dm.insert_klines(symbol, "1m", rows(1_850, 150, step=MINUTE))
        coverage = await dm.get_coverage(symbol, "1m")
        stored = await dm.get_candles(symbol, "1m", limit=5_000, order="asc")
    assert coverage.count == total
    assert coverage.gaps == []
    assert [k.open_time for k in stored] == [BASE_TIME + i * MINUTE for i in range(total)]


async def test_trades_and_funding_round_trip_idempotently(client: DataManagerClient) -> None:
    symbol = unique_symbol()
    trades = [
        Trade(trade_id=1_000 + i, price=50_000.5 + i, quantity=0.25, time=BASE_TIME + i * 10,
              is_buyer_maker=i % 2 == 0, first_trade_id=5_000 + 2 * i, last_trade_id=5_001 + 2 * i)
        for i in range(40)
    ]  # fmt: skip
    assert (await client.insert_trades(symbol, trades)).inserted == 40
    again = await client.insert_trades(symbol, trades)
    assert (again.inserted, again.updated) == (0, 40)
    stored = await client.get_trades(symbol, limit=100, order="asc")
    assert stored == trades
    window = await client.get_trades(
        symbol, start=BASE_TIME + 100, end=BASE_TIME + 200, order="asc"
    )
    assert [t.trade_id for t in window] == list(range(1_010, 1_020))

    rates = [
        FundingRate(funding_time=BASE_TIME + i * 8 * 3_600_000, funding_rate=0.0001 * (i - 5),
                    mark_price=None if i == 3 else 30_000.0 + i)
        for i in range(12)
    ]  # fmt: skip
    assert (await client.insert_funding_rates(symbol, rates)).inserted == 12
    assert (await client.insert_funding_rates(symbol, rates)).updated == 12
    assert await client.get_funding_rates(symbol, limit=100, order="asc") == rates
    newest = await client.get_funding_rates(symbol, limit=1)
    assert newest == [rates[-1]]


BAD_KLINE_CASES: list[tuple[str, dict[str, Any], list[Any]]] = [
    ("non-finite", {"index": 1, "field": 2, "value": "NaN"}, ["body", "klines", 1, "high"]),
    ("infinite", {"index": 2, "field": 5, "value": "Infinity"}, ["body", "klines", 2, "volume"]),
    ("high below low", {"index": 3, "field": 2, "value": "1"}, ["body", "klines", 3, "high"]),
    ("negative", {"index": 0, "field": 4, "value": "-5"}, ["body", "klines", 0, "close"]),
]


@pytest.mark.parametrize(("case", "change", "loc"), BAD_KLINE_CASES)
async def test_bad_kline_is_422_naming_the_field_and_writes_nothing(
    dm_url: str, case: str, change: dict[str, Any], loc: list[Any]
) -> None:
    symbol = unique_symbol()
    batch = rows(0, 10)
    batch[change["index"]][change["field"]] = change["value"]
    async with httpx.AsyncClient(base_url=dm_url) as http:
        body = {"symbol": symbol, "interval": "5m", "klines": batch}
        response = await http.post("/data/klines", content=orjson.dumps(body))
        assert response.status_code == 422, case
        assert loc in [e["loc"] for e in response.json()["detail"]]
        count = await http.get("/data/klines/coverage", params={"symbol": symbol, "interval": "5m"})
        assert count.json()["count"] == 0


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"symbol": "btcusdt", "interval": "5m", "klines": []}, ["body", "symbol"]),
        ({"symbol": "BTC-USDT", "interval": "5m", "klines": []}, ["body", "symbol"]),
        ({"symbol": "BTCUSDT", "interval": "7m", "klines": []}, ["body", "interval"]),
        (
            {"symbol": "BTCUSDT", "interval": "5m", "klines": [[1, 2, 3]]},
            ["body", "klines", 0, "low"],
        ),
        ({"symbol": "BTCUSDT", "interval": "5m", "klines": rows(0, 5_001)}, ["body", "klines"]),
        ({"symbol": "BTCUSDT", "interval": "5m"}, ["body", "klines"]),
        (
            {"symbol": "BTCUSDT", "interval": "5m", "klines": [{"open_time": 1, "open": 1}]},
            ["body", "klines", 0, "high"],
        ),
    ],
)
async def test_malformed_batches_are_422(dm_url: str, body: dict[str, Any], loc: list[Any]) -> None:
    async with httpx.AsyncClient(base_url=dm_url) as http:
        response = await http.post("/data/klines", content=orjson.dumps(body))
    assert response.status_code == 422
    assert loc in [e["loc"] for e in response.json()["detail"]]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"pair": "BTCUSDT", "period": "7m"}, ["query", "period"]),
        ({"pair": "btc", "period": "5m"}, ["query", "pair"]),
        ({"pair": "BTCUSDT", "period": "5m", "limit": 0}, ["query", "limit"]),
        ({"pair": "BTCUSDT", "period": "5m", "limit": 5_001}, ["query", "limit"]),
        ({"pair": "BTCUSDT", "period": "5m", "cursor": "bogus!"}, ["query", "cursor"]),
        ({"period": "5m"}, ["query", "pair"]),
    ],
)
async def test_bad_read_parameters_are_422(
    dm_url: str, params: dict[str, Any], loc: list[Any]
) -> None:
    async with httpx.AsyncClient(base_url=dm_url) as http:
        response = await http.get("/data/candles", params=params)
    assert response.status_code == 422
    assert loc in [e["loc"] for e in response.json()["detail"]]


async def test_bad_trade_and_funding_rows_are_422(dm_url: str) -> None:
    async with httpx.AsyncClient(base_url=dm_url) as http:
        trade = {"trade_id": 1, "price": -1, "quantity": 1, "time": 1, "is_buyer_maker": True}
        response = await http.post("/data/trades", json={"symbol": "BTCUSDT", "trades": [trade]})
        assert response.status_code == 422
        assert ["body", "trades", 0, "price"] in [e["loc"] for e in response.json()["detail"]]
        rate = {"funding_time": 1, "funding_rate": "NaN"}
        response = await http.post("/data/funding", json={"symbol": "BTCUSDT", "rates": [rate]})
        assert response.status_code == 422
        assert ["body", "rates", 0, "funding_rate"] in [e["loc"] for e in response.json()["detail"]]


async def test_metrics_count_requests_and_rows(client: DataManagerClient, dm_url: str) -> None:
    await client.insert_klines(unique_symbol(), "5m", rows(0, 3))
    async with httpx.AsyncClient(base_url=dm_url) as http:
        text = (await http.get("/metrics")).text
    assert 'petrosa_dm_requests_total{method="POST",route="/data/klines",status="200"}' in text
    assert 'petrosa_dm_rows_written_total{table="klines"}' in text
    assert "petrosa_dm_request_seconds_bucket" in text


@pytest.mark.parametrize("spacing", [1, 10], ids=["dense keys", "sparse keys"])
async def test_inserted_and_updated_count_each_key_once(
    client: DataManagerClient, spacing: int
) -> None:
    symbol = unique_symbol()
    step = 5 * MINUTE * spacing  # sparse batches are counted with an IN list, dense with a range

    async def write(batch: list[list[Any]]) -> tuple[int, int, int]:
        result = await client.insert_klines(symbol, "5m", batch)
        return result.received, result.inserted, result.updated

    assert await write(rows(0, 100, step)) == (100, 100, 0)
    assert await write(rows(0, 100, step)) == (100, 0, 100)
    assert await write(rows(50, 100, step)) == (100, 50, 50)  # half over the stored rows
    repeated = rows(140, 20, step) + rows(140, 20, step)  # 140-149 stored, 150-159 new
    assert await write(repeated) == (40, 10, 10)
    stored = await client.get_candles(symbol, "5m", limit=1_000, order="asc")
    assert [k.open_time for k in stored] == [BASE_TIME + i * step for i in range(160)]


async def test_trade_and_funding_counts_on_half_overlapping_batches(
    client: DataManagerClient,
) -> None:
    symbol = unique_symbol()

    def trades(first: int, count: int) -> list[Trade]:
        return [
            Trade(trade_id=i, price=100.0 + i, quantity=1.0, time=BASE_TIME + i,
                  is_buyer_maker=i % 3 == 0)
            for i in range(first, first + count)
        ]  # fmt: skip

    def rates(first: int, count: int) -> list[FundingRate]:
        return [
            FundingRate(funding_time=BASE_TIME + i * 8 * 3_600_000, funding_rate=0.0001 * i)
            for i in range(first, first + count)
        ]

    first = await client.insert_trades(symbol, trades(0, 60))
    overlap = await client.insert_trades(symbol, trades(30, 60))
    assert (first.inserted, first.updated) == (60, 0)
    assert (overlap.inserted, overlap.updated) == (30, 30)
    assert len(await client.get_trades(symbol, limit=1_000)) == 90
    first_rates = await client.insert_funding_rates(symbol, rates(0, 20))
    overlap_rates = await client.insert_funding_rates(symbol, rates(10, 20))
    assert (first_rates.inserted, first_rates.updated) == (20, 0)
    assert (overlap_rates.inserted, overlap_rates.updated) == (10, 10)
    assert len(await client.get_funding_rates(symbol, limit=1_000)) == 30


BIGINT_OVERFLOW = 2**63


@pytest.mark.parametrize(
    ("path", "rows_key", "row", "loc"),
    [
        ("/data/klines", "klines", {"field": 8}, ["body", "klines", 1, "trades"]),
        (
            "/data/trades",
            "trades",
            {"trade_id": BIGINT_OVERFLOW},
            ["body", "trades", 1, "trade_id"],
        ),
        (
            "/data/trades",
            "trades",
            {"last_trade_id": BIGINT_OVERFLOW},
            ["body", "trades", 1, "last_trade_id"],
        ),
    ],
)
async def test_counts_and_ids_past_64_bits_are_422_and_write_nothing(
    dm_url: str, path: str, rows_key: str, row: dict[str, Any], loc: list[Any]
) -> None:
    symbol = unique_symbol()
    if rows_key == "klines":
        items: list[Any] = rows(0, 3)
        items[1][row["field"]] = BIGINT_OVERFLOW
        body: dict[str, Any] = {"symbol": symbol, "interval": "5m", "klines": items}
    else:
        good = {"trade_id": 1, "price": 1.0, "quantity": 1.0, "time": BASE_TIME,
                "is_buyer_maker": False}  # fmt: skip
        body = {"symbol": symbol, "trades": [good, {**good, "trade_id": 2, **row}]}
    async with httpx.AsyncClient(base_url=dm_url) as http:
        response = await http.post(path, content=orjson.dumps(body))
        assert response.status_code == 422, response.text
        assert loc in [e["loc"] for e in response.json()["detail"]]
    async with DataManagerClient(dm_url) as dm:
        assert await dm.get_candles(symbol, "5m") == []
        assert await dm.get_trades(symbol) == []
