"""NATS: publish, then flush, so the server has every message before a job exits."""

from __future__ import annotations

import nats
from nats.aio.client import Client

DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_FLUSH_TIMEOUT_S = 5


class NatsBus:
    def __init__(self, client: Client, *, flush_timeout_s: int = DEFAULT_FLUSH_TIMEOUT_S) -> None:
        self._client = client
        self._flush_timeout_s = flush_timeout_s

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        name: str = "petrosa",
    ) -> NatsBus:
        client = await nats.connect(
            url,
            name=name,
            connect_timeout=connect_timeout_s,
            allow_reconnect=True,
            max_reconnect_attempts=3,
        )
        return cls(client)

    async def publish(self, subject: str, payload: bytes) -> None:
        await self._client.publish(subject, payload)
        await self._client.flush(timeout=self._flush_timeout_s)

    async def close(self) -> None:
        if not self._client.is_closed:
            await self._client.drain()
