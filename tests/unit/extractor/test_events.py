"""The event outbox and the runner: undelivered events are retried, then named; defects keep
their tracebacks. A scripted bus stands in for NATS (the real one: test_extractor_events)."""

from __future__ import annotations

import logging
import time

import orjson
import pytest

from petrosa.bus import BusUnavailable
from petrosa.extractor.events import EventOutbox, RetryDelays
from petrosa.extractor.klines import ProgressCallback
from petrosa.extractor.outcome import EventState, SeriesOutcome
from petrosa.extractor.runner import Progress, SymbolJob, run_jobs

QUICK = RetryDelays(first_s=0.001, max_s=0.005)
LONG_DEADLINE_S = 60.0


class ScriptedBus:
    """Fails the first ``failures`` publishes with ``error``, then takes every message."""

    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or BusUnavailable("connection lost, reconnecting")
        self.attempts = 0
        self.taken: list[str] = []

    async def publish(self, subject: str, payload: bytes) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise self.error
        self.taken.append(orjson.loads(payload)["symbol"])

    async def close(self) -> None:
        return None


def series(symbol: str) -> SeriesOutcome:
    return SeriesOutcome("klines", symbol, "1m", fetched=10, written=10)


def outbox(bus: ScriptedBus, *, deadline_in_s: float = LONG_DEADLINE_S) -> EventOutbox:
    return EventOutbox(bus, deadline=time.monotonic() + deadline_in_s, delays=QUICK)


async def test_events_the_bus_refused_are_retried_and_delivered_in_order() -> None:
    bus = ScriptedBus(failures=3)
    box = outbox(bus)
    outcomes = [series(symbol) for symbol in ("BTCUSDT", "ETHUSDT", "XRPUSDT")]
    for outcome in outcomes:
        box.submit(outcome)
    await box.finish()
    assert bus.taken == ["BTCUSDT", "ETHUSDT", "XRPUSDT"]
    assert [o.event_state for o in outcomes] == [EventState.DELIVERED] * 3
    assert [o.event_attempts for o in outcomes] == [4, 1, 1]
    assert outcomes[0].event_error == "BusUnavailable: connection lost, reconnecting"


async def test_at_the_deadline_a_failing_bus_leaves_every_pending_event_named() -> None:
    bus = ScriptedBus(failures=10**9)
    box = outbox(bus, deadline_in_s=0.05)
    outcomes = [series(symbol) for symbol in ("BTCUSDT", "ETHUSDT")]
    for outcome in outcomes:
        box.submit(outcome)
    await box.finish()
    assert [o.event_state for o in outcomes] == [EventState.UNDELIVERED] * 2
    assert outcomes[0].event_attempts > 1  # retried until the deadline, and once past it …
    assert outcomes[1].event_attempts == 0  # … after which the failing bus got no more tries
    assert outcomes[1].event_error == "not sent: the bus was failing past the deadline"
    assert bus.taken == []


async def test_past_the_deadline_each_event_gets_one_attempt_until_one_fails() -> None:
    bus = ScriptedBus(failures=2)
    box = outbox(bus, deadline_in_s=-1)
    outcomes = [series(symbol) for symbol in ("BTCUSDT", "ETHUSDT", "XRPUSDT")]
    for outcome in outcomes:
        box.submit(outcome)
    await box.finish()
    assert [o.event_attempts for o in outcomes] == [1, 0, 0]
    assert [o.event_state for o in outcomes] == [EventState.UNDELIVERED] * 3
    assert bus.attempts == 1


async def test_past_the_deadline_a_healthy_bus_still_gets_each_event() -> None:
    bus = ScriptedBus()
    box = outbox(bus, deadline_in_s=-1)
    outcomes = [series(symbol) for symbol in ("BTCUSDT", "ETHUSDT")]
    for outcome in outcomes:
        box.submit(outcome)
    await box.finish()
    assert [o.event_state for o in outcomes] == [EventState.DELIVERED] * 2
    assert bus.taken == ["BTCUSDT", "ETHUSDT"]


async def test_a_defect_in_publishing_is_logged_with_its_traceback_and_not_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = ScriptedBus(failures=1, error=KeyError("payload"))
    box = outbox(bus)
    outcome = series("BTCUSDT")
    box.submit(outcome)
    await box.finish()
    assert outcome.event_state is EventState.UNDELIVERED
    assert bus.attempts == 1
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.exc_info is not None
    assert record.exc_info[0] is KeyError


class ExchangeSaidNo(Exception):
    pass


def failing_job(symbol: str, error: Exception) -> SymbolJob:
    async def run(on_fetched: ProgressCallback) -> SeriesOutcome:
        raise error

    return SymbolJob(symbol, "1m", "klines", run)


async def test_an_unexpected_error_in_a_series_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = ScriptedBus()
    box = outbox(bus)
    jobs = [
        failing_job("BTCUSDT", ExchangeSaidNo("invalid symbol")),
        failing_job("ETHUSDT", TypeError("unsupported operand")),
    ]
    outcomes = await run_jobs(
        jobs, concurrency=2, progress=Progress(), outbox=box, expected=(ExchangeSaidNo,)
    )
    await box.finish()
    assert [o.error for o in outcomes] == [
        "ExchangeSaidNo: invalid symbol",
        "TypeError: unsupported operand",
    ]
    logged = {r.getMessage().split(" ")[0]: r for r in caplog.records}
    assert logged["BTCUSDT"].exc_info is None  # expected: one line
    assert logged["ETHUSDT"].exc_info is not None  # a defect: with its traceback
    assert sorted(bus.taken) == ["BTCUSDT", "ETHUSDT"]  # failed series publish too
