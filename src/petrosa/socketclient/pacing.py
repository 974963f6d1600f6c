"""Rates the client must stay under: what it sends per connection, and how often it connects.

Binance closes a connection that receives more than 5 (spot) or 10 (USD-M) messages per
second, pings, pongs and control messages alike, and bans an IP that opens more than 300
connections in 5 minutes. The client sends no pings of its own and answers the server's
(one every 20 s at most); everything else it sends is a control message that first takes
a slot from a :class:`SlidingWindow` sized at half the limit per 1.1 s. So within any one-second
window at most ``limit // 2`` control messages plus one pong leave: under the limit for
every configuration, however many streams change at once.
"""

from __future__ import annotations

import asyncio
import random as _random
import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from petrosa.contracts.market import Market
from petrosa.exchange.binance.streams import INCOMING_MESSAGES_PER_SECOND
from petrosa.resilience import Clock, RandomUnit, Sleep, full_jitter_backoff

STREAMS_PER_CONTROL_MESSAGE = 100
"""Names per SUBSCRIBE/UNSUBSCRIBE: a few messages cover a whole connection's streams."""
CONTROL_WINDOW_S = 1.1
"""A second plus a margin, so neither clock rounding nor the server's own window edges can
see one more message in a second."""
CONNECTION_WINDOW_S = 300.0


def control_budget(market: Market) -> int:
    """Control messages per second allowed on one connection: half of Binance's limit."""
    return max(1, INCOMING_MESSAGES_PER_SECOND[market] // 2)


class SlidingWindow:
    """At most ``limit`` acquisitions in any window of ``window_s`` seconds.

    ``acquire`` waits (with the injected sleep) until the oldest acquisition in the window
    has aged out; it never lets one through early.
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("need limit >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._sleep = sleep
        self._times: deque[float] = deque()
        self._lock = asyncio.Lock()

    def wait_s(self) -> float:
        """How long until a slot is free (0: now)."""
        now = self._clock()
        # One expression decides both (free slot, wait): with two, float rounding once let
        # a third message through with a "wait" of -0.0000001 s.
        while self._times and self._times[0] + self.window_s - now <= 0:
            self._times.popleft()
        if len(self._times) < self.limit:
            return 0.0
        return self._times[0] + self.window_s - now

    async def acquire(self) -> None:
        async with self._lock:  # one waiter at a time keeps the slots in arrival order
            while (delay := self.wait_s()) > 0:
                await self._sleep(delay)
            self._times.append(self._clock())


def control_messages(method: str, names: Iterable[str], first_id: int) -> Iterator[bytes]:
    """``{"method", "params", "id"}`` messages covering ``names``, a bounded batch each."""
    batch: list[str] = []
    next_id = first_id
    for name in names:
        batch.append(name)
        if len(batch) == STREAMS_PER_CONTROL_MESSAGE:
            yield _control(method, batch, next_id)
            batch, next_id = [], next_id + 1
    if batch:
        yield _control(method, batch, next_id)


def _control(method: str, params: list[str], message_id: int) -> bytes:
    body: dict[str, Any] = {"method": method, "params": params, "id": message_id}
    return orjson.dumps(body)


class ReconnectBackoff:
    """Waits between connection attempts: random in [0, min(max_s, 1 s·2ⁿ⁻¹)] after the n-th
    consecutive failure; a connection that delivered data for ``reset_after_s`` resets n."""

    def __init__(
        self,
        *,
        max_s: float = 60.0,
        reset_after_s: float = 60.0,
        random: RandomUnit = _random.random,
    ) -> None:
        self.max_s = max_s
        self.reset_after_s = reset_after_s
        self._random = random
        self.failures = 0

    def record(self, *, data_flowed_s: float) -> float:
        """After a connection ended (or never opened): the wait before the next attempt."""
        if data_flowed_s >= self.reset_after_s:
            self.failures = 0
        self.failures += 1
        return full_jitter_backoff(
            self.failures, initial_s=1.0, max_s=self.max_s, random=self._random
        )

    def succeeded(self) -> None:
        self.failures = 0


def connection_limiter(attempts_per_5_min: int, **timing: Any) -> SlidingWindow:
    """Shared by every connection of the process: at most this many opens per 5 minutes."""
    return SlidingWindow(attempts_per_5_min, CONNECTION_WINDOW_S, **timing)
