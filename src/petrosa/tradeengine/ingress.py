"""NATS JetStream ingress: one durable pull consumer on ``signals.trading`` shared by every
replica. A message is acked only once its decision is durable in the Data Manager; on a
crash or a lost lock it is redelivered, and the ledger makes the retry a no-op.

Every message ends: the handler's :class:`Verdict` says how. ``decided`` is acked;
``refused`` (recorded as an invalid signal) is terminated; ``retry`` is redelivered after a
growing delay, up to ``max_deliver`` deliveries, the last of which dead-letters it;
``dead`` (it can never be decided, not even recorded) is dead-lettered at once. A
dead-lettered message is terminated once its dead letter is stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from petrosa.bus import connect_nats
from petrosa.tradeengine.dead_letters import DeadLetter
from petrosa.tradeengine.failures import try_again

log = logging.getLogger(__name__)

SIGNALS_SUBJECT = "signals.trading"
CONCURRENCY = 16
"""Signals one replica handles at once (different symbols run in parallel)."""
FETCH_BATCH = 1
"""Messages asked for per pull. One: nats-py's fetch of a batch can hold the first message
until the batch fills or the pull expires, which showed as arrivals delayed by 100-250 ms
(bench/tradeengine.py, "arrival" step); a pull per message costs one small round trip."""
FETCH_WAIT_S = 1.0
NAK_DELAY_S = 1.0
"""Redelivery delay after the first failed delivery; doubled after each further one..."""
NAK_DELAY_MAX_S = 10.0
"""...up to this. With the default 20 deliveries a signal is retried for about 3 minutes:
longer than a signal stays fresh (``max_signal_age_s``), so a recovered dependency sees it
again and rejects it as stale rather than it ending as a dead letter."""
MAX_ACK_PENDING = 1_000


class Outcome(StrEnum):
    DECIDED = "decided"
    """The decision is durable: ack."""
    REFUSED = "refused"
    """Not a valid signal, and recorded as such: terminate."""
    RETRY = "retry"
    """Not decided here (a dependency is down, another replica holds it): redeliver."""
    DEAD = "dead"
    """Can never be decided, not even recorded: dead-letter and terminate."""


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str = ""


Handler = Callable[[bytes], Awaitable[Verdict]]
DeadLetterSink = Callable[[DeadLetter], Awaitable[object]]
"""Stores a dead letter durably; raises when it could not."""


async def ensure_stream(client: Client, stream: str, subject: str = SIGNALS_SUBJECT) -> None:
    """The stream that keeps signals until a replica has handled them."""
    js = client.jetstream()
    config = StreamConfig(name=stream, subjects=[subject])
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)


async def ensure_consumer(js: JetStreamContext, stream: str, config: ConsumerConfig) -> None:
    """The durable consumer with ``config``: created, or updated when an existing one was
    created with other settings (an older release, or another ``max_deliver``)."""
    assert config.durable_name is not None
    try:
        info = await js.consumer_info(stream, config.durable_name)
    except NotFoundError:
        await js.add_consumer(stream, config)
        return
    changed = differences(info.config, config)
    if changed:
        log.info("updating consumer %s on %s: %s", config.durable_name, stream, ", ".join(changed))
        await js.add_consumer(stream, config)


def differences(current: ConsumerConfig, wanted: ConsumerConfig) -> list[str]:
    """The settings this ingress relies on that ``current`` does not have as ``wanted``."""
    fields = ("ack_policy", "ack_wait", "max_deliver", "max_ack_pending", "filter_subject")
    return [
        f"{name} {getattr(current, name)} -> {getattr(wanted, name)}"
        for name in fields
        if getattr(current, name) != getattr(wanted, name)
    ]


def nak_delay_s(deliveries: int) -> float:
    """How long to wait before the next delivery after ``deliveries`` failed ones."""
    doublings = max(0, min(deliveries, 32) - 1)
    return min(NAK_DELAY_S * (1 << doublings), NAK_DELAY_MAX_S)


_ANSWERS = {
    Outcome.DECIDED: "ack",
    Outcome.REFUSED: "term",
    Outcome.RETRY: "nak",
    Outcome.DEAD: "term",
}


def _key(message: Msg) -> str:
    """``<stream>:<stream sequence>``, as dead letters are named."""
    meta = message.metadata
    return f"{meta.stream}:{meta.sequence.stream}"


class SignalConsumer:
    def __init__(
        self,
        url: str,
        *,
        stream: str,
        subject: str = SIGNALS_SUBJECT,
        durable: str,
        ack_wait_s: float,
        max_deliver: int,
        handler: Handler,
        dead_letter: DeadLetterSink,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.url = url
        self.stream = stream
        self.subject = subject
        self.durable = durable
        self.ack_wait_s = ack_wait_s
        self.max_deliver = max_deliver
        self.handler = handler
        self.dead_letter = dead_letter
        self.concurrency = concurrency
        self.client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._handling: set[asyncio.Task[None]] = set()

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.is_connected

    @property
    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            name=self.durable,
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_s,
            max_deliver=self.max_deliver,
            max_ack_pending=MAX_ACK_PENDING,
            filter_subject=self.subject,
        )

    async def start(self) -> None:
        """Connect, make sure of the stream and the durable consumer, start pulling (a
        failed start leaves nothing open: it may simply be called again)."""
        client = await connect_nats(self.url, name="petrosa-tradeengine")
        try:
            await ensure_stream(client, self.stream, self.subject)
            await ensure_consumer(client.jetstream(), self.stream, self.config)
        except BaseException:
            await client.close()
            raise
        self.client = client
        self._task = asyncio.create_task(self._run(), name="signal-consumer")

    async def stop(self) -> None:
        """Stop fetching and abandon the messages in hand (NATS redelivers them after
        ``ack_wait``; the ledger lets a successor resume where this replica stopped)."""
        for task in (self._task, *self._handling):
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in (self._task, *self._handling) if t is not None), return_exceptions=True
        )
        if self.client is not None and not self.client.is_closed:
            await self.client.close()

    async def _run(self) -> None:
        assert self.client is not None
        subscription = await self.client.jetstream().pull_subscribe_bind(
            durable=self.durable, stream=self.stream
        )
        gate = asyncio.Semaphore(self.concurrency)
        while True:
            try:
                messages = await subscription.fetch(FETCH_BATCH, timeout=FETCH_WAIT_S)
            except NatsTimeout:
                continue
            except NatsError as error:  # connection trouble: nats-py reconnects; try again
                log.warning("signal fetch failed: %s", error)
                await asyncio.sleep(NAK_DELAY_S)
                continue
            except Exception:
                log.exception("signal fetch failed unexpectedly")
                await asyncio.sleep(NAK_DELAY_S)
                continue
            for message in messages:
                await gate.acquire()
                task = asyncio.create_task(self._one(message, gate))
                self._handling.add(task)
                task.add_done_callback(self._handling.discard)

    async def _one(self, message: Msg, gate: asyncio.Semaphore) -> None:
        try:
            await self.settle(message)
        except Exception:  # the answer to NATS failed: it redelivers after ack_wait
            log.exception("could not settle a signal message")
        finally:
            gate.release()

    async def settle(self, message: Msg) -> Outcome:
        """Handle ``message`` and answer NATS; returns how it ended (RETRY: redelivered)."""
        deliveries = message.metadata.num_delivered
        verdict = await self._verdict(message.data, deliveries)
        if verdict.outcome is Outcome.RETRY and deliveries >= self.max_deliver:
            verdict = Verdict(
                Outcome.DEAD, f"{verdict.reason} (gave up after {deliveries} deliveries)"
            )
        outcome = verdict.outcome
        if outcome is Outcome.DEAD and not await self._buried(message, verdict.reason):
            outcome = Outcome.RETRY
        try:
            if outcome is Outcome.DECIDED:
                await message.ack()
            elif outcome is Outcome.RETRY:
                await message.nak(delay=nak_delay_s(deliveries))
            else:
                await message.term()
        except NatsError as error:
            # The connection is closing or away (a shutdown with work in flight): NATS
            # redelivers the message after ack_wait, and the ledger makes that a no-op.
            log.warning(
                "signal message %s: %s not sent to NATS (%s); it will be redelivered",
                _key(message),
                _ANSWERS[outcome],
                type(error).__name__,
            )
            return Outcome.RETRY
        return outcome

    async def _verdict(self, payload: bytes, deliveries: int) -> Verdict:
        try:
            return await self.handler(payload)
        except Exception as error:
            # Unexpected: the traceback once, on the first delivery; one line after that.
            if deliveries == 1:
                log.exception("signal handling failed; it will be redelivered")
            else:
                log.warning("signal handling failed again (delivery %d): %r", deliveries, error)
            return Verdict(Outcome.RETRY, f"handling failed: {error!r}")

    async def _buried(self, message: Msg, reason: str) -> bool:
        """Store the dead letter; False (and an error logged) when that failed."""
        meta = message.metadata
        letter = DeadLetter(
            stream=meta.stream,
            stream_sequence=meta.sequence.stream,
            consumer=meta.consumer,
            subject=message.subject,
            deliveries=meta.num_delivered,
            reason=reason,
            payload=message.data,
        )
        try:
            await self.dead_letter(letter)
        except Exception as error:
            last = meta.num_delivered >= self.max_deliver
            log.error(
                "dead letter %s not stored (%r): %s",
                letter.key,
                error,
                "it stays in the stream only" if last else "it will be redelivered",
                exc_info=error if try_again(error) is None else None,
            )
            return False
        log.warning("signal message %s dead-lettered: %s", letter.key, reason)
        return True
