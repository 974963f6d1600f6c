"""Where a subscription's frames come from: the simulated market's feed of the stream
(``simulator.feeds``), polled on the sender's tick with the clock's "now"."""

from __future__ import annotations

from collections.abc import Callable

from petrosa.exchange.binance.streams import Stream
from petrosa.exchange.simulator.errors import BinanceError
from petrosa.exchange.simulator.feeds import Feed, open_feed
from petrosa.exchange.simulator.venue import Venue

FeedOpener = Callable[[Stream, int], Feed | None]
"""Opens a stream's feed at a simulated time; None when the stream has nothing to deliver."""


def market_feeds(venue: Venue) -> FeedOpener:
    """Feeds of ``venue``'s market. A symbol it does not list gets no feed: Binance accepts
    the subscription and the stream stays silent."""

    def open_market_feed(stream: Stream, now_ms: int) -> Feed | None:
        try:
            return open_feed(venue, stream, now_ms)
        except BinanceError:
            return None

    return open_market_feed
