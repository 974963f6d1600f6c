"""Binance's public WebSocket market streams: which exist where, their names, routes and cadences.

One table, shared by the exchange simulator (which serves the streams) and the socket client
(which subscribes to them), so the two cannot disagree. Facts from ``BINANCE.md``::

    btcusdt@kline_1m       spot; futures /market     kline, 2 s / 250 ms
    btcusdt@aggTrade       spot; futures /market     real time
    btcusdt@trade          spot only                 real time
    btcusdt@depth[@100ms]  spot; futures /public     diff depth, 1000|100 ms (futures 250|500|100)
    btcusdt@depth20[@100ms] spot; futures /public    partial depth (5, 10, 20 levels)
    btcusdt@bookTicker     spot; futures /public     real time
    btcusdt@markPrice[@1s] futures /market only      3 s | 1 s

Stream names on the wire are lowercase; petrosa symbols and subjects are uppercase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from petrosa.contracts.market import Interval, Market

MAX_STREAMS_PER_CONNECTION = 1_024
INCOMING_MESSAGES_PER_SECOND: dict[Market, int] = {Market.SPOT: 5, Market.FUTURES: 10}
"""Messages a client may send per second (pings, pongs and control messages count); over
the limit the server closes the connection."""
SERVER_PING_INTERVAL_S: dict[Market, float] = {Market.SPOT: 20.0, Market.FUTURES: 180.0}
PONG_TIMEOUT_S: dict[Market, float] = {Market.SPOT: 60.0, Market.FUTURES: 600.0}
CONNECTION_LIFETIME_S = 24 * 3600.0
NEW_CONNECTIONS_PER_5_MINUTES = 300


class StreamKind(StrEnum):
    """The stream types the platform uses (the part of a name after ``<symbol>@``)."""

    KLINE = "kline"
    AGG_TRADE = "aggTrade"
    TRADE = "trade"
    DIFF_DEPTH = "depth"
    PARTIAL_DEPTH = "partialDepth"
    BOOK_TICKER = "bookTicker"
    MARK_PRICE = "markPrice"


class Route(StrEnum):
    """Where a stream is served: spot has one endpoint, USD-M routes each stream category."""

    SPOT = "spot"
    PUBLIC = "public"
    MARKET = "market"

    @property
    def path_prefix(self) -> str:
        """``""`` for spot (``/ws``, ``/stream``), ``/public`` or ``/market`` on USD-M."""
        return "" if self is Route.SPOT else f"/{self.value}"


class UnknownStreamError(ValueError):
    """A stream name or type that does not exist on the market asked for."""


PARTIAL_DEPTH_LEVELS = (5, 10, 20)
KLINE_INTERVALS: tuple[str, ...] = tuple(i.value for i in Interval)
"""The platform's intervals (spot's ``1s`` klines are not used: nothing stores them)."""
_SPEEDS_MS: dict[tuple[Market, StreamKind], tuple[int | None, ...]] = {
    # (market, kind) -> allowed explicit update speeds; None = the default (no suffix)
    (Market.SPOT, StreamKind.DIFF_DEPTH): (None, 100),
    (Market.SPOT, StreamKind.PARTIAL_DEPTH): (None, 100),
    (Market.FUTURES, StreamKind.DIFF_DEPTH): (None, 100, 500),
    (Market.FUTURES, StreamKind.PARTIAL_DEPTH): (None, 100, 500),
    (Market.FUTURES, StreamKind.MARK_PRICE): (None, 1_000),
}
_DEFAULT_CADENCE_MS: dict[tuple[Market, StreamKind], int | None] = {
    (Market.SPOT, StreamKind.KLINE): 2_000,
    (Market.FUTURES, StreamKind.KLINE): 250,
    (Market.SPOT, StreamKind.DIFF_DEPTH): 1_000,
    (Market.FUTURES, StreamKind.DIFF_DEPTH): 250,
    (Market.SPOT, StreamKind.PARTIAL_DEPTH): 1_000,
    (Market.FUTURES, StreamKind.PARTIAL_DEPTH): 250,
    (Market.FUTURES, StreamKind.MARK_PRICE): 3_000,
    (Market.SPOT, StreamKind.AGG_TRADE): None,
    (Market.FUTURES, StreamKind.AGG_TRADE): None,
    (Market.SPOT, StreamKind.TRADE): None,
    (Market.SPOT, StreamKind.BOOK_TICKER): None,
    (Market.FUTURES, StreamKind.BOOK_TICKER): None,
}
"""Every (market, kind) that exists, with its default cadence (None: real time, per event)."""
_ROUTES: dict[tuple[Market, StreamKind], Route] = {
    (market, kind): Route.SPOT if market is Market.SPOT else _FUTURES_ROUTE
    for (market, kind) in _DEFAULT_CADENCE_MS
    for _FUTURES_ROUTE in [
        Route.PUBLIC
        if kind in {StreamKind.DIFF_DEPTH, StreamKind.PARTIAL_DEPTH, StreamKind.BOOK_TICKER}
        else Route.MARKET
    ]
}
_SYMBOL = re.compile(r"[A-Z0-9]{2,30}")
_TYPE = re.compile(
    r"(?P<kind>kline_(?P<interval>\w+)|aggTrade|trade|bookTicker|markPrice"
    r"|depth(?P<levels>\d+)?)(?:@(?P<speed>\d+)(?P<unit>ms|s))?"
)


@dataclass(frozen=True)
class StreamType:
    """A stream type without its symbol, e.g. ``kline_1m``, ``depth20@100ms``, ``markPrice@1s``."""

    market: Market
    kind: StreamKind
    interval: str | None = None
    levels: int | None = None
    speed_ms: int | None = None
    """An explicit update speed from the name's suffix; None for the stream's default."""

    @property
    def wire(self) -> str:
        """The type as Binance spells it after ``<symbol>@``."""
        if self.kind is StreamKind.KLINE:
            base = f"kline_{self.interval}"
        elif self.kind is StreamKind.PARTIAL_DEPTH:
            base = f"depth{self.levels}"
        else:
            base = self.kind.value
        if self.speed_ms is None:
            return base
        suffix = f"{self.speed_ms // 1000}s" if self.speed_ms % 1000 == 0 else f"{self.speed_ms}ms"
        return f"{base}@{suffix}"

    @property
    def subject_token(self) -> str:
        """The type in a NATS subject: ``@`` becomes ``_`` (``depth20_100ms``, ``markPrice_1s``)."""
        return self.wire.replace("@", "_")

    @property
    def route(self) -> Route:
        """The endpoint that serves it (on USD-M the wrong one connects and stays silent)."""
        return _ROUTES[(self.market, self.kind)]

    @property
    def cadence_ms(self) -> int | None:
        """How often the stream pushes; None for event streams (a frame per trade or change)."""
        if self.speed_ms is not None:
            return self.speed_ms
        return _DEFAULT_CADENCE_MS[(self.market, self.kind)]

    def on(self, symbol: str) -> Stream:
        """This type for one symbol (uppercase, as petrosa spells symbols)."""
        if not _SYMBOL.fullmatch(symbol):
            raise UnknownStreamError(
                f"symbol {symbol!r}: expected 2-30 uppercase letters or digits, e.g. BTCUSDT"
            )
        return Stream(symbol, self)


@dataclass(frozen=True)
class Stream:
    """One subscribable stream: a symbol and a type on a market."""

    symbol: str
    type: StreamType

    @property
    def name(self) -> str:
        """The wire name, e.g. ``btcusdt@depth@100ms``."""
        return f"{self.symbol.lower()}@{self.type.wire}"

    @property
    def subject(self) -> str:
        """Where the socket client publishes its frames: ``binance.<market>.<type>.<SYMBOL>``."""
        return f"binance.{self.type.market.value}.{self.type.subject_token}.{self.symbol}"


def parse_stream_type(text: str, market: Market | str) -> StreamType:
    """A stream type such as ``kline_1m`` or ``depth20@100ms``, validated for ``market``."""
    market = Market(market)
    match = _TYPE.fullmatch(text)
    if match is None:
        raise UnknownStreamError(f"stream type {text!r} does not exist (e.g. kline_1m, aggTrade)")
    kind_text = match["kind"]
    kind = (
        StreamKind.KLINE
        if kind_text.startswith("kline_")
        else StreamKind.PARTIAL_DEPTH
        if match["levels"]
        else StreamKind(kind_text)
    )
    if (market, kind) not in _DEFAULT_CADENCE_MS:
        raise UnknownStreamError(f"stream type {text!r} does not exist on {market.value}")
    interval = match["interval"]
    if interval is not None and interval not in KLINE_INTERVALS:
        raise UnknownStreamError(f"stream type {text!r}: no kline interval {interval!r}")
    levels = int(match["levels"]) if match["levels"] else None
    if levels is not None and levels not in PARTIAL_DEPTH_LEVELS:
        raise UnknownStreamError(f"stream type {text!r}: partial depth has 5, 10 or 20 levels")
    speed_ms = None
    if match["speed"] is not None:
        speed_ms = int(match["speed"]) * (1_000 if match["unit"] == "s" else 1)
        if speed_ms not in _SPEEDS_MS.get((market, kind), (None,)):
            raise UnknownStreamError(f"stream type {text!r}: no such update speed on {market}")
    parsed = StreamType(market, kind, interval=interval, levels=levels, speed_ms=speed_ms)
    if parsed.wire != text:  # e.g. "depth@1000ms" for "depth": one spelling per stream
        raise UnknownStreamError(f"stream type {text!r}: write it as {parsed.wire!r}")
    return parsed


def parse_stream(name: str, market: Market | str) -> Stream:
    """A wire stream name such as ``btcusdt@aggTrade``, validated for ``market``."""
    symbol, separator, type_text = name.partition("@")
    if not separator or symbol != symbol.lower():
        raise UnknownStreamError(f"stream {name!r}: expected <lowercase symbol>@<type>")
    return parse_stream_type(type_text, market).on(symbol.upper())
