"""A circuit breaker: stop calling a server that keeps failing, and notice when it is back.

::

    CLOSED ──(failure_threshold consecutive failures)──► OPEN ──(cooldown elapsed)──► HALF_OPEN
      ▲                                                  ▲                               │
      └───────────────(trial request succeeds)───────────┼───────────────────────────────┤
                                                         └──(trial request fails)────────┘

While OPEN every call fails fast with ``CircuitOpenError``. HALF_OPEN lets exactly one trial
request through; the others keep failing fast until the trial's outcome is known.
The breaker is driven by an injected clock, and holds no lock: one instance belongs to one
event loop, and none of its methods awaits.
"""

from __future__ import annotations

from enum import StrEnum

from petrosa.client._config import BreakerPolicy, Clock
from petrosa.client._exceptions import CircuitOpenError


class CircuitState(StrEnum):
    """Where the breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts consecutive failures; opens, half-opens and closes as drawn in the module doc."""

    def __init__(self, policy: BreakerPolicy, clock: Clock) -> None:
        self._policy = policy
        self._clock = clock
        self._state = CircuitState.CLOSED
        self._consecutive_failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> CircuitState:
        """The current state; an OPEN breaker whose cool-down has elapsed reports HALF_OPEN."""
        if self._state is CircuitState.OPEN and self._remaining_cooldown() <= 0:
            return CircuitState.HALF_OPEN
        return self._state

    @property
    def consecutive_failures(self) -> int:
        """Failures since the last success."""
        return self._consecutive_failures

    def acquire(self) -> bool:
        """Ask to send a request; True when it is the half-open trial.

        Raises ``CircuitOpenError`` when the request must fail fast.
        """
        state = self.state
        if state is CircuitState.CLOSED:
            return False
        if state is CircuitState.HALF_OPEN and not self._trial_in_flight:
            self._state = CircuitState.HALF_OPEN
            self._trial_in_flight = True
            return True
        retry_after_s = max(self._remaining_cooldown(), 0.0)
        raise CircuitOpenError(
            f"circuit open after {self._consecutive_failures} consecutive failures; "
            + (
                "a trial request is in flight"
                if self._trial_in_flight
                else f"next trial in {retry_after_s:.2f}s"
            ),
            retry_after_s=retry_after_s,
        )

    def record_success(self) -> None:
        """The server answered: close the circuit and forget past failures."""
        self._state = CircuitState.CLOSED
        self._consecutive_failures = 0
        self._trial_in_flight = False

    def record_failure(self) -> None:
        """The server is unreachable or unavailable: count it, open or re-open."""
        self._consecutive_failures += 1
        trial_failed = self._state is CircuitState.HALF_OPEN
        threshold_reached = (
            self._state is CircuitState.CLOSED
            and self._consecutive_failures >= self._policy.failure_threshold
        )
        if trial_failed or threshold_reached:
            self._open()
        # Already OPEN: a request that started before the circuit opened failed late;
        # restarting the cool-down for it would keep the circuit open longer than asked.

    def release(self, *, trial: bool) -> None:
        """A granted request ended with no verdict (e.g. cancelled): free its trial slot.

        Without this a cancelled trial would leave the breaker half-open with its single slot
        taken forever, failing every later call.
        """
        if trial:
            self._trial_in_flight = False

    def _open(self) -> None:
        self._state = CircuitState.OPEN
        self._opened_at = self._clock()
        self._trial_in_flight = False

    def _remaining_cooldown(self) -> float:
        return self._opened_at + self._policy.cooldown_s - self._clock()
