"""A connection's subscriptions: which streams it asked for and the feeds that serve them.

A stream that exists on the connection's market but belongs to another USD-M route (e.g.
``btcusdt@markPrice`` on ``/public``) is accepted, listed, and never delivers a frame: Binance
fails the same silent way. Names that do not exist on the market are refused (code 2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from petrosa.exchange.binance.streams import Stream, UnknownStreamError, parse_stream
from petrosa.exchange.simulator.feeds import Feed
from petrosa.exchange.simulator.ws.commands import invalid_request
from petrosa.exchange.simulator.ws.endpoints import Endpoint
from petrosa.exchange.simulator.ws.faults import FaultBoard, FaultCursor, StreamKey
from petrosa.exchange.simulator.ws.feeds import FeedOpener


@dataclass
class Subscription:
    """One subscribed stream on one connection."""

    stream: Stream
    key: StreamKey
    feed: Feed | None
    """None: nothing to deliver here (another route, an unlisted symbol)."""
    cursor: FaultCursor
    combined_head: bytes
    """``{"stream":"<name>","data":`` — a combined frame is this, the payload and ``}``."""


class Subscriptions:
    """The ordered set of streams one connection receives."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        open_feed: FeedOpener,
        faults: FaultBoard,
        max_streams: int,
    ) -> None:
        self.market = endpoint.market
        self.route = endpoint.route
        self._open_feed = open_feed
        self._faults = faults
        self._max_streams = max_streams
        self._by_name: dict[str, Subscription] = {}

    def names(self) -> list[str]:
        """Subscribed stream names, in the order they were added."""
        return list(self._by_name)

    def add(self, names: Iterable[str], now_ms: int, *, request_id: int | None = None) -> None:
        """Subscribe to all of ``names`` or, if one is refused, to none of them."""
        streams = [self._parse(name, request_id) for name in names]
        new = [stream for stream in streams if stream.name not in self._by_name]
        if len(self._by_name) + len(new) > self._max_streams:
            raise invalid_request(
                f"too many streams: at most {self._max_streams} per connection", request_id
            )
        for stream in new:
            key = (self.market, stream.name)
            feed = self._open_feed(stream, now_ms) if stream.type.route is self.route else None
            head = b'{"stream":"' + stream.name.encode() + b'","data":'
            self._by_name[stream.name] = Subscription(
                stream, key, feed, self._faults.cursor(key), head
            )

    def remove(self, names: Iterable[str]) -> None:
        """Unsubscribe; names not subscribed are ignored, as Binance does."""
        for name in names:
            self._by_name.pop(name, None)

    def poll(self, now_ms: int, *, combined: bool) -> list[str]:
        """Every frame due on this connection at ``now_ms``, after the injected faults."""
        out: list[str] = []
        apply = self._faults.apply
        for sub in list(self._by_name.values()):
            if sub.feed is None:
                continue
            payloads = apply(sub.key, sub.cursor, sub.feed.poll(now_ms))
            if not payloads:
                continue
            out.extend(_framed(payloads, sub.combined_head if combined else None))
        return out

    def _parse(self, name: str, request_id: int | None) -> Stream:
        try:
            return parse_stream(name, self.market)
        except UnknownStreamError as error:
            raise invalid_request(f"unknown stream `{name}` ({error})", request_id) from None


def _framed(payloads: list[bytes], head: bytes | None) -> list[str]:
    """Text frames: bare payloads, or wrapped by byte concatenation (no re-serialisation)."""
    if head is None:
        return [payload.decode() for payload in payloads]
    return [(head + payload + b"}").decode() for payload in payloads]
