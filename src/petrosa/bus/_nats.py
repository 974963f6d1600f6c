"""NATS: publish, then flush, so the server has every message before ``publish`` returns.

A publish that NATS did not confirm raises :class:`BusUnavailable`; it is never buffered
for later. While the connection is down the client reconnects in the background, forever,
so a caller that retries (the extractor's event outbox) gets through once NATS is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.errors import FlushTimeoutError, OutboundBufferLimitError

from petrosa.bus._base import BusUnavailable

log = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_FLUSH_TIMEOUT_S = 5
DEFAULT_RECONNECT_WAIT_S = 1
DEFAULT_PING_INTERVAL_S = 5
"""A connection that stops answering is dropped (and redialled) after about two pings."""
DEFAULT_CLOSE_TIMEOUT_S = 5.0
NEVER_STOP_RECONNECTING = -1
NO_BUFFERING_WHILE_DISCONNECTED = 0


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
        """Connect within ``connect_timeout_s`` or raise :class:`BusUnavailable`."""
        return cls(await connect_nats(url, connect_timeout_s=connect_timeout_s, name=name))

    async def publish(self, subject: str, payload: bytes) -> None:
        try:
            await self._client.publish(subject, payload)
            await self._client.flush(timeout=self._flush_timeout_s)
        except (NatsError, OSError, TimeoutError) as error:
            raise BusUnavailable(f"{subject} not confirmed by NATS: {_describe(error)}") from None

    async def close(self) -> None:
        await _close_quietly(self._client)


async def connect_nats(
    url: str,
    *,
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    name: str = "petrosa",
    trusted_subjects: bool = False,
) -> Client:
    """A NATS connection made within ``connect_timeout_s`` (else :class:`BusUnavailable`)
    that, once made, reconnects in the background forever and buffers nothing while it is
    away (a publish, ack or request then fails at once instead of waiting in a buffer).

    ``trusted_subjects``: the caller only publishes subjects it built from validated parts,
    so nats-py need not check each one again (its ``skip_subject_validation``)."""
    client = Client()

    async def disconnected() -> None:
        if not client.is_closed:  # closing calls this too; that is no outage
            log.warning("NATS connection %s lost; reconnecting", name)

    try:
        await asyncio.wait_for(
            client.connect(
                url,
                name=name,
                connect_timeout=max(1, int(connect_timeout_s)),
                allow_reconnect=True,
                max_reconnect_attempts=NEVER_STOP_RECONNECTING,
                reconnect_time_wait=DEFAULT_RECONNECT_WAIT_S,
                ping_interval=DEFAULT_PING_INTERVAL_S,
                pending_size=NO_BUFFERING_WHILE_DISCONNECTED,
                skip_subject_validation=trusted_subjects,
                error_cb=_log_error,
                disconnected_cb=disconnected,
                reconnected_cb=_log_reconnected,
            ),
            timeout=connect_timeout_s,
        )
    except (TimeoutError, NatsError, OSError) as error:
        await _close_quietly(client)
        raise BusUnavailable(f"cannot connect to NATS at {url}: {_describe(error)}") from None
    return client


def _describe(error: BaseException) -> str:
    if isinstance(error, OutboundBufferLimitError):
        return "connection lost, reconnecting"
    if isinstance(error, FlushTimeoutError | TimeoutError):
        return "no answer in time"
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def _close_quietly(client: Client) -> None:
    """Close without waiting on a dead connection: every message was flushed or failed."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.close(), timeout=DEFAULT_CLOSE_TIMEOUT_S)


async def _log_error(error: Exception) -> None:
    """Each failed reconnect attempt lands here; publishes report the outage themselves (as
    :class:`BusUnavailable`), so one line at debug level, not nats-py's traceback."""
    log.debug("NATS: %s", _describe(error))


async def _log_reconnected() -> None:
    log.info("NATS connection re-established")
