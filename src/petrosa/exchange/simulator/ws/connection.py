"""One stream connection: a sender pushing its subscriptions' frames and a receiver answering
control messages, until the client leaves or the server closes it.

The server closes a connection (with a close frame, code and reason) when its client sends
too many messages (1008), when its lifetime ends (1001), on ``serverShutdown`` (1001, after
the event on spot) and when a fault drops it (1011). Pings and pongs are the ASGI server's
business: they never reach the app, so they do not count towards the message limit here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import Receive, Send

from petrosa.exchange.simulator.ws.commands import Command, CommandError, Method, parse_command
from petrosa.exchange.simulator.ws.endpoints import Endpoint
from petrosa.exchange.simulator.ws.limits import MessageRate
from petrosa.exchange.simulator.ws.subscriptions import Subscriptions

logger = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
GOING_AWAY = 1001
INTERNAL_ERROR = 1011
_ids = itertools.count(1)


@dataclass(frozen=True)
class CloseOrder:
    """Why and how the server ends a connection."""

    code: int
    reason: str
    farewell: str | None = None
    """A last text frame before the close (the ``serverShutdown`` event)."""


class StreamConnection:
    """A connection's state and its two loops."""

    def __init__(
        self,
        endpoint: Endpoint,
        subscriptions: Subscriptions,
        *,
        path: str,
        clock_ms: Callable[[], int],
        rate: MessageRate,
        tick_s: float,
        lifetime_s: float,
    ) -> None:
        self.id = next(_ids)
        self.endpoint = endpoint
        self.path = path
        self.subscriptions = subscriptions
        self.combined = endpoint.combined
        self.opened_s = time.monotonic()
        self._clock_ms = clock_ms
        self._rate = rate
        self._tick_s = tick_s
        self._lifetime_s = lifetime_s
        self._close_order: CloseOrder | None = None
        self._close_requested = asyncio.Event()

    def close(self, order: CloseOrder) -> None:
        """Ask the connection to close (from any task); the first order wins."""
        if self._close_order is None:
            self._close_order = order
        self._close_requested.set()

    def describe(self) -> dict[str, object]:
        """What ``GET /sim/ws/connections`` shows."""
        return {
            "id": self.id,
            "path": self.path,
            "market": self.endpoint.market.value,
            "route": self.endpoint.route.value,
            "combined": self.combined,
            "streams": self.subscriptions.names(),
            "age_s": round(time.monotonic() - self.opened_s, 3),
        }

    async def run(self, receive: Receive, send: Send) -> None:
        """Serve the accepted connection until one side ends it."""
        sender = asyncio.create_task(self._push(send))
        receiver = asyncio.create_task(self._answer(receive, send))
        closing = asyncio.create_task(self._close_requested.wait())
        tasks = {sender, receiver, closing}
        try:
            await asyncio.wait(tasks, timeout=self._lifetime_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        gone = receiver.done() and not receiver.cancelled() and receiver.exception() is None
        if gone and self._close_order is None:
            return  # the client closed or vanished: nothing to answer
        if sender.done() and not sender.cancelled() and sender.exception() is not None:
            return  # the socket failed under the sender
        order = self._close_order or CloseOrder(
            GOING_AWAY, f"connection lifetime of {self._lifetime_s:g} s reached"
        )
        logger.info("stream connection %d (%s) closed: %s", self.id, self.path, order.reason)
        with contextlib.suppress(OSError, RuntimeError):
            if order.farewell is not None:
                await send({"type": "websocket.send", "text": order.farewell})
            await send({"type": "websocket.close", "code": order.code, "reason": order.reason})

    async def _push(self, send: Send) -> None:
        """Poll the feeds every tick and send what is due."""
        subscriptions = self.subscriptions
        while True:
            frames = subscriptions.poll(self._clock_ms(), combined=self.combined)
            for text in frames:
                await send({"type": "websocket.send", "text": text})
            # after a batch, poll again at once: a feed with more due (the firehose) keeps
            # the socket busy, any other returns nothing and the sender rests a tick
            await asyncio.sleep(0 if frames else self._tick_s)

    async def _answer(self, receive: Receive, send: Send) -> None:
        """Answer control messages until the client leaves or breaks the message limit."""
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if not self._rate.admit():
                limit = self._rate.per_second
                self.close(CloseOrder(POLICY_VIOLATION, f"too many messages: over {limit}/s"))
                return
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", "replace")
            await send({"type": "websocket.send", "text": self._reply(text)})

    def _reply(self, text: str) -> str:
        try:
            command = parse_command(text)
            return command.reply(self._execute(command))
        except CommandError as error:
            return error.reply()

    def _execute(self, command: Command) -> object:
        if command.method is Method.SUBSCRIBE:
            self.subscriptions.add(command.streams, self._clock_ms(), request_id=command.request_id)
        elif command.method is Method.UNSUBSCRIBE:
            self.subscriptions.remove(command.streams)
        elif command.method is Method.LIST_SUBSCRIPTIONS:
            return self.subscriptions.names()
        elif command.method is Method.SET_PROPERTY:
            self.combined = bool(command.value)
        else:
            return self.combined
        return None
