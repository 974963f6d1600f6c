"""How the ingress ends a message, for each verdict and at the delivery limit (NATS
messages with a recording client; the real-NATS tests are in tests/integration)."""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError
from nats.js.api import AckPolicy, ConsumerConfig

from petrosa.tradeengine.dead_letters import DeadLetter
from petrosa.tradeengine.ingress import (
    NAK_DELAY_MAX_S,
    Outcome,
    SignalConsumer,
    Verdict,
    differences,
    nak_delay_s,
)

MAX_DELIVER = 3


class RecordingClient:
    """Stands in for the NATS connection: keeps what the message answered."""

    def __init__(self) -> None:
        self.answers: list[bytes] = []

    async def publish(self, subject: str, payload: bytes = b"", **_: Any) -> None:
        self.answers.append(payload)


def message(client: RecordingClient, deliveries: int, payload: bytes = b"{}") -> Msg:
    reply = f"$JS.ACK.SIGNALS.engine.{deliveries}.41.7.1700000000000000000.0"
    return Msg(cast(Client, client), subject="signals.trading", reply=reply, data=payload)


class Ingress:
    def __init__(self, verdict: Verdict | Exception, *, bury_fails: bool = False) -> None:
        self.verdict = verdict
        self.bury_fails = bury_fails
        self.buried: list[DeadLetter] = []
        self.consumer = SignalConsumer(
            "nats://unused",
            stream="SIGNALS",
            durable="engine",
            ack_wait_s=30,
            max_deliver=MAX_DELIVER,
            handler=self.handle,
            dead_letter=self.bury,
        )

    async def handle(self, payload: bytes) -> Verdict:
        if isinstance(self.verdict, Exception):
            raise self.verdict
        return self.verdict

    async def bury(self, letter: DeadLetter) -> None:
        if self.bury_fails:
            raise ConnectionError("data manager down")
        self.buried.append(letter)


@pytest.mark.parametrize(
    ("verdict", "answer"),
    [
        (Verdict(Outcome.DECIDED), b""),  # +ACK is an empty reply
        (Verdict(Outcome.REFUSED, "invalid: price"), b"+TERM"),
        (Verdict(Outcome.RETRY, "data manager unavailable"), b"-NAK"),
    ],
)
async def test_a_verdict_before_the_limit_answers_as_it_says(
    verdict: Verdict, answer: bytes
) -> None:
    client, ingress = RecordingClient(), Ingress(verdict)
    assert await ingress.consumer.settle(message(client, deliveries=1)) is verdict.outcome
    assert client.answers[0].startswith(answer) if answer else client.answers == [b""]
    assert ingress.buried == []


async def test_a_retry_on_the_last_delivery_is_dead_lettered_and_terminated() -> None:
    client, ingress = RecordingClient(), Ingress(Verdict(Outcome.RETRY, "lock busy"))
    outcome = await ingress.consumer.settle(message(client, MAX_DELIVER, b'{"a": 1}'))
    assert outcome is Outcome.DEAD
    assert client.answers == [b"+TERM"]
    [letter] = ingress.buried
    assert (letter.key, letter.deliveries, letter.payload) == ("SIGNALS:41", 3, b'{"a": 1}')
    assert letter.reason == "lock busy (gave up after 3 deliveries)"


async def test_a_message_that_can_never_be_decided_is_dead_lettered_at_once() -> None:
    client, ingress = RecordingClient(), Ingress(Verdict(Outcome.DEAD, "cannot be recorded"))
    assert await ingress.consumer.settle(message(client, deliveries=1)) is Outcome.DEAD
    assert client.answers == [b"+TERM"]
    assert [letter.reason for letter in ingress.buried] == ["cannot be recorded"]


async def test_a_dead_letter_that_cannot_be_stored_is_not_terminated() -> None:
    client = RecordingClient()
    ingress = Ingress(Verdict(Outcome.DEAD, "cannot be recorded"), bury_fails=True)
    assert await ingress.consumer.settle(message(client, deliveries=1)) is Outcome.RETRY
    assert client.answers[0].startswith(b"-NAK")


async def test_an_unexpected_failure_is_retried_with_its_traceback_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, ingress = RecordingClient(), Ingress(RuntimeError("bug"))
    with caplog.at_level(logging.WARNING, logger="petrosa.tradeengine.ingress"):
        assert await ingress.consumer.settle(message(client, 1)) is Outcome.RETRY
        assert await ingress.consumer.settle(message(client, 2)) is Outcome.RETRY
        assert await ingress.consumer.settle(message(client, MAX_DELIVER)) is Outcome.DEAD
    with_traceback = [r for r in caplog.records if r.exc_info is not None]
    assert len(with_traceback) == 1
    assert "RuntimeError('bug')" in ingress.buried[0].reason


class ClosedClient(RecordingClient):
    """The connection closed under the message (a replica shutting down mid-work)."""

    async def publish(self, subject: str, payload: bytes = b"", **_: Any) -> None:
        raise ConnectionClosedError


@pytest.mark.parametrize(
    "verdict",
    [Verdict(Outcome.DECIDED), Verdict(Outcome.REFUSED, "invalid"), Verdict(Outcome.RETRY, "x")],
)
async def test_an_answer_that_cannot_be_sent_leaves_the_message_to_redelivery(
    verdict: Verdict, caplog: pytest.LogCaptureFixture
) -> None:
    ingress = Ingress(verdict)
    with caplog.at_level(logging.DEBUG, logger="petrosa.tradeengine.ingress"):
        outcome = await ingress.consumer.settle(message(ClosedClient(), deliveries=1))
    assert outcome is Outcome.RETRY  # NATS redelivers it after ack_wait; the ledger dedups
    [line] = caplog.records
    assert line.exc_info is None
    assert "will be redelivered" in line.getMessage()


def test_redelivery_waits_longer_after_each_failure_up_to_a_cap() -> None:
    delays = [nak_delay_s(n) for n in range(1, 8)]
    assert delays == sorted(delays)
    assert delays[0] == 1.0
    assert delays[-1] == NAK_DELAY_MAX_S
    assert nak_delay_s(10_000) == NAK_DELAY_MAX_S


def test_consumer_settings_that_differ_are_named() -> None:
    wanted = ConsumerConfig(
        durable_name="engine",
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=30,
        max_deliver=20,
        max_ack_pending=1_000,
        filter_subject="signals.trading",
    )
    current = wanted.evolve(max_deliver=-1)
    assert differences(wanted, wanted) == []
    assert differences(current, wanted) == ["max_deliver -1 -> 20"]
