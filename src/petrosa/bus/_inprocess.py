"""Buses without a server: in-process (embedded mode, tests) and off."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from petrosa.bus._base import subject_matches

DEFAULT_QUEUE_SIZE = 10_000


@dataclass(frozen=True)
class Message:
    subject: str
    payload: bytes


class InProcessBus:
    """Delivers each message to every subscription whose pattern matches, in order."""

    def __init__(self) -> None:
        self._subscriptions: list[tuple[str, asyncio.Queue[Message]]] = []

    def subscribe(
        self, pattern: str, *, max_pending: int = DEFAULT_QUEUE_SIZE
    ) -> asyncio.Queue[Message]:
        queue: asyncio.Queue[Message] = asyncio.Queue(max_pending)
        self._subscriptions.append((pattern, queue))
        return queue

    async def publish(self, subject: str, payload: bytes) -> None:
        for pattern, queue in self._subscriptions:
            if subject_matches(pattern, subject):
                await queue.put(Message(subject, payload))  # back-pressure, never drop

    async def close(self) -> None:
        self._subscriptions.clear()


class NullBus:
    """The bus switched off: messages go nowhere (a job run without NATS_URL)."""

    async def publish(self, subject: str, payload: bytes) -> None:
        return None

    async def close(self) -> None:
        return None
