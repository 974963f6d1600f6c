"""What to subscribe to: markets, symbols and stream types, validated against the stream table.

The same validation serves the start (a bad configuration exits 2 with one line) and the
Data Manager document (a bad one is logged and ignored, the running set kept), so both
refuse exactly the same things: an unknown stream type, a symbol that is not uppercase
letters and digits, a futures-only stream on spot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from petrosa.contracts.market import Market
from petrosa.exchange.binance.streams import (
    Stream,
    StreamKind,
    StreamType,
    UnknownStreamError,
    parse_stream_type,
)

DEFAULT_STREAM_TYPES: dict[Market, tuple[str, ...]] = {
    Market.SPOT: ("kline_1m", "aggTrade", "depth", "bookTicker"),
    Market.FUTURES: ("kline_1m", "aggTrade", "depth", "bookTicker", "markPrice"),
}


class PlanError(ValueError):
    """A configuration that cannot be subscribed; the message is one readable line."""


@dataclass(frozen=True)
class BookKey:
    """One maintained book: a symbol on a market, fed by one diff-depth stream."""

    market: Market
    symbol: str

    @property
    def subject(self) -> str:
        return f"binance.{self.market.value}.book.{self.symbol}"


@dataclass(frozen=True)
class Plan:
    """The streams to subscribe, and which diff-depth stream feeds each maintained book."""

    streams: frozenset[Stream]
    books: Mapping[BookKey, Stream]
    markets: tuple[Market, ...]
    symbols: tuple[str, ...]
    stream_types: tuple[str, ...] | None
    """As configured (None: each market's default set)."""

    def for_market(self, market: Market) -> list[Stream]:
        return sorted((s for s in self.streams if s.type.market is market), key=lambda s: s.name)


def build_plan(
    markets: Iterable[Market | str],
    symbols: Iterable[str],
    stream_types: Iterable[str] | None,
    *,
    books: bool,
) -> Plan:
    """Every stream of ``stream_types`` (None: each market's default) for every symbol.

    ``books``: each symbol gets a maintained book from the market's first diff-depth type;
    asking for books without a diff-depth stream is an error, not a silent no-op.
    """
    try:
        market_list = [Market(m) for m in markets]
    except ValueError as error:
        raise PlanError(f"market: {error} (spot or futures)") from None
    symbol_list = list(symbols)
    if not market_list:
        raise PlanError("no market configured (spot, futures)")
    if not symbol_list:
        raise PlanError("no symbol configured")
    wanted = None if stream_types is None else list(stream_types)
    if wanted is not None and not wanted:
        raise PlanError("no stream type configured")
    streams: set[Stream] = set()
    book_streams: dict[BookKey, Stream] = {}
    for market in market_list:
        types = _types(wanted if wanted is not None else DEFAULT_STREAM_TYPES[market], market)
        diff = next((t for t in types if t.kind is StreamKind.DIFF_DEPTH), None)
        if books and diff is None:
            raise PlanError(
                f"books need a diff-depth stream on {market.value}: add 'depth' to the"
                " streams or turn books off"
            )
        for symbol in symbol_list:
            for stream_type in types:
                streams.add(_on(stream_type, symbol))
            if books and diff is not None:
                book_streams[BookKey(market, symbol)] = _on(diff, symbol)
    return Plan(
        frozenset(streams),
        book_streams,
        tuple(market_list),
        tuple(symbol_list),
        None if wanted is None else tuple(wanted),
    )


def plan_from_document(value: Any, *, fallback: Plan, books: bool) -> Plan:
    """A plan from the Data Manager document ``{"markets", "symbols", "streams"}``.

    Keys left out keep their value from ``fallback`` (the environment's configuration).
    """
    if not isinstance(value, Mapping):
        raise PlanError("the configuration document must be an object")
    unknown = set(value) - {"markets", "symbols", "streams"}
    if unknown:
        raise PlanError(f"unknown keys in the configuration document: {sorted(unknown)}")
    markets = _strings(value.get("markets"), "markets")
    symbols = _strings(value.get("symbols"), "symbols")
    streams = _strings(value.get("streams"), "streams")
    return build_plan(
        fallback.markets if markets is None else markets,
        fallback.symbols if symbols is None else symbols,
        fallback.stream_types if streams is None else streams,
        books=books,
    )


def _strings(value: Any, key: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise PlanError(f"{key} must be a list of strings")
    return list(value)


def _types(texts: Iterable[str], market: Market) -> list[StreamType]:
    types: list[StreamType] = []
    for text in texts:
        try:
            stream_type = parse_stream_type(text, market)
        except UnknownStreamError as error:
            raise PlanError(str(error)) from None
        if stream_type not in types:
            types.append(stream_type)
    return types


def _on(stream_type: StreamType, symbol: str) -> Stream:
    try:
        return stream_type.on(symbol)
    except UnknownStreamError as error:
        raise PlanError(str(error)) from None
