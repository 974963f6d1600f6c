"""From a NATS message (subject and bytes) to a typed market event.

The subject ``binance.<market>.<stream>.<SYMBOL>`` alone says which market, symbol and
stream a message is: a payload's own ``s`` is never read (the system this replaces labelled
ETH books as BTC that way). Stream messages are the socket client's envelopes
``{stream, event_time, received_at, data}`` with Binance's payload untouched in ``data``;
``binance.<market>.book.<SYMBOL>`` carries the maintained book
``{market, symbol, last_update_id, event_time, bids, asks}``.

Field names are Binance's, and they differ by market: a spot partial book is
``{lastUpdateId, bids, asks}`` with no time (the receive time stands in), a USD-M one is a
``depthUpdate`` with ``E``, ``b`` and ``a``. A payload without the fields its stream must
have is an ``InputError``, never an empty book (the old system read futures depth as
``bids``/``asks`` and saw nothing, without a word).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from petrosa.contracts import Market
from petrosa.exchange.binance.streams import (
    StreamKind,
    StreamType,
    UnknownStreamError,
    parse_stream_type,
)
from petrosa.realtime.events import (
    AggTrade,
    BookSnapshot,
    BookSource,
    Candle,
    MarketEvent,
    MarkPrice,
    TickerPrice,
)

BOOK_TOKEN = "book"
TICKER_TOKEN = "ticker"
CANDLE_INTERVAL = "1m"
_SPEED_SUFFIX = re.compile(r"^(?P<base>.+)_(?P<speed>\d+m?s)$")


class InputError(ValueError):
    """A message the core cannot read: unknown subject, or a payload missing its fields."""


def parse_subject(subject: str) -> tuple[Market, str, str]:
    """``binance.<market>.<stream>.<SYMBOL>`` → (market, stream token, symbol)."""
    parts = subject.split(".")
    if len(parts) != 4 or parts[0] != "binance":
        raise InputError(f"subject {subject!r} is not binance.<market>.<stream>.<SYMBOL>")
    _, market_text, token, symbol = parts
    try:
        market = Market(market_text)
    except ValueError:
        raise InputError(f"subject {subject!r}: unknown market {market_text!r}") from None
    if not symbol.isalnum() or symbol != symbol.upper():
        raise InputError(f"subject {subject!r}: symbol must be uppercase letters or digits")
    return market, token, symbol


def stream_type(token: str, market: Market) -> StreamType | None:
    """The Binance stream type of a subject token (``depth20_100ms`` → ``depth20@100ms``);
    None for the maintained book and the spot ticker, which are not in the stream table."""
    if token in (BOOK_TOKEN, TICKER_TOKEN):
        return None
    match = _SPEED_SUFFIX.match(token)
    wire = f"{match['base']}@{match['speed']}" if match is not None else token
    try:
        return parse_stream_type(wire, market)
    except UnknownStreamError as error:
        raise InputError(f"stream {token!r} on {market.value}: {error}") from None


def parse_message(
    subject: str, payload: bytes, *, received_ms: int | None = None
) -> MarketEvent | None:
    """The event in one message, or None for a stream the strategies do not read (diff
    depth, bookTicker, trade, an open or non-1m kline). ``received_ms`` stands in for a
    maintained book without an event time."""
    market, token, symbol = parse_subject(subject)
    reader = _reader(token, market)
    if reader is None:
        return None
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        raise InputError(f"{subject}: not JSON ({error})") from None
    if not isinstance(body, dict):
        raise InputError(f"{subject}: expected a JSON object")
    try:
        if reader is _maintained_book:
            return _maintained_book(market, symbol, body, received_ms)
        data = body.get("data")
        if not isinstance(data, dict):
            raise InputError("envelope without a data object")
        return reader(market, symbol, body, data)
    except InputError as error:
        raise InputError(f"{subject}: {error}") from None
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"{subject}: malformed payload ({error!r})") from None


Reader = Callable[[Market, str, Mapping[str, Any], Any], MarketEvent | None]


def _reader(token: str, market: Market) -> Reader | None:
    if token == BOOK_TOKEN:
        return _maintained_book
    if token == TICKER_TOKEN:
        if market is not Market.SPOT:
            raise InputError("the 24 h ticker's last price is read on spot only")
        return _ticker
    parsed = stream_type(token, market)
    assert parsed is not None
    if parsed.kind is StreamKind.KLINE:
        return _closed_candle if parsed.interval == CANDLE_INTERVAL else None
    return _READERS.get(parsed.kind)


def _maintained_book(
    market: Market, symbol: str, body: Mapping[str, Any], received_ms: Any
) -> BookSnapshot:
    event_ms = body.get("event_time")
    if event_ms is None:
        if received_ms is None:
            raise InputError("maintained book without event_time")
        event_ms = received_ms
    update_id = body.get("last_update_id")
    return _book(
        market,
        symbol,
        _as_int(event_ms, "event_time"),
        _side(body, "bids"),
        _side(body, "asks"),
        update_id if isinstance(update_id, int) else None,
        BookSource.BOOK,
    )


def _partial_depth(
    market: Market, symbol: str, envelope: Mapping[str, Any], data: Any
) -> BookSnapshot:
    if market is Market.SPOT:
        # {lastUpdateId, bids, asks}: no event time, so the socket client's receive time.
        return _book(
            market,
            symbol,
            _as_int(envelope.get("received_at"), "received_at"),
            _side(data, "bids"),
            _side(data, "asks"),
            _as_int(data.get("lastUpdateId"), "lastUpdateId"),
            BookSource.PARTIAL_DEPTH,
        )
    return _book(
        market,
        symbol,
        _int(data, "E"),
        _side(data, "b"),
        _side(data, "a"),
        _as_int(data.get("u"), "u"),
        BookSource.PARTIAL_DEPTH,
    )


def _book(
    market: Market,
    symbol: str,
    time_ms: int,
    bids: tuple[tuple[float, ...], tuple[float, ...]],
    asks: tuple[tuple[float, ...], tuple[float, ...]],
    update_id: int | None,
    source: BookSource,
) -> BookSnapshot:
    return BookSnapshot(
        market, symbol, time_ms, bids[0], bids[1], asks[0], asks[1], update_id, source
    )


def _side(body: Mapping[str, Any], key: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """A side ``[[price, qty], ...]`` as (prices, quantities); a missing key is an error."""
    if key not in body:
        raise InputError(f"book side {key!r} missing (keys: {sorted(body)})")
    levels: Sequence[Any] = body[key]
    if not isinstance(levels, list):
        raise InputError(f"book side {key!r} is not a list")
    prices: list[float] = []
    qtys: list[float] = []
    for price_text, qty_text in levels:
        price, qty = float(price_text), float(qty_text)
        if not (price > 0 and qty >= 0) or price == float("inf") or qty == float("inf"):
            raise InputError(f"book side {key!r}: bad level [{price_text!r}, {qty_text!r}]")
        if qty > 0:
            prices.append(price)
            qtys.append(qty)
    return tuple(prices), tuple(qtys)


def _ticker(market: Market, symbol: str, _: Mapping[str, Any], data: Any) -> TickerPrice:
    return TickerPrice(market, symbol, _int(data, "E"), _positive(data, "c"))


def _agg_trade(market: Market, symbol: str, _: Mapping[str, Any], data: Any) -> AggTrade:
    maker = data["m"]
    if not isinstance(maker, bool):
        raise InputError("aggTrade m is not a boolean")
    return AggTrade(
        market,
        symbol,
        _int(data, "T"),
        _int(data, "a"),
        _positive(data, "p"),
        _positive(data, "q"),
        maker,
    )


def _mark_price(market: Market, symbol: str, _: Mapping[str, Any], data: Any) -> MarkPrice:
    return MarkPrice(
        market,
        symbol,
        _int(data, "E"),
        _positive(data, "p"),
        _positive(data, "i"),
        _float(data, "r"),
        _int(data, "T"),
    )


def _closed_candle(market: Market, symbol: str, _: Mapping[str, Any], data: Any) -> Candle | None:
    kline = data["k"]
    if not isinstance(kline, dict):
        raise InputError("kline without k")
    if kline.get("x") is not True:
        return None
    return Candle(
        market,
        symbol,
        _int(data, "E"),
        _int(kline, "t"),
        _positive(kline, "h"),
        _positive(kline, "l"),
        _positive(kline, "c"),
    )


def _int(data: Mapping[str, Any], key: str) -> int:
    return _as_int(data.get(key), key)


def _as_int(value: Any, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InputError(f"{key} must be an integer, got {value!r}")
    return value


def _float(data: Mapping[str, Any], key: str) -> float:
    value = float(data[key])
    if value != value or value in (float("inf"), float("-inf")):
        raise InputError(f"{key} is not finite")
    return value


def _positive(data: Mapping[str, Any], key: str) -> float:
    value = _float(data, key)
    if value <= 0:
        raise InputError(f"{key} must be positive, got {value}")
    return value


_READERS: dict[StreamKind, Reader] = {
    StreamKind.PARTIAL_DEPTH: _partial_depth,
    StreamKind.AGG_TRADE: _agg_trade,
    StreamKind.MARK_PRICE: _mark_price,
}
