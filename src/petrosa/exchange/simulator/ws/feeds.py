"""Where a subscription's frames come from: the simulated market's feed of a stream, or the
firehose when the benchmark asks for one.

A feed is polled on the sender's tick with the clock's "now" and returns the payloads (JSON
bytes, the ``data`` of a combined frame) of its events since the previous poll, oldest first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from petrosa.exchange.binance.streams import Stream


class Feed(Protocol):
    """A stream's events as they happen."""

    @property
    def stream(self) -> Stream: ...

    def poll(self, now_ms: int) -> list[bytes]:
        """Payloads of the events in (previous poll, ``now_ms``], oldest first."""
        ...


FeedOpener = Callable[[Stream, int], Feed | None]
"""Opens a stream's feed at a simulated time; None when the stream has nothing to deliver
(e.g. a symbol the simulator does not list: Binance accepts it and stays silent)."""


def no_market_feed(stream: Stream, now_ms: int) -> Feed | None:
    """Stand-in until the simulated market's feeds are wired: every stream stays silent."""
    del stream, now_ms
    return None
