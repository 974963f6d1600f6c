"""What starts an evaluation, parsed from the two inputs on the bus.

- The extractor's completion event on ``binance.klines.<SYMBOL>.<interval>``
  (``ExtractionCompleted``): new candles of that series are stored; evaluate the candle the
  event names (``last_open_time``), so a redelivery after the next candle closed still
  evaluates its own; events without it (older extractors) evaluate the latest closed one.
- The socket client's kline message on ``binance.<market>.kline_<i>.<SYMBOL>``
  (``{stream, event_time, received_at, data}``, ``data`` Binance's kline event): only when
  ``data.k.x`` is true — the candle opened at ``data.k.t`` closed — and then exactly that
  candle. A forming candle is never a trigger.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import orjson
from pydantic import ValidationError

from petrosa.contracts import Interval, Market
from petrosa.contracts.events import ExtractionCompleted

EXTRACTOR_PREFIX = "binance.klines."
KLINE_STREAM_PREFIX = "kline_"


class Source(StrEnum):
    EXTRACTOR = "extractor"
    SOCKET = "socket"


@dataclass(frozen=True)
class Trigger:
    source: Source
    market: Market
    symbol: str
    interval: Interval
    candle_open_time: int | None = None
    """The closed candle to evaluate (socket klines, extractor events that name it); None: the
    latest closed one stored."""


@dataclass(frozen=True)
class Ignored:
    """A message that starts no evaluation, and why (the ``outcome`` label of events)."""

    reason: str


def extractor_trigger(subject: str, payload: bytes) -> Trigger | Ignored:
    parts = subject.split(".")
    if len(parts) != 4 or not subject.startswith(EXTRACTOR_PREFIX):
        return Ignored("bad_subject")
    try:
        event = ExtractionCompleted.model_validate_json(payload)
        interval = Interval(event.interval or parts[3])
    except (ValidationError, ValueError):
        return Ignored("bad_payload")
    if event.dataset != "klines":
        return Ignored("not_klines")
    if not event.success and event.records_written == 0:
        return Ignored("extraction_failed")
    return Trigger(
        Source.EXTRACTOR,
        event.market,
        event.symbol.upper(),
        interval,
        candle_open_time=event.last_open_time,
    )


def socket_trigger(subject: str, payload: bytes) -> Trigger | Ignored:
    parts = subject.split(".")
    if len(parts) != 4 or not parts[2].startswith(KLINE_STREAM_PREFIX):
        return Ignored("bad_subject")
    try:
        market = Market(parts[1])
        interval = Interval(parts[2].removeprefix(KLINE_STREAM_PREFIX))
        kline = orjson.loads(payload)["data"]["k"]
        closed, open_time = kline["x"], kline["t"]
    except (ValueError, KeyError, TypeError):
        return Ignored("bad_payload")
    if closed is not True:
        return Ignored("forming")
    if not isinstance(open_time, int):
        return Ignored("bad_payload")
    return Trigger(Source.SOCKET, market, parts[3].upper(), interval, open_time)
