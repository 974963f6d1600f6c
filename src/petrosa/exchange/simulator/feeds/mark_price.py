"""``<symbol>@markPrice[@1s]`` (USD-M): the premium index every 3 s (or 1 s), the same figures
``/fapi/v1/premiumIndex`` gives at the event time (``premium.premium_index``). After a jump
of the clock only the latest boundary is sent: an old mark price is of no use to anyone."""

from __future__ import annotations

from petrosa.exchange.binance.streams import Stream
from petrosa.exchange.simulator.feeds.base import cadence_of, encode, latest_boundary
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.premium import premium_index
from petrosa.exchange.simulator.venue import Venue


class MarkPriceFeed:
    """Mark price and funding of one perpetual."""

    def __init__(self, venue: Venue, stream: Stream, now_ms: int) -> None:
        self.stream = stream
        self._market = venue.market(MarketKind.FUTURES, stream.symbol)
        self._cadence_ms = cadence_of(stream)
        self._emitted_ms = now_ms

    def poll(self, now_ms: int) -> list[bytes]:
        boundary = latest_boundary(self._emitted_ms, now_ms, self._cadence_ms)
        self._emitted_ms = max(self._emitted_ms, now_ms)
        if boundary is None:
            return []
        index = premium_index(self._market, boundary)
        payload = {
            "e": "markPriceUpdate",
            "E": boundary,
            "s": self.stream.symbol,
            "p": index.mark_price,
            "i": index.index_price,
            "P": index.estimated_settle_price,
            "r": index.funding_rate,
            "T": index.next_funding_time,
        }
        return [encode(payload)]
