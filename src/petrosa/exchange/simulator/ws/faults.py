"""Faults injected into streams (``/sim/ws/...``), applied to each subscription's frames.

* stall: the stream sends nothing until the stall ends; its events meanwhile are lost.
* burst: the stream's frames are held until the burst ends, then released at once.
* skip: the next diff-depth update is never sent, a ``U``/``pu`` gap the client must catch.

Faults are keyed by (market, stream name) and apply to every connection subscribed to that
stream, on real (monotonic) time: the simulated clock may be frozen in tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from petrosa.contracts.market import Market

StreamKey = tuple[Market, str]


@dataclass
class _StreamFaults:
    stall_until_s: float = 0.0
    burst_until_s: float = 0.0
    skips: int = 0
    """Skips injected so far; each subscription drops as many updates as it has not yet."""


@dataclass
class FaultCursor:
    """One subscription's progress through its stream's faults."""

    skips_done: int = 0
    held: list[bytes] = field(default_factory=list)


class FaultBoard:
    """The faults in force, shared by every connection of the simulator."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._faults: dict[StreamKey, _StreamFaults] = {}

    def stall(self, keys: Iterable[StreamKey], seconds: float) -> None:
        """Silence these streams for ``seconds``, dropping what they would have sent."""
        until = self._monotonic() + seconds
        for key in keys:
            self._at(key).stall_until_s = until

    def burst(self, keys: Iterable[StreamKey], seconds: float) -> None:
        """Hold these streams' frames for ``seconds``, then send them all together."""
        until = self._monotonic() + seconds
        for key in keys:
            self._at(key).burst_until_s = until

    def skip(self, keys: Iterable[StreamKey]) -> None:
        """Drop the next update of these streams on every connection subscribed now."""
        for key in keys:
            self._at(key).skips += 1

    def _at(self, key: StreamKey) -> _StreamFaults:
        return self._faults.setdefault(key, _StreamFaults())

    def clear(self) -> None:
        """End every fault (a reset)."""
        self._faults.clear()

    def cursor(self, key: StreamKey) -> FaultCursor:
        """A new subscription's cursor: faults injected before it do not concern it."""
        faults = self._faults.get(key)
        return FaultCursor(skips_done=0 if faults is None else faults.skips)

    def apply(self, key: StreamKey, cursor: FaultCursor, frames: list[bytes]) -> list[bytes]:
        """The frames of one poll that go out now, after the stream's faults."""
        faults = self._faults.get(key)
        if faults is None:
            return frames
        if frames and cursor.skips_done < faults.skips:
            skipped = min(len(frames), faults.skips - cursor.skips_done)
            cursor.skips_done += skipped
            frames = frames[skipped:]
        now = self._monotonic()
        if now < faults.stall_until_s:
            return []
        if now < faults.burst_until_s:
            cursor.held.extend(frames)
            return []
        if cursor.held:
            frames, cursor.held = cursor.held + frames, []
        return frames
