"""The simulator's WebSocket stream feeds: Binance's payloads for each stream, consistent
with the simulator's REST market data.

``open_feed(venue, stream, now_ms)`` gives a ``Feed``; the WebSocket server polls it with
the clock's "now" and pushes what it returns (``data`` payloads as JSON bytes)::

    kline        klines.KlineFeed         open kline per cadence; closed = REST kline
    aggTrade     trades.AggTradeFeed      every trade = REST /aggTrades rows
    trade        trades.TradeFeed         aggregate trades split (individual)
    depth        depth.DiffDepthFeed      book changes, U/u/pu chained (book_source)
    depth<N>     depth.PartialDepthFeed   top N levels per cadence
    bookTicker   book_ticker.BookTickerFeed  best quote on each change
    markPrice    mark_price.MarkPriceFeed premium index per cadence (= /premiumIndex)
"""

from petrosa.exchange.simulator.feeds.base import MAX_EVENTS_PER_POLL, Feed
from petrosa.exchange.simulator.feeds.catalog import open_feed

__all__ = ["MAX_EVENTS_PER_POLL", "Feed", "open_feed"]
