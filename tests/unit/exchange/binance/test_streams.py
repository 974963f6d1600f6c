"""The stream table shared by the simulator and the socket client."""

from __future__ import annotations

import pytest

from petrosa.exchange.binance.streams import (
    Route,
    StreamKind,
    UnknownStreamError,
    parse_stream,
    parse_stream_type,
)


@pytest.mark.parametrize(
    ("market", "text", "name", "subject", "route", "cadence_ms"),
    [
        ("spot", "kline_1m", "btcusdt@kline_1m", "binance.spot.kline_1m.BTCUSDT", Route.SPOT, 2000),
        ("futures", "kline_5m", "btcusdt@kline_5m", "binance.futures.kline_5m.BTCUSDT",
         Route.MARKET, 250),
        ("futures", "aggTrade", "btcusdt@aggTrade", "binance.futures.aggTrade.BTCUSDT",
         Route.MARKET, None),
        ("spot", "trade", "btcusdt@trade", "binance.spot.trade.BTCUSDT", Route.SPOT, None),
        ("futures", "depth", "btcusdt@depth", "binance.futures.depth.BTCUSDT", Route.PUBLIC, 250),
        ("futures", "depth@100ms", "btcusdt@depth@100ms", "binance.futures.depth_100ms.BTCUSDT",
         Route.PUBLIC, 100),
        ("spot", "depth", "btcusdt@depth", "binance.spot.depth.BTCUSDT", Route.SPOT, 1000),
        ("spot", "depth20@100ms", "btcusdt@depth20@100ms",
         "binance.spot.depth20_100ms.BTCUSDT", Route.SPOT, 100),
        ("futures", "depth5@500ms", "btcusdt@depth5@500ms",
         "binance.futures.depth5_500ms.BTCUSDT", Route.PUBLIC, 500),
        ("futures", "bookTicker", "btcusdt@bookTicker", "binance.futures.bookTicker.BTCUSDT",
         Route.PUBLIC, None),
        ("futures", "markPrice", "btcusdt@markPrice", "binance.futures.markPrice.BTCUSDT",
         Route.MARKET, 3000),
        ("futures", "markPrice@1s", "btcusdt@markPrice@1s",
         "binance.futures.markPrice_1s.BTCUSDT", Route.MARKET, 1000),
    ],
)  # fmt: skip
def test_every_stream_has_one_name_subject_route_and_cadence(
    market: str, text: str, name: str, subject: str, route: Route, cadence_ms: int | None
) -> None:
    stream = parse_stream_type(text, market).on("BTCUSDT")
    assert (stream.name, stream.subject, stream.type.route) == (name, subject, route)
    assert stream.type.cadence_ms == cadence_ms
    assert parse_stream(name, market) == stream


def test_futures_routes_depth_and_book_ticker_to_public_and_the_rest_to_market() -> None:
    public = {"depth", "depth10", "bookTicker"}
    for text in ["depth", "depth10", "bookTicker", "aggTrade", "kline_1h", "markPrice"]:
        expected = Route.PUBLIC if text in public else Route.MARKET
        assert parse_stream_type(text, "futures").route is expected, text
    assert Route.PUBLIC.path_prefix == "/public"
    assert Route.SPOT.path_prefix == ""


@pytest.mark.parametrize(
    ("market", "text", "says"),
    [
        ("spot", "markPrice", "does not exist on spot"),
        ("futures", "trade", "does not exist on futures"),
        ("futures", "kline_7m", "no kline interval"),
        ("spot", "kline_1s", "no kline interval"),
        ("spot", "depth15", "5, 10 or 20"),
        ("spot", "depth@500ms", "no such update speed"),
        ("futures", "markPrice@1000ms", "write it as 'markPrice@1s'"),
        ("futures", "fundingRate", "does not exist"),
        ("futures", "AGGTRADE", "does not exist"),
        ("futures", "", "does not exist"),
    ],
)
def test_a_stream_that_does_not_exist_is_refused_with_a_readable_reason(
    market: str, text: str, says: str
) -> None:
    with pytest.raises(UnknownStreamError, match=says.replace("(", r"\(")):
        parse_stream_type(text, market)


@pytest.mark.parametrize("symbol", ["btcusdt", "BTC-USDT", "B", ""])
def test_symbols_are_uppercase_letters_and_digits(symbol: str) -> None:
    with pytest.raises(UnknownStreamError, match="symbol"):
        parse_stream_type("aggTrade", "spot").on(symbol)


@pytest.mark.parametrize("name", ["BTCUSDT@aggTrade", "btcusdt", "btcusdt@"])
def test_wire_names_are_a_lowercase_symbol_and_a_type(name: str) -> None:
    with pytest.raises(UnknownStreamError):
        parse_stream(name, "futures")


def test_the_kind_of_a_partial_depth_is_told_apart_from_the_diff_stream() -> None:
    assert parse_stream_type("depth", "spot").kind is StreamKind.DIFF_DEPTH
    assert parse_stream_type("depth5", "spot").kind is StreamKind.PARTIAL_DEPTH
    assert parse_stream_type("depth5", "spot").levels == 5
