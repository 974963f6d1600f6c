"""Parsing NATS messages in Binance's exact field names, spot and futures.

The symbol and stream come from the subject; a payload missing its fields is an error,
never an empty book (the old system parsed USD-M depth, ``b``/``a``, as ``bids``/``asks``
and saw empty books without a word)."""

from __future__ import annotations

import orjson
import pytest

from petrosa.contracts import Market
from petrosa.realtime import (
    AggTrade,
    BookSnapshot,
    BookSource,
    Candle,
    InputError,
    MarkPrice,
    TickerPrice,
    parse_message,
)

E = 1_700_000_000_123
RECEIVED = 1_700_000_000_150


def envelope(stream: str, data: dict[str, object], event_time: int | None = E) -> bytes:
    return orjson.dumps(
        {"stream": stream, "event_time": event_time, "received_at": RECEIVED, "data": data}
    )


FUTURES_DEPTH = {
    "e": "depthUpdate",
    "E": E,
    "T": E - 2,
    "s": "BTCUSDT",
    "U": 390497796,
    "u": 390497878,
    "pu": 390497794,
    "b": [["7403.89", "0.002"], ["7403.90", "3.906"], ["7403.00", "0"]],
    "a": [["7405.96", "3.340"], ["7406.63", "4.525"]],
}
SPOT_DEPTH = {
    "lastUpdateId": 160,
    "bids": [["0.0024", "10"], ["0.0023", "5"]],
    "asks": [["0.0026", "100"]],
}


def test_futures_partial_depth_reads_b_and_a_with_the_event_time() -> None:
    event = parse_message(
        "binance.futures.depth20_100ms.BTCUSDT", envelope("btcusdt@depth20@100ms", FUTURES_DEPTH)
    )
    assert isinstance(event, BookSnapshot)
    assert event.bid_prices == (7403.89, 7403.90)  # the zero-quantity level is no level
    assert event.bid_qtys == (0.002, 3.906)
    assert event.ask_prices == (7405.96, 7406.63)
    assert (event.time_ms, event.update_id, event.source) == (
        E,
        390497878,
        BookSource.PARTIAL_DEPTH,
    )
    assert event.market is Market.FUTURES


def test_futures_depth_is_never_an_empty_book_read_through_spot_names() -> None:
    """The old bug: read as ``bids``/``asks`` a USD-M book is empty. Here the names are
    per market, and a payload missing them is refused loudly."""
    assert "bids" not in FUTURES_DEPTH
    assert "asks" not in FUTURES_DEPTH
    event = parse_message("binance.futures.depth20.BTCUSDT", envelope("x", FUTURES_DEPTH))
    assert isinstance(event, BookSnapshot)
    assert event.complete
    with pytest.raises(InputError, match="'b' missing"):
        parse_message("binance.futures.depth20.BTCUSDT", envelope("x", {**SPOT_DEPTH, "E": E}))
    with pytest.raises(InputError, match="'bids' missing"):
        parse_message("binance.spot.depth20.BTCUSDT", envelope("x", FUTURES_DEPTH))


def test_spot_partial_depth_has_no_time_so_the_receive_time_stands_in() -> None:
    event = parse_message(
        "binance.spot.depth20_100ms.ETHUSDT", envelope("ethusdt@depth20@100ms", SPOT_DEPTH, None)
    )
    assert isinstance(event, BookSnapshot)
    assert (event.symbol, event.market, event.time_ms) == ("ETHUSDT", Market.SPOT, RECEIVED)
    assert event.bid_prices == (0.0024, 0.0023)
    assert event.ask_qtys == (100.0,)
    assert event.update_id == 160


def test_the_maintained_book_message() -> None:
    body = {
        "market": "futures",
        "symbol": "BTCUSDT",
        "last_update_id": 77,
        "event_time": E,
        "bids": [["100.0", "1.5"]],
        "asks": [["100.1", "2"]],
    }
    event = parse_message("binance.futures.book.BTCUSDT", orjson.dumps(body))
    assert isinstance(event, BookSnapshot)
    assert (event.source, event.update_id, event.time_ms) == (BookSource.BOOK, 77, E)
    assert event.mid == pytest.approx(100.05)
    untimed = orjson.dumps({**body, "event_time": None})
    with pytest.raises(InputError, match="event_time"):
        parse_message("binance.futures.book.BTCUSDT", untimed)
    timed = parse_message("binance.futures.book.BTCUSDT", untimed, received_ms=RECEIVED)
    assert timed is not None
    assert timed.time_ms == RECEIVED


@pytest.mark.parametrize("market", ["spot", "futures"])
def test_agg_trade_uses_the_trade_time_and_m_means_the_aggressor_sold(market: str) -> None:
    data: dict[str, object] = {
        "e": "aggTrade",
        "E": E,
        "s": "BTCUSDT",
        "a": 5933014,
        "p": "0.001",
        "q": "100",
        "f": 100,
        "l": 105,
        "T": E - 5,
        "m": True,
    }
    if market == "spot":
        data["M"] = True
    event = parse_message(f"binance.{market}.aggTrade.BTCUSDT", envelope("x", data))
    assert isinstance(event, AggTrade)
    assert (event.time_ms, event.trade_id, event.buyer_maker) == (E - 5, 5933014, True)
    assert event.notional == pytest.approx(0.1)


def test_mark_price_carries_funding_rate_and_next_funding_time() -> None:
    data = {
        "e": "markPriceUpdate",
        "E": E,
        "s": "BTCUSDT",
        "p": "11794.15000000",
        "i": "11784.62659091",
        "P": "11784.25641265",
        "r": "0.00038167",
        "T": 1_562_306_400_000,
    }
    event = parse_message("binance.futures.markPrice_1s.BTCUSDT", envelope("x", data))
    assert isinstance(event, MarkPrice)
    assert event.funding_rate == 0.00038167
    assert event.next_funding_ms == 1_562_306_400_000
    assert (event.mark_price, event.index_price) == (11794.15, 11784.62659091)
    with pytest.raises(InputError):
        parse_message("binance.spot.markPrice.BTCUSDT", envelope("x", data))


def test_only_closed_one_minute_klines_are_candles() -> None:
    k = {"t": 60_000, "T": 119_999, "s": "BTCUSDT", "i": "1m", "o": "1", "c": "2", "h": "3",
         "l": "0.5", "v": "10", "n": 5, "x": True, "q": "15", "V": "5", "Q": "7",
         "B": "0"}  # fmt: skip
    data = {"e": "kline", "E": E, "s": "BTCUSDT", "k": k}
    candle = parse_message("binance.futures.kline_1m.BTCUSDT", envelope("x", data))
    assert isinstance(candle, Candle)
    assert (candle.open_time, candle.high, candle.low, candle.close) == (60_000, 3.0, 0.5, 2.0)
    open_kline = envelope("x", {**data, "k": {**k, "x": False}})
    assert parse_message("binance.futures.kline_1m.BTCUSDT", open_kline) is None
    assert parse_message("binance.futures.kline_5m.BTCUSDT", envelope("x", data)) is None


def test_the_spot_ticker_gives_its_last_price_c_not_the_24h_change() -> None:
    data = {"e": "24hrTicker", "E": E, "s": "BTCUSDT", "p": "-94.99", "P": "-95.960", "c": "0.0025"}
    event = parse_message("binance.spot.ticker.BTCUSDT", envelope("x", data))
    assert isinstance(event, TickerPrice)
    assert event.price == 0.0025


def test_the_symbol_comes_from_the_subject_never_from_the_payload() -> None:
    data = {"e": "aggTrade", "E": E, "s": "ETHUSDT", "a": 1, "p": "1", "q": "1", "T": E, "m": False}
    event = parse_message("binance.futures.aggTrade.BTCUSDT", envelope("x", data))
    assert event is not None
    assert event.symbol == "BTCUSDT"


@pytest.mark.parametrize(
    "subject", ["binance.futures.depth.BTCUSDT", "binance.futures.bookTicker.BTCUSDT",
                "binance.spot.trade.BTCUSDT", "binance.spot.depth_100ms.BTCUSDT"],
)  # fmt: skip
def test_streams_the_strategies_do_not_read_are_skipped_unparsed(subject: str) -> None:
    assert parse_message(subject, b"not even json") is None


@pytest.mark.parametrize(
    ("subject", "payload"),
    [
        ("signals.trading", b"{}"),
        ("binance.margin.aggTrade.BTCUSDT", b"{}"),
        ("binance.futures.aggTrade.btcusdt", b"{}"),
        ("binance.futures.funding.BTCUSDT", b"{}"),
        ("binance.futures.ticker.BTCUSDT", b"{}"),
        ("binance.futures.aggTrade.BTCUSDT", b"[1]"),
        ("binance.futures.aggTrade.BTCUSDT", b"{bad"),
        ("binance.futures.aggTrade.BTCUSDT", envelope("x", {"a": 1, "p": "1", "q": "1"})),
        ("binance.futures.markPrice.BTCUSDT", envelope("x", {"E": E, "p": "x"})),
        ("binance.futures.depth5.BTCUSDT", envelope("x", {"E": E, "b": [["1"]], "a": []})),
        ("binance.futures.depth5.BTCUSDT", envelope("x", {"E": E, "b": [["-1", "1"]], "a": []})),
    ],
)
def test_what_cannot_be_read_is_an_input_error(subject: str, payload: bytes) -> None:
    with pytest.raises(InputError):
        parse_message(subject, payload)
