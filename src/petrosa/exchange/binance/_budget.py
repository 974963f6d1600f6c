"""``WeightBudget``: request weight shared by every task that talks to one Binance market.

Binance counts request weight per IP in fixed calendar minutes of *its* clock and answers
429 past the limit (418, a ban, if one keeps going). A budget keeps a process under a share
of that limit::

    acquire(w) ──► banned? raise IPBannedError (nothing is sent)
        │          paused after a 429? sleep until the pause ends
        │          the window's first request still unanswered? wait for its answer
        │          used + in flight + w > capacity? sleep until the next window
        ▼
    reserve w (in flight) ──► send ──► settle: X-MBX-USED-WEIGHT-1M replaces the estimate

* **One queue.** Waiting happens under one FIFO lock, so tasks are admitted in order and
  the check-and-reserve is atomic: concurrent tasks can never overshoot together, and after
  a pause they do not stampede.
* **The server is authoritative.** ``used`` is the largest ``X-MBX-USED-WEIGHT-1M`` seen in
  the current window (it counts every process behind the same IP), plus the weight of
  answers without that header, plus what is in flight. A header from an answer whose
  request was reserved in an earlier window is not applied (it may count the old window).
* **A probe per window.** In a new window the first request goes out alone; the others
  wait for its answer, whose header shows what other processes already used. Without it a
  burst sent blind into a minute another process nearly filled would draw a 429 apiece.
* **Server-clock windows.** The window is ``floor((server_now - margin) / 60 s)``, where
  ``server_now`` is the local clock plus the offset learnt from ``/time``; the margin
  absorbs the error of that estimate, so a reset is trusted only once it surely happened.
* **429** pauses every task on the budget until ``Retry-After`` (or the next window);
  **418** bans it: every ``acquire`` raises ``IPBannedError`` until the ban is over.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from petrosa.exchange.binance._config import (
    DEFAULT_BOUNDARY_MARGIN_S,
    DEFAULT_BUDGET_FRACTION,
    Clock,
)
from petrosa.exchange.binance._errors import IP_BANNED_STATUS, IPBannedError
from petrosa.exchange.binance._markets import (
    FUNDING_RATE_REQUESTS_PER_WINDOW,
    FUNDING_RATE_WINDOW_S,
    Market,
    market_spec,
)
from petrosa.resilience import Sleep

WEIGHT_WINDOW_S = 60.0
"""Binance's ``REQUEST_WEIGHT`` limiter: a fixed one-minute window."""
MIN_BAN_S = 120.0
"""Shortest ban Binance hands out; assumed when a 418 says nothing about its length."""
_MS_PER_S = 1_000.0


@dataclass(frozen=True)
class Reservation:
    """Weight reserved for one request; hand it back to ``WeightBudget.settle``."""

    weight: int
    window: int
    """The window (by the server clock) in which the weight was reserved."""
    waited_s: float
    """How long ``acquire`` waited before reserving."""


@dataclass
class BudgetStats:
    """What one budget did, summed over every task that shared it."""

    reserved_weight: int = 0
    reservations: int = 0
    waits: int = 0
    """Reservations that had to wait (for a window, a 429 pause or in-flight requests)."""
    wait_s: float = 0.0
    rate_limited: int = 0
    bans: int = 0


class WeightBudget:
    """Request weight for one market, shared by every task of the process that calls it.

    ``limit`` is the exchange's limit per window; the budget admits at most
    ``capacity = floor(limit * fraction)`` per window. Create one per market per process
    (``WeightBudget.for_market`` or ``shared_budget``) and give it to every client.
    """

    def __init__(
        self,
        limit: int,
        *,
        fraction: float = DEFAULT_BUDGET_FRACTION,
        window_s: float = WEIGHT_WINDOW_S,
        boundary_margin_s: float = DEFAULT_BOUNDARY_MARGIN_S,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        probe: bool = True,
        name: str = "weight",
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if not 0 < fraction <= 1:
            raise ValueError("fraction must be in (0, 1]")
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        if not 0 <= boundary_margin_s < window_s:
            raise ValueError("boundary_margin_s must be in [0, window_s)")
        self.limit = limit
        self.fraction = fraction
        self.capacity = max(1, math.floor(limit * fraction))
        self.window_s = window_s
        self.name = name
        self.probe = probe
        """Whether a window's first request goes out alone (for budgets a header reports)."""
        self.stats = BudgetStats()
        self._margin_s = boundary_margin_s
        self.clock: Clock = time.time if clock is None else clock
        """The local wall clock the budget reads (``time.time`` unless injected)."""
        self._sleep: Sleep = asyncio.sleep if sleep is None else sleep
        self._offset_s = 0.0
        self._clock_synced = False
        self._window = self._window_at(self.server_now())
        self._reported = 0
        self._unreported = 0
        self._in_flight = 0
        self._paused_until = 0.0
        self._banned_until = 0.0
        self._answered_window: int | None = None
        """The last window in which a request of this budget got an answer."""
        self._probe_window: int | None = None
        """The last window in which a request went out before any answer of that window."""
        self._locks: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = {}
        self._events: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    @classmethod
    def for_market(
        cls,
        market: Market | str,
        *,
        fraction: float = DEFAULT_BUDGET_FRACTION,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> WeightBudget:
        """A budget of ``fraction`` of the market's limit: spot 6,000/min, futures 2,400/min."""
        return cls(
            market_spec(market).weight_limit,
            fraction=fraction,
            clock=clock,
            sleep=sleep,
            name=f"{Market(market).value} weight",
        )

    @classmethod
    def for_funding_rates(
        cls,
        *,
        fraction: float = DEFAULT_BUDGET_FRACTION,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> WeightBudget:
        """The separate limit of ``/fapi/v1/fundingRate``: 500 requests per 5 minutes."""
        return cls(
            FUNDING_RATE_REQUESTS_PER_WINDOW,
            fraction=fraction,
            window_s=FUNDING_RATE_WINDOW_S,
            clock=clock,
            sleep=sleep,
            probe=False,  # no header reports this count: a probe would learn nothing
            name="fundingRate requests",
        )

    def adopt_limit(self, limit: int) -> None:
        """Follow the limit the exchange publishes (``exchangeInfo``), keeping the fraction."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.capacity = max(1, math.floor(limit * self.fraction))
        self._wake()

    # -- the server clock -------------------------------------------------------------

    def server_now(self) -> float:
        """The server's time in epoch seconds, as far as this process knows it."""
        return self.clock() + self._offset_s

    @property
    def clock_synced(self) -> bool:
        """Whether the offset to the server clock has been measured."""
        return self._clock_synced

    def observe_server_time(self, server_ms: int, *, sent_at: float, received_at: float) -> None:
        """Learn the server clock from a ``/time`` answer bracketed by local clock readings."""
        self._offset_s = server_ms / _MS_PER_S - (sent_at + received_at) / 2
        self._clock_synced = True
        # Relabel the current window without clearing it: the weight counted so far was
        # really spent just now, whatever the window is called.
        self._window = self._window_at(self.server_now())

    async def sync_clock(self, measure: Callable[[], Awaitable[object]]) -> None:
        """Measure the server clock once; ``measure`` asks ``/time`` and calls
        ``observe_server_time``. Concurrent callers wait for the first instead of all asking.
        """
        if self._clock_synced:
            return
        async with self._lock("sync"):
            if not self._clock_synced:
                await measure()

    # -- reserving and settling -------------------------------------------------------

    @property
    def used(self) -> int:
        """Weight counted in the current window: reported, unreported and in flight."""
        self._roll(self.server_now())
        return self._reported + self._unreported + self._in_flight

    async def acquire(self, weight: int) -> Reservation:
        """Reserve ``weight``, first waiting as long as needed; raises ``IPBannedError``."""
        if weight < 0:
            raise ValueError("weight must not be negative")
        if weight > self.capacity:
            raise ValueError(f"weight {weight} can never fit the {self.name} budget")
        started = self.clock()
        async with self._lock("acquire"):
            while True:
                if weight > self.capacity:  # the limit may have been lowered meanwhile
                    raise ValueError(f"weight {weight} can never fit the {self.name} budget")
                now = self.server_now()
                self._check_ban(now)
                delay = self._delay_before(weight, now)
                if delay == 0:
                    break
                if delay is None:
                    await self._next_answer()
                else:
                    await self._sleep(delay)
            self._in_flight += weight
            if self._answered_window != self._window:
                self._probe_window = self._window
            waited = self.clock() - started
            self.stats.reservations += 1
            self.stats.reserved_weight += weight
            if waited > 0:
                self.stats.waits += 1
                self.stats.wait_s += waited
            return Reservation(weight=weight, window=self._window, waited_s=waited)

    def settle(
        self, reservation: Reservation, *, used_weight: int | None, reached_server: bool
    ) -> None:
        """Account for a finished request.

        ``used_weight`` is the answer's ``X-MBX-USED-WEIGHT-1M`` (None: no such header);
        ``reached_server`` is False only when the request certainly never arrived.
        """
        self._in_flight -= reservation.weight
        self._roll(self.server_now())
        if reservation.window == self._window:
            if reached_server:
                self._answered_window = self._window
            else:
                self._probe_window = None  # the probe never arrived: the next request probes
        self._wake()
        if used_weight is not None and reservation.window == self._window:
            # Within a window the server's count only grows: a smaller number is an older
            # answer that arrived after a newer one, so it is ignored.
            if used_weight >= self._reported:
                self._reported = used_weight
                self._unreported = 0
        elif reached_server:
            self._unreported += reservation.weight

    def rate_limited(self, retry_after_s: float | None) -> float:
        """A 429: pause every task until ``Retry-After`` (else the next window); returns the pause.

        The count itself comes from the 429's own ``X-MBX-USED-WEIGHT-1M`` (via ``settle``);
        the server's ``Retry-After`` is trusted as the end of the pause, since a 429 can also
        come from another of its limiters.
        """
        now = self.server_now()
        self._roll(now)
        until = self._next_window_start() if retry_after_s is None else now + retry_after_s
        self._paused_until = max(self._paused_until, until)
        self.stats.rate_limited += 1
        self._wake()
        return self._paused_until - now

    def ban(self, ban_s: float | None) -> None:
        """A 418: refuse every request for ``ban_s`` seconds (unknown: the shortest ban)."""
        now = self.server_now()
        self._banned_until = max(self._banned_until, now + (MIN_BAN_S if ban_s is None else ban_s))
        self.stats.bans += 1
        self._wake()

    @property
    def banned_for_s(self) -> float:
        """Seconds the IP remains banned (0 when not banned)."""
        return max(0.0, self._banned_until - self.server_now())

    # -- internals ----------------------------------------------------------------------

    def _window_at(self, server_now: float) -> int:
        return math.floor((server_now - self._margin_s) / self.window_s)

    def _next_window_start(self) -> float:
        return (self._window + 1) * self.window_s + self._margin_s

    def _roll(self, now: float) -> None:
        """Start counting afresh when a new window began; in-flight weight carries over."""
        window = self._window_at(now)
        if window > self._window:
            self._window = window
            self._reported = 0
            self._unreported = 0

    def _delay_before(self, weight: int, now: float) -> float | None:
        """Seconds to sleep before ``weight`` may be reserved (0: now); None: wait instead
        for the next answer, which may change the verdict."""
        self._roll(now)
        if self._paused_until > now:
            return self._paused_until - now
        if (
            self.probe
            and self._probe_window == self._window
            and self._answered_window != self._window
        ):
            # The window's first request is out and its answer will tell what the server
            # counts (other processes included): wait for it rather than send blind.
            return None
        counted = self._reported + self._unreported
        if counted + self._in_flight + weight <= self.capacity:
            return 0.0
        if counted + weight <= self.capacity:
            # Only requests still in flight stand in the way; their answers may show they
            # were counted in an earlier window, or by less than feared.
            return None
        return self._next_window_start() - now

    async def _next_answer(self) -> None:
        """Wait until a request of this budget settles (one will: it is in flight), or a
        429 or 418 changes the picture."""
        changed = self._changed()
        changed.clear()
        await changed.wait()

    def _wake(self) -> None:
        """Let the task waiting for an answer look again."""
        if self._events is not None:
            self._events[1].set()

    def _check_ban(self, now: float) -> None:
        remaining = self._banned_until - now
        if remaining > 0:
            raise IPBannedError(
                f"the IP is banned by Binance for another {remaining:.0f}s; nothing was sent",
                status=IP_BANNED_STATUS,
                retry_after_s=remaining,
                attempts=0,
            )

    def _lock(self, purpose: str) -> asyncio.Lock:
        """A lock for the running event loop (asyncio primitives cannot cross loops)."""
        loop = asyncio.get_running_loop()
        held = self._locks.get(purpose)
        if held is None or held[0] is not loop:
            held = (loop, asyncio.Lock())
            self._locks[purpose] = held
        return held[1]

    def _changed(self) -> asyncio.Event:
        """Set when a request settles or a 429/418 arrives; for the running event loop."""
        loop = asyncio.get_running_loop()
        if self._events is None or self._events[0] is not loop:
            self._events = (loop, asyncio.Event())
        return self._events[1]


_SHARED: dict[tuple[str, str], WeightBudget] = {}


def shared_budget(market: Market | str, base_url: str) -> WeightBudget:
    """The process-wide budget of ``market`` at ``base_url`` (limits are per host and IP)."""
    key = (Market(market).value, base_url)
    if key not in _SHARED:
        _SHARED[key] = WeightBudget.for_market(market)
    return _SHARED[key]


def shared_funding_budget(base_url: str) -> WeightBudget:
    """The process-wide budget of ``/fapi/v1/fundingRate`` requests at ``base_url``."""
    key = ("fundingRate", base_url)
    if key not in _SHARED:
        _SHARED[key] = WeightBudget.for_funding_rates()
    return _SHARED[key]
