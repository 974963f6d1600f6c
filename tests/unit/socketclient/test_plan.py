"""Configuration → streams: defaults per market, and every kind of bad configuration."""

from __future__ import annotations

import pytest

from petrosa.contracts.market import DEFAULT_SYMBOLS, Market
from petrosa.exchange.binance.streams import Route
from petrosa.socketclient.connection import combined_url
from petrosa.socketclient.plan import BookKey, PlanError, build_plan, plan_from_document
from petrosa.socketclient.service import group_by_endpoint, shard


def test_the_default_streams_per_market() -> None:
    plan = build_plan(["spot", "futures"], ["BTCUSDT"], None, books=True)
    spot = {s.name for s in plan.for_market(Market.SPOT)}
    futures = {s.name for s in plan.for_market(Market.FUTURES)}
    assert spot == {"btcusdt@kline_1m", "btcusdt@aggTrade", "btcusdt@depth", "btcusdt@bookTicker"}
    assert futures == spot | {"btcusdt@markPrice"}
    assert set(plan.books) == {BookKey(Market.SPOT, "BTCUSDT"), BookKey(Market.FUTURES, "BTCUSDT")}
    assert BookKey(Market.FUTURES, "BTCUSDT").subject == "binance.futures.book.BTCUSDT"


@pytest.mark.parametrize(
    ("markets", "symbols", "streams", "books", "words"),
    [
        (["futures"], ["BTCUSDT"], ["klines_1m"], False, "does not exist"),
        (["futures"], ["btcusdt"], ["aggTrade"], False, "uppercase"),
        (["futures"], ["BTC-USDT"], ["aggTrade"], False, "uppercase"),
        (["spot"], ["BTCUSDT"], ["markPrice"], False, "does not exist on spot"),
        (["spot"], ["BTCUSDT"], ["depth@500ms"], False, "no such update speed"),
        (["margin"], ["BTCUSDT"], ["aggTrade"], False, "spot or futures"),
        (["futures"], ["BTCUSDT"], ["aggTrade"], True, "books need a diff-depth stream"),
        (["futures"], [], ["aggTrade"], False, "no symbol"),
        (["futures"], ["BTCUSDT"], [], False, "no stream type"),
    ],
)
def test_bad_configurations_are_refused_in_one_line(
    markets: list[str], symbols: list[str], streams: list[str], books: bool, words: str
) -> None:
    with pytest.raises(PlanError) as refused:
        build_plan(markets, symbols, streams, books=books)
    assert words in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_document_overrides_only_the_keys_it_has() -> None:
    env = build_plan(["futures"], ["BTCUSDT", "ETHUSDT"], ["aggTrade"], books=False)
    plan = plan_from_document({"symbols": ["ETHUSDT"]}, fallback=env, books=False)
    assert {s.name for s in plan.streams} == {"ethusdt@aggTrade"}
    with pytest.raises(PlanError):
        plan_from_document({"streams": ["nope"]}, fallback=env, books=False)
    with pytest.raises(PlanError):
        plan_from_document({"stream": ["aggTrade"]}, fallback=env, books=False)
    with pytest.raises(PlanError):
        plan_from_document(["aggTrade"], fallback=env, books=False)


def test_futures_streams_are_split_by_route_and_sharded_under_the_capacity() -> None:
    plan = build_plan(["futures"], DEFAULT_SYMBOLS, None, books=True)
    groups = group_by_endpoint(plan.streams)
    assert set(groups) == {(Market.FUTURES, Route.PUBLIC), (Market.FUTURES, Route.MARKET)}
    public = {s.type.wire for s in groups[(Market.FUTURES, Route.PUBLIC)]}
    market = {s.type.wire for s in groups[(Market.FUTURES, Route.MARKET)]}
    assert public == {"depth", "bookTicker"}
    assert market == {"kline_1m", "aggTrade", "markPrice"}
    for capacity in (1, 3, 7, 20, 1024):
        for streams in groups.values():
            chunks = shard(streams, capacity)
            assert all(1 <= len(chunk) <= capacity for chunk in chunks)
            assert [s for chunk in chunks for s in chunk] == streams


def test_the_url_is_a_combined_stream_on_the_routed_path() -> None:
    names = ["btcusdt@depth", "ethusdt@depth"]
    url = combined_url("wss://fstream.binance.com/", "/public", names)
    assert url == "wss://fstream.binance.com/public/stream?streams=btcusdt@depth/ethusdt@depth"
    assert combined_url("ws://h:1", "", ["a@trade"]) == "ws://h:1/stream?streams=a@trade"
