"""What every feed is and the few rules they share: event windows, cadence boundaries, and
the market a stream belongs to.

A feed is polled with the clock's "now" and answers with every event whose event time lies
in (previous poll, now], oldest first. Periodic streams emit on the multiples of their
cadence (epoch-aligned, as Binance's timers are); when the clock has jumped over several
boundaries each feed coalesces as Binance's own catch-up would look to a client (see each
module). Event streams (trades) emit every event, at most ``MAX_EVENTS_PER_POLL`` per poll.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from petrosa.contracts.market import Market
from petrosa.exchange.binance.streams import Stream
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.venue import FUTURES, SPOT, MarketProfile

MAX_EVENTS_PER_POLL = 5_000
"""Events one poll of an event stream returns at most; the rest come with the next poll
(bounds the work of one poll after a jump of the clock)."""


class Feed(Protocol):
    """The payloads of one stream, as the WebSocket server pushes them."""

    stream: Stream

    def poll(self, now_ms: int) -> list[bytes]:
        """The ``data`` payloads (JSON bytes) of the events with event time in
        (previous poll, ``now_ms``], oldest first."""
        ...


def encode(payload: dict[str, Any]) -> bytes:
    """A payload as JSON bytes, keys in Binance's order (dicts keep insertion order)."""
    return orjson.dumps(payload)


def latest_boundary(after_ms: int, now_ms: int, cadence_ms: int) -> int | None:
    """The last multiple of ``cadence_ms`` in (``after_ms``, ``now_ms``]; None if none."""
    boundary = now_ms - now_ms % cadence_ms
    return boundary if boundary > after_ms else None


def market_kind(stream: Stream) -> MarketKind:
    """The simulated market a stream reads."""
    return MarketKind.SPOT if stream.type.market is Market.SPOT else MarketKind.FUTURES


def profile_of(stream: Stream) -> MarketProfile:
    """How the stream's market formats numbers (the same as its REST API)."""
    return SPOT if stream.type.market is Market.SPOT else FUTURES


def cadence_of(stream: Stream) -> int:
    """The cadence of a periodic stream (a programming error for an event stream)."""
    cadence = stream.type.cadence_ms
    if cadence is None:
        raise ValueError(f"{stream.name} is an event stream: it has no cadence")
    return cadence
