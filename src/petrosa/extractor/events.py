"""Completion events are part of the job: each is delivered, or retried until the job's
deadline, or named as undelivered in the job's summary.

One delivery task sends the events in completion order. An event the bus does not confirm
is retried with exponential backoff while the deadline allows; the events behind it wait
their turn (they would fail the same way). Past the deadline every event gets one more
attempt, until one fails: what is still queued then is marked undelivered at once, so the
job can end with its summary instead of being killed mid-retry. Delivery is at least once:
an event whose confirmation was lost may reach subscribers twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from petrosa.bus import BusUnavailable, MessageBus
from petrosa.extractor.outcome import (
    EventState,
    SeriesOutcome,
    event_fields,
    one_line,
    subject_for,
)

log = logging.getLogger(__name__)

NOT_SENT = "not sent: the bus was failing past the deadline"
DEFAULT_ATTEMPT_TIMEOUT_S = 10.0
"""Longest one publish may take (the bus's own flush timeout is normally shorter)."""


@dataclass(frozen=True)
class RetryDelays:
    """Exponential backoff between delivery attempts of one event."""

    first_s: float = 0.5
    max_s: float = 4.0

    def after(self, failures: int) -> float:
        return float(min(self.max_s, self.first_s * 2 ** (failures - 1)))


DEFAULT_RETRY_DELAYS = RetryDelays()


class EventOutbox:
    """Takes finished series and delivers their events; :meth:`finish` waits for the end."""

    def __init__(
        self,
        bus: MessageBus,
        *,
        deadline: float,
        clock: Callable[[], float] = time.monotonic,
        delays: RetryDelays = DEFAULT_RETRY_DELAYS,
        attempt_timeout_s: float = DEFAULT_ATTEMPT_TIMEOUT_S,
    ) -> None:
        self._bus = bus
        self._deadline = deadline
        self._clock = clock
        self._delays = delays
        self._attempt_timeout_s = attempt_timeout_s
        self._queue: asyncio.Queue[SeriesOutcome] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._failed_past_deadline = False

    def submit(self, outcome: SeriesOutcome) -> None:
        outcome.event_state = EventState.PENDING
        self._queue.put_nowait(outcome)
        if self._worker is None:
            self._worker = asyncio.create_task(self._deliver_all(), name="event-outbox")

    async def finish(self) -> None:
        """Return once every submitted event is delivered or given up (at the deadline)."""
        if self._worker is None:
            return
        await self._queue.join()
        self._worker.cancel()
        await asyncio.gather(self._worker, return_exceptions=True)

    async def _deliver_all(self) -> None:
        while True:
            outcome = await self._queue.get()
            try:
                await self._deliver(outcome)
            finally:
                self._queue.task_done()

    async def _deliver(self, outcome: SeriesOutcome) -> None:
        subject = subject_for(outcome)
        payload = outcome.event().model_dump_json().encode()
        failures = 0
        while True:
            if self._failed_past_deadline:
                outcome.event_state = EventState.UNDELIVERED
                outcome.event_error = (
                    outcome.event_error or "not sent: the bus was failing past the deadline"
                )
                return
            outcome.event_attempts += 1
            try:
                await asyncio.wait_for(
                    self._bus.publish(subject, payload), timeout=self._attempt_timeout_s
                )
            except (BusUnavailable, TimeoutError) as error:
                outcome.event_error = one_line(error)
            except Exception as error:  # a defect, not an outage: retrying will not help
                log.exception("publishing %s failed unexpectedly", subject)
                outcome.event_error = one_line(error)
                outcome.event_state = EventState.UNDELIVERED
                return
            else:
                self._failed_past_deadline = False
                outcome.event_state = EventState.DELIVERED
                if failures:
                    log.info("event delivered late", extra={"fields": event_fields(outcome)})
                return
            failures += 1
            if failures == 1:
                log.warning(
                    "event not delivered, retrying until the deadline",
                    extra={"fields": event_fields(outcome)},
                )
            remaining = self._deadline - self._clock()
            if remaining <= 0:
                self._failed_past_deadline = True
            else:
                await asyncio.sleep(min(self._delays.after(failures), remaining))
