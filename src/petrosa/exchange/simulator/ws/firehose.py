"""Synthetic event streams at a fixed rate, for throughput benchmarks.

With ``EXCHANGE_SIM_WS_FIREHOSE_RATE`` set, each subscribed aggTrade, trade or bookTicker
stream emits that many well-formed payloads per second of real time (the simulated clock may
be frozen), regardless of the market's own activity. Ids (``a``, ``t``, ``u``) start at 1 and
increase by one per message, so a receiver can verify that nothing was lost or reordered.
A sender that falls behind gets at most ``MAX_BACKLOG_S`` of messages per poll: the rest of
the time is skipped, the ids stay contiguous.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from petrosa.contracts.market import Market
from petrosa.exchange.binance.streams import Stream, StreamKind

FIREHOSE_KINDS = (StreamKind.AGG_TRADE, StreamKind.TRADE, StreamKind.BOOK_TICKER)
MAX_BACKLOG_S = 0.05
"""At most this much time's worth of messages per poll: a slow reader bounds the batch (and
the memory it takes)."""
_ROUNDING = 1e-6
"""Float time: 10 ms at 1,000/s is 10 events, not 9.999…"""


class FirehoseFeed:
    """``rate`` synthetic events per second on one stream."""

    def __init__(
        self,
        stream: Stream,
        rate: int,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if stream.type.kind not in FIREHOSE_KINDS:
            raise ValueError(f"no firehose for {stream.name}")
        self.stream = stream
        self.rate = rate
        self._monotonic = monotonic
        self._started_s = monotonic()
        self._emitted = 0
        self._skipped = 0
        self._render = _renderer(stream)

    def poll(self, now_ms: int) -> list[bytes]:
        """The events due since the previous poll (at most ``MAX_BACKLOG_S`` worth)."""
        elapsed_s = self._monotonic() - self._started_s
        due = int(elapsed_s * self.rate + _ROUNDING) - self._skipped
        count = due - self._emitted
        cap = max(1, int(self.rate * MAX_BACKLOG_S))
        if count > cap:
            self._skipped += count - cap
            count = cap
        first = self._emitted + 1
        self._emitted += count
        render = self._render
        return [render(event_id, now_ms) for event_id in range(first, first + count)]


def _renderer(stream: Stream) -> Callable[[int, int], bytes]:
    """A fast formatter of one payload from an id and a time (no JSON encoder per message)."""
    symbol = stream.symbol
    spot = stream.type.market is Market.SPOT
    kind = stream.type.kind
    if kind is StreamKind.AGG_TRADE:
        best = ',"M":true' if spot else ""
        template = (
            '{"e":"aggTrade","E":%d,"s":"' + symbol + '","a":%d,"p":"%d.%02d","q":"0.010",'
            '"f":%d,"l":%d,"T":%d,"m":%s' + best + "}"
        )

        def agg_trade(event_id: int, now_ms: int) -> bytes:
            whole, cents = _price(event_id)
            maker = "true" if event_id & 1 else "false"
            values = (now_ms, event_id, whole, cents, event_id, event_id, now_ms, maker)
            return (template % values).encode()

        return agg_trade
    if kind is StreamKind.TRADE:
        template = (
            '{"e":"trade","E":%d,"s":"' + symbol + '","t":%d,"p":"%d.%02d","q":"0.010",'
            '"T":%d,"m":%s,"M":true}'
        )

        def trade(event_id: int, now_ms: int) -> bytes:
            whole, cents = _price(event_id)
            maker = "true" if event_id & 1 else "false"
            return (template % (now_ms, event_id, whole, cents, now_ms, maker)).encode()

        return trade
    head = '{"u":%d,' if spot else '{"e":"bookTicker","u":%d,"E":%d,"T":%d,'
    template = head + '"s":"' + symbol + '","b":"%d.%02d","B":"1.000","a":"%d.%02d","A":"1.000"}'

    def book_ticker(event_id: int, now_ms: int) -> bytes:
        whole, cents = _price(event_id)
        times = () if spot else (now_ms, now_ms)
        return (template % (event_id, *times, whole, cents, whole, cents + 1)).encode()

    return book_ticker


def _price(event_id: int) -> tuple[int, int]:
    """A price that wanders within a dollar, as whole and cents (cents below 99)."""
    return 50_000, event_id % 98
