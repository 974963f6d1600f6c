"""Spot and futures klines and trades of the same symbol, stored side by side.

Servers: the session's Data Manager process on a SQLite file, MariaDB and PostgreSQL (the
``client``/``raw`` fixtures); the migration test makes its own database on each backend and
starts its own Data Manager on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import inspect, text

from petrosa.client import DataManagerClient
from petrosa.contracts import Kline, Market, Trade
from petrosa.datamanager.settings import DataManagerSettings
from petrosa.datamanager.storage.database import Database
from tests.integration.test_market_data import BASE_TIME, MINUTE, binance_row, unique_symbol
from tests.support.migrations import migrate
from tests.support.server import start_data_manager
from tests.support.services import ThrowawayDatabase

pytestmark = pytest.mark.integration

SPOT, FUTURES = Market.SPOT, Market.FUTURES
STEP = 5 * MINUTE
BEFORE_MARKETS = "0004_position_fence"


def klines_at(indexes: range | list[int], price: float) -> list[Kline]:
    return [Kline.from_binance(binance_row(BASE_TIME + i * STEP, price=price + i)) for i in indexes]


def trades_from(first_id: int, count: int, price: float) -> list[Trade]:
    return [
        Trade(trade_id=first_id + i, price=price + i, quantity=0.5 + i, time=BASE_TIME + i * 100,
              is_buyer_maker=i % 2 == 1, first_trade_id=10 * i, last_trade_id=10 * i + 3)
        for i in range(count)
    ]  # fmt: skip


async def test_klines_of_both_markets_live_side_by_side(client: DataManagerClient) -> None:
    symbol = unique_symbol()
    futures = klines_at(range(20), price=100.0)
    spot = klines_at([*range(10), *range(15, 20)], price=500.0)  # same open times, 5 missing
    assert (await client.insert_klines(symbol, "5m", futures, market=FUTURES)).inserted == 20
    # the newest futures page is now cached; a spot write must neither touch nor stale it
    assert await client.get_latest_kline(symbol, "5m") == futures[-1]
    written = await client.insert_klines(symbol, "5m", spot, market=SPOT)
    assert (written.inserted, written.updated) == (15, 0)  # new rows, nothing overwritten

    assert await client.get_candles(symbol, "5m", limit=100, order="asc", market=SPOT) == spot
    assert await client.get_candles(symbol, "5m", limit=100, order="asc") == futures  # default
    assert await client.get_latest_kline(symbol, "5m", market=FUTURES) == futures[-1]
    assert await client.get_latest_kline(symbol, "5m", market=SPOT) == spot[-1]
    pages = [k async for k in client.iter_candles(symbol, "5m", page_size=4, market=SPOT)]
    assert pages == spot[::-1]

    spot_cover = await client.get_coverage(symbol, "5m", market=SPOT)
    futures_cover = await client.get_coverage(symbol, "5m")
    assert (spot_cover.market, spot_cover.count, futures_cover.market) == (SPOT, 15, FUTURES)
    assert [(g.start, g.missing) for g in spot_cover.gaps] == [(BASE_TIME + 10 * STEP, 5)]
    assert (futures_cover.count, futures_cover.gaps) == (20, [])


async def test_trades_with_the_same_ids_live_side_by_side(client: DataManagerClient) -> None:
    symbol = unique_symbol()
    futures, spot = trades_from(7_000, 12, price=30_000.0), trades_from(7_000, 8, price=29_990.5)
    assert (await client.insert_trades(symbol, futures)).inserted == 12
    assert (await client.insert_trades(symbol, spot, market=SPOT)).inserted == 8

    assert await client.get_trades(symbol, limit=100, order="asc", market=SPOT) == spot
    assert await client.get_trades(symbol, limit=100, order="asc", market=FUTURES) == futures
    assert await client.get_trades(symbol, limit=100, order="asc") == futures
    assert [t async for t in client.iter_trades(symbol, page_size=3, market=SPOT)] == spot[::-1]


async def test_responses_name_the_market(raw: httpx.AsyncClient) -> None:
    symbol = unique_symbol()
    body = {"symbol": symbol, "interval": "5m", "klines": [binance_row(BASE_TIME)]}
    assert (await raw.post("/data/klines", json=body, params={"market": "spot"})).status_code == 200
    spot = (await raw.get("/data/candles", params={"pair": symbol, "period": "5m",
                                                     "market": "spot"})).json()  # fmt: skip
    default = (await raw.get("/data/candles", params={"pair": symbol, "period": "5m"})).json()
    assert (spot["market"], len(spot["candles"])) == ("spot", 1)
    assert (default["market"], default["candles"]) == ("futures", [])
    trades = (await raw.get("/data/trades", params={"symbol": symbol, "market": "spot"})).json()
    assert (trades["market"], trades["trades"]) == ("spot", [])


KLINE_BODY = {"symbol": "BTCUSDT", "interval": "5m", "klines": []}
TRADE_BODY = {"symbol": "BTCUSDT", "trades": []}


@pytest.mark.parametrize(
    ("method", "path", "params", "body"),
    [
        ("POST", "/data/klines", {}, KLINE_BODY),
        ("GET", "/data/candles", {"pair": "BTCUSDT", "period": "5m"}, None),
        ("GET", "/data/klines/coverage", {"symbol": "BTCUSDT", "interval": "5m"}, None),
        ("POST", "/data/trades", {}, TRADE_BODY),
        ("GET", "/data/trades", {"symbol": "BTCUSDT"}, None),
    ],
)
async def test_an_unknown_market_is_422_naming_the_field(
    raw: httpx.AsyncClient, method: str, path: str, params: dict[str, str], body: Any
) -> None:
    for market in ("options", "SPOT", ""):
        response = await raw.request(method, path, params={**params, "market": market}, json=body)
        assert response.status_code == 422, (path, market)
        assert ["query", "market"] in [e["loc"] for e in response.json()["detail"]]


# --- migration from 0004 -------------------------------------------------------------------

OLD_KLINE = (
    "INSERT INTO klines (symbol, {interval}, open_time, open, high, low, close, volume, "
    "close_time, quote_volume, trades, taker_buy_base_volume, taker_buy_quote_volume) "
    "VALUES ('MIGRUSDT', '5m', :t, 100.0, 102.0, 99.0, 101.0, 12.5, :c, 1250.75, 42, "
    "6.25, 625.5)"
)
OLD_TRADE = (
    "INSERT INTO trades (symbol, trade_id, price, quantity, time, is_buyer_maker) "
    "VALUES ('MIGRUSDT', :i, 50.5, 2.0, :t, :m)"
)


async def columns(db: Database, table: str) -> list[str]:
    async with db.read() as conn:
        names: list[str] = await conn.run_sync(
            lambda sync_conn: [column["name"] for column in inspect(sync_conn).get_columns(table)]
        )
    return names


async def test_upgrade_from_0004_makes_stored_rows_futures(
    fresh_database: ThrowawayDatabase, tmp_path: Path
) -> None:
    db = Database(DataManagerSettings(database_url=SecretStr(fresh_database.url)))
    try:
        await migrate(db, BEFORE_MARKETS)
        assert "market" not in await columns(db, "klines")
        interval = "`interval`" if fresh_database.backend == "mariadb" else '"interval"'
        async with db.write() as conn:
            for i in range(3):
                t = BASE_TIME + i * STEP
                await conn.execute(
                    text(OLD_KLINE.format(interval=interval)), {"t": t, "c": t + STEP - 1}
                )
            for i in range(4):
                await conn.execute(text(OLD_TRADE), {"i": 900 + i, "t": BASE_TIME + i, "m": i == 1})

        server = start_data_manager(fresh_database.url, tmp_path)  # migrates to head
        try:
            async with DataManagerClient(server.base_url) as client:
                old = await client.get_candles("MIGRUSDT", "5m", order="asc", market=FUTURES)
                assert [k.open_time for k in old] == [BASE_TIME + i * STEP for i in range(3)]
                assert old[0] == Kline.from_binance(binance_row(BASE_TIME))
                assert await client.get_candles("MIGRUSDT", "5m", market=SPOT) == []
                old_trades = await client.get_trades("MIGRUSDT", order="asc")
                assert [(t.trade_id, t.is_buyer_maker) for t in old_trades] == [
                    (900, False), (901, True), (902, False), (903, False)
                ]  # fmt: skip

                # the new key: a spot row with an old row's key is a row of its own
                spot = klines_at(range(1), price=7.0)
                written = await client.insert_klines("MIGRUSDT", "5m", spot, market=SPOT)
                assert (written.inserted, written.updated) == (1, 0)
                again = await client.insert_klines("MIGRUSDT", "5m", old[:1], market=FUTURES)
                assert (again.inserted, again.updated) == (0, 1)  # the futures key holds
                assert await client.get_candles("MIGRUSDT", "5m", order="asc") == old
                trade = trades_from(900, 1, price=1.0)
                assert (await client.insert_trades("MIGRUSDT", trade, market=SPOT)).inserted == 1
                assert await client.get_trades("MIGRUSDT", order="asc") == old_trades
        finally:
            server.stop()

        # downgrading would merge the markets: refused while spot rows exist
        with pytest.raises(RuntimeError, match="markets other than 'futures'"):
            await migrate(db, BEFORE_MARKETS, down=True)
        async with db.write() as conn:
            await conn.execute(text("DELETE FROM klines WHERE market = 'spot'"))
            await conn.execute(text("DELETE FROM trades WHERE market = 'spot'"))
        await migrate(db, BEFORE_MARKETS, down=True)
        assert "market" not in await columns(db, "klines")
        assert "market" not in await columns(db, "trades")
        async with db.read() as conn:
            kept = (await conn.execute(text("SELECT COUNT(*) FROM klines"))).scalar_one()
            kept_trades = (await conn.execute(text("SELECT COUNT(*) FROM trades"))).scalar_one()
        assert (kept, kept_trades) == (3, 4)
    finally:
        await db.dispose()
