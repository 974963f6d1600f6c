"""Pure logic of the market-data path: batch parsing, cursors, cache, grid alignment, SQL."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.exceptions import RequestValidationError
from sqlalchemy.dialects.mysql.aiomysql import dialect as aiomysql_dialect
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.dialects.sqlite.aiosqlite import dialect as aiosqlite_dialect

from petrosa.contracts import Interval
from petrosa.contracts.market import WEEK_PHASE_MS
from petrosa.datamanager.errors import InvalidInput
from petrosa.datamanager.market.cache import CandleCache
from petrosa.datamanager.market.coverage import align_down, align_up
from petrosa.datamanager.market.ingest import KLINE_FIELDS, parse_kline_batch
from petrosa.datamanager.market.series import decode_cursor, encode_cursor
from petrosa.datamanager.storage.market_schema import klines
from petrosa.datamanager.storage.statements import prepare_insert_if_absent, prepare_upsert
from petrosa.datamanager.storage.urls import UnsupportedDatabaseURL, async_url, redacted

ROW = [0, "1", "2", "0.5", "1.5", "10", 59_999, "15", 3, "5", "7", "0"]


def body(klines: list[Any], **envelope: Any) -> bytes:
    return orjson.dumps({"symbol": "BTCUSDT", "interval": "1m", "klines": klines, **envelope})


def test_parses_arrays_and_objects_into_tuples() -> None:
    as_object = dict(
        zip(
            ["open_time", "open", "high", "low", "close", "volume", "close_time",
             "quote_volume", "trades", "taker_buy_base_volume", "taker_buy_quote_volume"],
            [60_000, 1, 2, 0.5, 1.5, 10, 119_999, 15, 3, 5, 7],
            strict=True,
        )
    )  # fmt: skip
    symbol, interval, rows = parse_kline_batch(body([ROW, as_object]))
    assert (symbol, interval) == ("BTCUSDT", Interval.M1)
    assert rows == [
        (0, 1.0, 2.0, 0.5, 1.5, 10.0, 59_999, 15.0, 3, 5.0, 7.0),
        (60_000, 1.0, 2.0, 0.5, 1.5, 10.0, 119_999, 15.0, 3, 5.0, 7.0),
    ]


@pytest.mark.parametrize(
    ("index", "value", "field"),
    [(1, "nan", "open"), (2, "-1", "high"), (6, -5, "close_time"), (8, 1.5, "trades")],
)
def test_schema_errors_name_the_kline_field(index: int, value: Any, field: str) -> None:
    bad = list(ROW)
    bad[index] = value
    with pytest.raises(RequestValidationError) as caught:
        parse_kline_batch(body([ROW, bad]))
    assert caught.value.errors()[0]["loc"] == ["body", "klines", 1, field]


@pytest.mark.parametrize(
    ("index", "value", "field"),
    [(2, "0.4", "high"), (1, "3", "open"), (4, "0.1", "close"), (6, 0, "close_time")],
)
def test_cross_field_rules(index: int, value: Any, field: str) -> None:
    bad = list(ROW)
    bad[0] = 1
    bad[index] = value
    with pytest.raises(InvalidInput) as caught:
        parse_kline_batch(body([bad]))
    assert caught.value.loc == ["body", "klines", 0, field]


@pytest.mark.parametrize(
    ("interval", "open_times", "off_grid"),
    [
        ("1m", [0, 60_000, 120_001, 180_000], 2),
        ("1w", [WEEK_PHASE_MS, WEEK_PHASE_MS + 604_800_000, 604_800_000 * 3], 2),
        ("1M", [0, 2_678_400_000, 2_678_400_000 + 86_400_000], 2),  # Jan 1, Feb 1, Feb 2
    ],
)
def test_the_first_kline_off_the_candle_grid_is_named(
    interval: str, open_times: list[int], off_grid: int
) -> None:
    rows = [[t, *ROW[1:6], t + 59_999, *ROW[7:]] for t in open_times]
    with pytest.raises(InvalidInput) as caught:
        parse_kline_batch(body(rows, interval=interval))
    assert caught.value.loc == ["body", "klines", off_grid, "open_time"]
    on_grid = rows[:off_grid]
    assert [row[0] for row in parse_kline_batch(body(on_grid, interval=interval))[2]] == (
        open_times[:off_grid]
    )


def test_a_broken_cross_field_rule_is_named_before_an_earlier_row_off_the_grid() -> None:
    off_grid = [1, *ROW[1:6], 60_000, *ROW[7:]]
    high_below_low = [60_000, *ROW[1:2], "0.4", *ROW[3:6], 119_999, *ROW[7:]]
    with pytest.raises(InvalidInput) as caught:
        parse_kline_batch(body([off_grid, high_below_low]))
    assert caught.value.loc == ["body", "klines", 1, "high"]


def test_an_all_array_batch_and_the_same_batch_with_objects_give_the_same_rows() -> None:
    arrays = [[i * 60_000, *ROW[1:6], i * 60_000 + 59_999, *ROW[7:]] for i in range(50)]
    mixed: list[Any] = list(arrays)
    mixed[17] = dict(zip(KLINE_FIELDS[:11], arrays[17][:11], strict=True))
    assert parse_kline_batch(body(arrays)) == parse_kline_batch(body(mixed))


def test_every_bad_row_of_an_array_batch_is_named() -> None:
    bad_open, bad_trades = list(ROW), list(ROW)
    bad_open[1] = "x"
    bad_trades[8] = -1
    with pytest.raises(RequestValidationError) as caught:
        parse_kline_batch(body([ROW, bad_open, ROW, bad_trades]))
    locs = [e["loc"] for e in caught.value.errors()]
    assert locs == [["body", "klines", 1, "open"], ["body", "klines", 3, "trades"]]


def test_a_broken_envelope_is_named_whatever_the_rows() -> None:
    with pytest.raises(RequestValidationError) as caught:
        parse_kline_batch(body([ROW], symbol="btc", extra=1))
    locs = [e["loc"] for e in caught.value.errors()]
    assert locs == [["body", "symbol"], ["body", "extra"]]


@pytest.mark.parametrize(("index", "value", "field"), [(2, "0.4", "high"), (6, 0, "close_time")])
def test_cross_field_rules_name_the_first_bad_row_after_good_ones(
    index: int, value: Any, field: str
) -> None:
    rows = [[i * 60_000, *ROW[1:6], i * 60_000 + 59_999, *ROW[7:]] for i in range(10)]
    rows[6][index] = value
    rows[8][2] = "0.1"
    with pytest.raises(InvalidInput) as caught:
        parse_kline_batch(body(rows))
    assert caught.value.loc == ["body", "klines", 6, field]


def test_batch_size_is_capped() -> None:
    with pytest.raises(RequestValidationError) as caught:
        parse_kline_batch(body([ROW] * 5_001))
    assert caught.value.errors()[0]["loc"] == ["body", "klines"]


def test_cursor_round_trip_and_rejection() -> None:
    assert decode_cursor(encode_cursor("desc", 123_456), "desc") == 123_456
    with pytest.raises(InvalidInput):
        decode_cursor(encode_cursor("desc", 1), "asc")  # a cursor of another listing
    with pytest.raises(InvalidInput):
        decode_cursor("%%%", "asc")


def test_cache_serves_until_ttl_and_drops_on_write() -> None:
    now = [0.0]
    cache = CandleCache(ttl_s=1.0, clock=lambda: now[0])
    series = ("futures", "BTCUSDT", "1m")
    cache.put(series, (100, "objects"), b"a", cache.generation(series))
    assert cache.get(series, (100, "objects")) == b"a"
    now[0] = 1.5
    assert cache.get(series, (100, "objects")) is None
    cache.put(series, (100, "objects"), b"b", cache.generation(series))
    cache.invalidate(series)
    assert cache.get(series, (100, "objects")) is None


def test_cache_refuses_an_answer_computed_before_a_write() -> None:
    cache = CandleCache(ttl_s=10.0)
    series = ("futures", "BTCUSDT", "1m")
    generation = cache.generation(series)
    cache.invalidate(series)  # a write finished while the read was running
    cache.put(series, (1, "objects"), b"stale", generation)
    assert cache.get(series, (1, "objects")) is None


def test_disabled_cache_stores_nothing() -> None:
    cache = CandleCache(ttl_s=0)
    cache.put(("futures", "A", "1m"), 1, b"x", 0)
    assert cache.get(("futures", "A", "1m"), 1) is None


def test_grid_alignment() -> None:
    monday_1970_01_05 = 4 * 86_400_000
    step = Interval.H1.milliseconds
    assert step == 3_600_000
    assert align_up(1, step, 0) == step
    assert align_up(step, step, 0) == step
    assert align_down(step - 1, step, 0) == 0
    assert Interval.W1.phase_ms == WEEK_PHASE_MS
    assert Interval.W1.floor(monday_1970_01_05 + 5) == Interval.W1.ceil(5)
    assert Interval.H1.floor(7_199_999) == 3_600_000
    assert Interval.H1.ceil(3_600_001) == 7_200_000
    assert Interval.H1.ceil(3_600_000) == 3_600_000
    week = Interval.W1.milliseconds
    assert week is not None
    assert align_up(1, week, WEEK_PHASE_MS) == monday_1970_01_05
    assert Interval.MO1.milliseconds is None


@pytest.mark.parametrize(
    ("dialect", "fragment"),
    [
        (aiosqlite_dialect(), "ON CONFLICT (market, symbol, interval, open_time) DO UPDATE"),
        (asyncpg_dialect(), "ON CONFLICT (market, symbol, interval, open_time) DO UPDATE"),  # type: ignore[no-untyped-call]
        (aiomysql_dialect(), "ON DUPLICATE KEY UPDATE"),
    ],
)
def test_upsert_uses_each_dialects_native_form(dialect: Any, fragment: str) -> None:
    key = ["market", "symbol", "interval", "open_time"]
    statement = prepare_upsert(klines, dialect, key_columns=key, update_columns=["close"])
    assert fragment in statement.sql
    assert statement.columns == ("market", "symbol", "interval", "open_time", "close")
    ignore = prepare_insert_if_absent(klines, dialect, columns=key, key_columns=["market"])
    assert "IGNORE" not in ignore.sql.upper()


def test_urls_map_to_async_drivers_and_hide_passwords(tmp_path: Any) -> None:
    assert async_url("mysql://u:pw@h/db").drivername == "mysql+aiomysql"
    assert async_url("mariadb://u@h/db").drivername == "mysql+aiomysql"
    assert async_url("postgresql://u@h/db").drivername == "postgresql+asyncpg"
    assert async_url(f"sqlite:///{tmp_path}/x.db").drivername == "sqlite+aiosqlite"
    assert "pw" not in redacted(async_url("postgresql://u:pw@h/db"))
    with pytest.raises(UnsupportedDatabaseURL):
        async_url("oracle://h/db")
    with pytest.raises(UnsupportedDatabaseURL):
        async_url("sqlite://")
