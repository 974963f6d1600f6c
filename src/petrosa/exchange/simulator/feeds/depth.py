"""Depth streams: ``<symbol>@depth[@speed]`` (diff) and ``<symbol>@depth<N>[@speed]`` (the
top N levels), on the multiples of their cadence.

Diff depth sends the book's changes since the last event it sent, only when something
changed, so ids chain exactly: spot ``U`` = the previous ``u`` + 1, futures ``pu`` = the
previous ``u``; applied to any ``/depth`` snapshot they continue (the sync rules in
BINANCE.md). After a jump of the clock both send one event at the latest boundary: diff
depth covering every step since the last event, partial depth the book as it is then. A
jump longer than ``MAX_DIFF_SPAN_STEPS`` is a gap instead (the event covers only the last
step, so ``U``/``pu`` break and a client resyncs, as after a stalled Binance stream): the
changes of every step of an hour would take the server's event loop seconds to compute.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from petrosa.contracts.market import Market
from petrosa.exchange.binance.streams import Stream
from petrosa.exchange.simulator.feeds.base import cadence_of, encode, latest_boundary
from petrosa.exchange.simulator.feeds.book_source import Level, OrderBook, step_time

MAX_DIFF_SPAN_STEPS = 600
"""One minute of 100 ms steps: the longest span one diff event covers."""


def _levels(levels: Sequence[Level]) -> list[list[str]]:
    return [[price, qty] for price, qty in levels]


class _PeriodicBookFeed(ABC):
    """A depth stream: one event at most per poll, at the latest cadence boundary."""

    def __init__(self, book: OrderBook, stream: Stream, now_ms: int) -> None:
        self.stream = stream
        self._book = book
        self._futures = stream.type.market is Market.FUTURES
        self._cadence_ms = cadence_of(stream)
        self._emitted_ms = now_ms
        self._step = book.step_at(now_ms)
        """The step the last event brought the client to (at first: the feed's start)."""

    def poll(self, now_ms: int) -> list[bytes]:
        boundary = latest_boundary(self._emitted_ms, now_ms, self._cadence_ms)
        self._emitted_ms = max(self._emitted_ms, now_ms)
        if boundary is None:
            return []
        payload = self._event(boundary, self._book.step_at(boundary))
        return [] if payload is None else [encode(payload)]

    @abstractmethod
    def _event(self, event_ms: int, step: int) -> dict[str, Any] | None:
        """The payload at ``event_ms`` (book ``step``), or None when there is nothing to send."""


class DiffDepthFeed(_PeriodicBookFeed):
    """``depthUpdate`` events with the levels that changed."""

    def _event(self, event_ms: int, step: int) -> dict[str, Any] | None:
        if step <= self._step:
            return None
        if step - self._step > MAX_DIFF_SPAN_STEPS:
            self._step = step - 1  # a gap: the client's continuity check catches it
        changes = self._book.changes(self._step, step)
        if not changes.bids and not changes.asks:
            return None  # nothing to say: the next event starts from the same step
        self._step = step
        payload: dict[str, Any] = {"e": "depthUpdate", "E": event_ms}
        if self._futures:
            payload["T"] = step_time(step)
        payload |= {
            "s": self.stream.symbol,
            "U": changes.first_update_id,
            "u": changes.last_update_id,
        }
        if self._futures:
            payload["pu"] = changes.previous_update_id
        return payload | {"b": _levels(changes.bids), "a": _levels(changes.asks)}


class PartialDepthFeed(_PeriodicBookFeed):
    """The top N levels: spot ``{lastUpdateId, bids, asks}``, futures a ``depthUpdate``."""

    def _event(self, event_ms: int, step: int) -> dict[str, Any] | None:
        snapshot = self._book.snapshot(step, self.stream.type.levels)
        if not self._futures:
            return {
                "lastUpdateId": snapshot.last_update_id,
                "bids": _levels(snapshot.bids),
                "asks": _levels(snapshot.asks),
            }
        previous = self._book.update_id(self._step)
        self._step = step
        return {
            "e": "depthUpdate",
            "E": event_ms,
            "T": step_time(step),
            "s": self.stream.symbol,
            "U": previous + 1,
            "u": snapshot.last_update_id,
            "pu": previous,
            "b": _levels(snapshot.bids),
            "a": _levels(snapshot.asks),
        }
