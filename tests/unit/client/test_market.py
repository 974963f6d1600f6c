"""Market-data calls: chunked writes with summed results, paged reads, parameters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from petrosa.client import DEFAULT_CHUNK_ROWS, MAX_BATCH_ROWS, DecodingError, Page
from petrosa.contracts import FundingRate, Interval, Kline, Market, Trade, WriteResult
from tests.unit.client.conftest import MakeClient, Scripted, json_body

MINUTE_MS = 60_000
T0 = 1_700_000_000_000


def kline(index: int) -> Kline:
    open_time = T0 + index * MINUTE_MS
    return Kline(
        open_time=open_time,
        open=100.0,
        high=101.5,
        low=99.25,
        close=100.5,
        volume=3.0,
        close_time=open_time + MINUTE_MS - 1,
        quote_volume=301.5,
        trades=7,
        taker_buy_base_volume=1.0,
        taker_buy_quote_volume=100.5,
    )


def kline_object(index: int) -> dict[str, Any]:
    return kline(index).model_dump()


def upsert_server(key: str) -> Scripted:
    """Answers writes like the Data Manager: every even row new, every odd one updated."""

    def answer(request: httpx.Request) -> httpx.Response:
        rows = json_body(request)[key]
        updated = len(rows) // 2
        return httpx.Response(
            200, json={"received": len(rows), "inserted": len(rows) - updated, "updated": updated}
        )

    return Scripted(then=answer)


def page_server(key: str, pages: list[tuple[list[Any], str | None]]) -> Scripted:
    steps = [
        httpx.Response(200, json={key: items, "next_cursor": cursor}) for items, cursor in pages
    ]
    return Scripted(*steps)


async def test_large_kline_write_is_split_and_summed(make_client: MakeClient) -> None:
    server = upsert_server("klines")
    client = make_client(server)
    rows = [kline(index).to_binance() for index in range(12_345)]

    result = await client.insert_klines("BTCUSDT", Interval.M1, rows)

    sizes = [len(json_body(request)["klines"]) for request in server.requests]
    assert all(size <= DEFAULT_CHUNK_ROWS for size in sizes)
    assert sum(sizes) == 12_345
    assert len(sizes) == 13
    updated = sum(size // 2 for size in sizes)
    assert result == WriteResult(received=12_345, inserted=12_345 - updated, updated=updated)
    sent = [row for request in server.requests for row in json_body(request)["klines"]]
    assert sent == rows


async def test_kline_write_body(make_client: MakeClient) -> None:
    server = upsert_server("klines")
    client = make_client(server)
    raw = kline(1).to_binance()

    await client.insert_klines("ETHUSDT", "5m", [kline(0), raw, kline_object(2)])

    request = server.requests[0]
    assert request.method == "POST"
    assert request.url.path == "/data/klines"
    assert dict(request.url.params) == {"market": "futures"}  # the default
    assert json_body(request) == {
        "symbol": "ETHUSDT",
        "interval": "5m",
        "klines": [kline(0).to_binance(), raw, kline_object(2)],
    }


async def test_writes_stream_from_a_generator(make_client: MakeClient) -> None:
    server = upsert_server("klines")
    client = make_client(server)
    produced: list[int] = []

    def rows() -> Iterator[Kline]:
        for index in range(25):
            produced.append(index)
            yield kline(index)

    result = await client.insert_klines("BTCUSDT", "1m", rows(), chunk_rows=10)
    assert result.received == 25
    assert [len(json_body(request)["klines"]) for request in server.requests] == [10, 10, 5]


async def test_empty_write_sends_nothing(make_client: MakeClient) -> None:
    server = upsert_server("klines")
    client = make_client(server)

    assert await client.insert_klines("BTCUSDT", "1m", []) == WriteResult(
        received=0, inserted=0, updated=0
    )
    assert server.count == 0


@pytest.mark.parametrize("chunk_rows", [0, MAX_BATCH_ROWS + 1])
async def test_chunks_the_server_would_refuse_are_refused(
    make_client: MakeClient, chunk_rows: int
) -> None:
    client = make_client(upsert_server("klines"))

    with pytest.raises(ValueError, match="chunk_rows"):
        await client.insert_klines("BTCUSDT", "1m", [kline(0)], chunk_rows=chunk_rows)


async def test_trade_and_funding_writes(make_client: MakeClient) -> None:
    trades = [
        Trade(trade_id=index, price=1.5, quantity=2.0, time=T0 + index, is_buyer_maker=False)
        for index in range(7)
    ]
    rates = [FundingRate(funding_time=T0 + index, funding_rate=0.0001) for index in range(5)]
    trade_server, funding_server = upsert_server("trades"), upsert_server("rates")

    traded = await make_client(trade_server).insert_trades("BTCUSDT", trades, chunk_rows=3)
    funded = await make_client(funding_server).insert_funding_rates("BTCUSDT", rates, chunk_rows=3)

    assert traded == WriteResult(received=7, inserted=5, updated=2)
    assert funded == WriteResult(received=5, inserted=3, updated=2)
    first = json_body(trade_server.requests[0])
    assert trade_server.requests[0].url.path == "/data/trades"
    assert first["symbol"] == "BTCUSDT"
    assert first["trades"][0] == trades[0].model_dump()
    assert funding_server.requests[0].url.path == "/data/funding"
    assert json_body(funding_server.requests[1])["rates"] == [
        rate.model_dump() for rate in rates[3:]
    ]


async def test_get_candles_sends_the_query_and_parses_a_page(make_client: MakeClient) -> None:
    server = page_server("candles", [([kline_object(1), kline_object(0)], "c2")])
    client = make_client(server)
    start = dt.datetime.fromtimestamp(T0 / 1000, tz=dt.UTC)

    page = await client.get_candles(
        "BTCUSDT", Interval.H1, limit=2, start=start, end=T0 + 10 * MINUTE_MS
    )

    assert isinstance(page, Page)
    assert page == [kline(1), kline(0)]
    assert page.next_cursor == "c2"
    query = dict(server.requests[0].url.params)
    assert query == {
        "pair": "BTCUSDT",
        "period": "1h",
        "market": "futures",
        "limit": "2",
        "start": str(T0),
        "end": str(T0 + 10 * MINUTE_MS),
        "order": "desc",
    }


async def test_iter_candles_follows_the_cursor(make_client: MakeClient) -> None:
    pages = [([kline_object(0), kline_object(1)], "a"), ([kline_object(2)], "b"), ([], None)]
    server = page_server("candles", pages)
    client = make_client(server)

    candles = [
        candle async for candle in client.iter_candles("BTCUSDT", "1m", order="asc", page_size=2)
    ]

    assert candles == [kline(0), kline(1), kline(2)]
    cursors = [request.url.params.get("cursor") for request in server.requests]
    assert cursors == [None, "a", "b"]
    assert {request.url.params["limit"] for request in server.requests} == {"2"}
    assert {request.url.params["order"] for request in server.requests} == {"asc"}


async def test_latest_kline(make_client: MakeClient) -> None:
    server = page_server("candles", [([kline_object(9)], "x"), ([], None)])
    client = make_client(server)

    assert await client.get_latest_kline("BTCUSDT", "1m") == kline(9)
    assert await client.get_latest_kline("BTCUSDT", "1m") is None
    assert server.requests[0].url.params["limit"] == "1"
    assert "start" not in server.requests[0].url.params


async def test_coverage(make_client: MakeClient) -> None:
    body = {
        "symbol": "BTCUSDT",
        "interval": "1m",
        "start": T0,
        "end": T0 + 5 * MINUTE_MS,
        "first_open_time": T0,
        "last_open_time": T0 + 4 * MINUTE_MS,
        "count": 3,
        "expected": 5,
        "gaps": [{"start": T0 + MINUTE_MS, "end": T0 + 2 * MINUTE_MS, "missing": 2}],
    }
    server = Scripted(then=httpx.Response(200, json=body))
    client = make_client(server)

    coverage = await client.get_coverage("BTCUSDT", "1m", start=T0, end=T0 + 5 * MINUTE_MS)
    assert coverage.interval is Interval.M1
    assert coverage.market is Market.FUTURES  # absent from older servers' answers
    assert coverage.gaps[0].missing == 2
    assert server.requests[0].url.path == "/data/klines/coverage"
    assert dict(server.requests[0].url.params) == {
        "market": "futures",
        "symbol": "BTCUSDT",
        "interval": "1m",
        "start": str(T0),
        "end": str(T0 + 5 * MINUTE_MS),
    }


async def test_trade_and_funding_reads(make_client: MakeClient) -> None:
    trade = Trade(trade_id=5, price=1.5, quantity=2.0, time=T0, is_buyer_maker=True)
    rate = FundingRate(funding_time=T0, funding_rate=-0.0002, mark_price=65_000.0)
    trade_server = page_server("trades", [([trade.model_dump()], "n"), ([], None)])
    funding_server = page_server("rates", [([rate.model_dump()], None)])
    trades_client, funding_client = make_client(trade_server), make_client(funding_server)

    page = await trades_client.get_trades("BTCUSDT", limit=1, order="asc")
    assert page == [trade]
    assert page.next_cursor == "n"
    assert [item async for item in trades_client.iter_trades("BTCUSDT", start=T0)] == []
    assert await funding_client.get_funding_rates("BTCUSDT") == [rate]
    assert trade_server.requests[0].url.path == "/data/trades"
    assert funding_server.requests[0].url.params["symbol"] == "BTCUSDT"
    assert {r.url.params["market"] for r in trade_server.requests} == {"futures"}
    assert "market" not in funding_server.requests[0].url.params  # funding is futures-only


async def test_every_kline_and_trade_call_passes_the_market(make_client: MakeClient) -> None:
    answer = {"received": 1, "inserted": 1, "updated": 0, "candles": [], "trades": []}
    server = Scripted(then=httpx.Response(200, json=answer))
    client = make_client(server)
    spot = Market.SPOT
    trade = Trade(trade_id=5, price=1.5, quantity=2.0, time=T0, is_buyer_maker=True)

    await client.insert_klines("BTCUSDT", "1m", [kline(0)], market=spot)
    await client.get_candles("BTCUSDT", "1m", market="spot")
    assert await client.get_latest_kline("BTCUSDT", "1m", market=spot) is None
    assert [k async for k in client.iter_candles("BTCUSDT", "1m", market=spot)] == []
    await client.insert_trades("BTCUSDT", [trade], market=spot)
    await client.get_trades("BTCUSDT", market=spot)
    assert [t async for t in client.iter_trades("BTCUSDT", market=spot)] == []

    assert [request.url.params.get("market") for request in server.requests] == ["spot"] * 7


async def test_iter_funding_rates(make_client: MakeClient) -> None:
    rates = [FundingRate(funding_time=T0 + index, funding_rate=0.0) for index in range(3)]
    server = page_server(
        "rates", [([rates[0].model_dump()], "p"), ([r.model_dump() for r in rates[1:]], None)]
    )
    client = make_client(server)

    assert [rate async for rate in client.iter_funding_rates("BTCUSDT")] == rates


async def test_naive_datetimes_are_refused(make_client: MakeClient) -> None:
    client = make_client(Scripted())

    with pytest.raises(ValueError, match="timezone-aware"):
        await client.get_candles("BTCUSDT", "1m", start=dt.datetime(2024, 1, 1))


async def test_unexpected_answer_shape_is_a_decoding_error(make_client: MakeClient) -> None:
    client = make_client(Scripted(then=httpx.Response(200, json={"candles": [{"open": "x"}]})))

    with pytest.raises(DecodingError, match="candles"):
        await client.get_candles("BTCUSDT", "1m")
