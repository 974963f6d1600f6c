"""Stand-ins for the stream server's unit tests: a scripted feed and a movable monotonic clock."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from petrosa.exchange.binance.streams import Stream


class FakeMonotonic:
    """A monotonic clock the test moves."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class ScriptedFeed:
    """One event per ``step_ms`` of simulated time after it opened: ``{"n": k, "s": name}``."""

    stream: Stream
    opened_ms: int
    step_ms: int = 100
    polls: list[int] = field(default_factory=list)
    _last_ms: int = -1

    def __post_init__(self) -> None:
        self._last_ms = self.opened_ms

    def poll(self, now_ms: int) -> list[bytes]:
        self.polls.append(now_ms)
        first = (self._last_ms - self.opened_ms) // self.step_ms + 1
        last = (now_ms - self.opened_ms) // self.step_ms
        self._last_ms = max(self._last_ms, now_ms)
        return [orjson.dumps({"n": n, "s": self.stream.name}) for n in range(first, last + 1)]


class FeedRecorder:
    """A feed opener that scripts every stream and remembers what it opened."""

    def __init__(self, step_ms: int = 100) -> None:
        self.step_ms = step_ms
        self.opened: list[ScriptedFeed] = []

    def __call__(self, stream: Stream, now_ms: int) -> ScriptedFeed:
        feed = ScriptedFeed(stream, now_ms, self.step_ms)
        self.opened.append(feed)
        return feed
