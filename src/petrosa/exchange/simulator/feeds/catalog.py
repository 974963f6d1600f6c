"""Which feed serves which stream kind: ``open_feed`` is the one entry point."""

from __future__ import annotations

from collections.abc import Callable

from petrosa.exchange.binance.streams import Stream, StreamKind
from petrosa.exchange.simulator.feeds.base import Feed, market_kind
from petrosa.exchange.simulator.feeds.book_source import OrderBook
from petrosa.exchange.simulator.feeds.book_ticker import BookTickerFeed
from petrosa.exchange.simulator.feeds.depth import DiffDepthFeed, PartialDepthFeed
from petrosa.exchange.simulator.feeds.klines import KlineFeed
from petrosa.exchange.simulator.feeds.mark_price import MarkPriceFeed
from petrosa.exchange.simulator.feeds.trades import AggTradeFeed, TradeFeed
from petrosa.exchange.simulator.venue import Venue

MARKET_FEEDS: dict[StreamKind, Callable[[Venue, Stream, int], Feed]] = {
    StreamKind.KLINE: KlineFeed,
    StreamKind.AGG_TRADE: AggTradeFeed,
    StreamKind.TRADE: TradeFeed,
    StreamKind.MARK_PRICE: MarkPriceFeed,
}
"""Feeds of the synthetic market (candles, trades, funding)."""
BOOK_FEEDS: dict[StreamKind, Callable[[OrderBook, Stream, int], Feed]] = {
    StreamKind.DIFF_DEPTH: DiffDepthFeed,
    StreamKind.PARTIAL_DEPTH: PartialDepthFeed,
    StreamKind.BOOK_TICKER: BookTickerFeed,
}
"""Feeds of the order book."""


def open_feed(venue: Venue, stream: Stream, now_ms: int) -> Feed:
    """A feed of ``stream`` starting at ``now_ms``: it never emits an event older than that
    (a new subscriber gets the stream from now on, as on Binance). An unlisted symbol fails
    as REST does (``errors.invalid_symbol``)."""
    kind = stream.type.kind
    if kind in MARKET_FEEDS:
        return MARKET_FEEDS[kind](venue, stream, now_ms)
    return BOOK_FEEDS[kind](venue.book(market_kind(stream), stream.symbol), stream, now_ms)
