"""A private event loop in a background thread, for calling async code from blocking code.

Blocking callers submit coroutines and wait for their results. Because the loop is the
client's own, this works from any thread, including one whose own event loop is running
(where ``asyncio.run`` would refuse), and the client's connection pool stays bound to
one loop for its whole life.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_THREAD_NAME = "petrosa-client-loop"
_JOIN_TIMEOUT_S = 10.0


class LoopThread:
    """Runs an event loop forever in a daemon thread until ``stop()``."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._stopped = False
        self._thread = threading.Thread(target=self._serve, name=_THREAD_NAME, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    @property
    def stopped(self) -> bool:
        """Whether ``stop()`` was called."""
        return self._stopped

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop and block until it returns or raises."""
        if self._stopped:
            coroutine.close()
            raise RuntimeError("the client is closed")
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("a blocking client call cannot be made from its own loop thread")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result()
        except BaseException:
            # Interrupted while waiting (e.g. KeyboardInterrupt): stop the work too.
            future.cancel()
            raise

    def iterate(self, iterator: AsyncIterator[T]) -> Iterator[T]:
        """Drive an async iterator on the loop, one item per blocking step."""
        try:
            while True:
                step = self.run(_step(iterator))
                if not step:
                    return
                yield step[0]
        finally:
            self._close_iterator(iterator)

    def _close_iterator(self, iterator: AsyncIterator[T]) -> None:
        close = getattr(iterator, "aclose", None)
        if close is None or self._stopped:
            return
        if threading.current_thread() is self._thread:
            # Abandoned and collected on the loop thread itself: cannot wait for ourselves.
            self._loop.create_task(close())
            return
        self.run(close())

    def stop(self) -> None:
        """Stop the loop and wait for its thread; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        if threading.current_thread() is not self._thread:
            self._thread.join(_JOIN_TIMEOUT_S)


async def _step(iterator: AsyncIterator[T]) -> list[T]:
    """The next item in a list, or an empty list at the end of the iteration."""
    try:
        return [await anext(iterator)]
    except StopAsyncIteration:
        return []
