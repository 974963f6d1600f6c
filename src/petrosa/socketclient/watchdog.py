"""How long a stream may stay silent before its connection counts as stalled.

A periodic stream (klines, depth, markPrice) pushes on a cadence: ten missed pushes, and
never less than 5 s, mean it stopped. An event stream (aggTrade, trade, bookTicker) pushes
per event, so only a configured quiet time (default 60 s) can tell a stall from a calm
market.
"""

from __future__ import annotations

from petrosa.exchange.binance.streams import StreamType

MIN_SILENCE_S = 5.0
MISSED_PUSHES = 10


def silence_limit_s(stream_type: StreamType, event_quiet_s: float) -> float:
    cadence_ms = stream_type.cadence_ms
    if cadence_ms is None:
        return event_quiet_s
    return max(MIN_SILENCE_S, MISSED_PUSHES * cadence_ms / 1000)
