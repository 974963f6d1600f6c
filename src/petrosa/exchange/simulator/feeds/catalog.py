"""Which feed serves which stream kind: ``open_feed`` is the one entry point."""

from __future__ import annotations

from petrosa.exchange.binance.streams import Stream, StreamKind
from petrosa.exchange.simulator.feeds.base import Feed, market_kind
from petrosa.exchange.simulator.feeds.book_ticker import BookTickerFeed
from petrosa.exchange.simulator.feeds.depth import DiffDepthFeed, PartialDepthFeed
from petrosa.exchange.simulator.feeds.klines import KlineFeed
from petrosa.exchange.simulator.feeds.mark_price import MarkPriceFeed
from petrosa.exchange.simulator.feeds.trades import AggTradeFeed, TradeFeed
from petrosa.exchange.simulator.venue import Venue


def open_feed(venue: Venue, stream: Stream, now_ms: int) -> Feed:
    """A feed of ``stream`` starting at ``now_ms``: it never emits an event older than that
    (a new subscriber gets the stream from now on, as on Binance). An unlisted symbol fails
    as REST does (``errors.invalid_symbol``)."""
    kind = stream.type.kind
    if kind is StreamKind.KLINE:
        return KlineFeed(venue, stream, now_ms)
    if kind is StreamKind.AGG_TRADE:
        return AggTradeFeed(venue, stream, now_ms)
    if kind is StreamKind.TRADE:
        return TradeFeed(venue, stream, now_ms)
    if kind is StreamKind.MARK_PRICE:
        return MarkPriceFeed(venue, stream, now_ms)
    book = venue.book(market_kind(stream), stream.symbol)
    if kind is StreamKind.DIFF_DEPTH:
        return DiffDepthFeed(book, stream, now_ms)
    if kind is StreamKind.PARTIAL_DEPTH:
        return PartialDepthFeed(book, stream, now_ms)
    if kind is StreamKind.BOOK_TICKER:
        return BookTickerFeed(book, stream, now_ms)
    raise ValueError(f"no feed for {stream.name}")
