"""A deadline that also bounds the cleanup after it fires.

``asyncio.timeout`` cancels the block once; whatever the block then awaits while unwinding
runs unbounded. With SQLAlchemy that is the pool giving the connection back: on a database
that stopped answering, the rollback or the "graceful" close of the broken connection
(asyncpg: two seconds) adds to every deadline. :func:`hard_deadline` cancels the block again
every :data:`RECANCEL_S` until it has left, so the pool falls back to closing the socket at
once, and the block ends within the deadline plus a few milliseconds of unwinding.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

RECANCEL_S = 0.05
"""How long unwinding may wait on one thing after the deadline before it is cancelled again."""


class DeadlineExceeded(TimeoutError):
    """The block did not finish within its deadline (raised after it has unwound)."""


@asynccontextmanager
async def hard_deadline(seconds: float) -> AsyncIterator[None]:
    """Run the block for at most ``seconds``; then cancel it, repeatedly, until it exits.

    Raises :class:`DeadlineExceeded` when the deadline cut the block short. A cancellation
    from outside propagates as usual.
    """
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("hard_deadline needs to run inside a task")
    loop = asyncio.get_running_loop()
    cancels = 0
    withdrawn = False
    timer: asyncio.TimerHandle | None = None

    def expire() -> None:
        nonlocal cancels, timer
        cancels += 1
        task.cancel()
        timer = loop.call_later(RECANCEL_S, expire)

    def withdraw() -> int:
        """Take back this deadline's cancellations; the count of any others remains."""
        nonlocal withdrawn
        if not withdrawn:
            withdrawn = True
            for _ in range(cancels):
                task.uncancel()
        return task.cancelling()

    timer = loop.call_later(seconds, expire)
    try:
        yield
    except asyncio.CancelledError:
        if cancels == 0 or withdraw() > 0:
            raise  # not ours, or cancelled from outside as well: that wins
        raise DeadlineExceeded(f"no answer within {seconds:g}s") from None
    finally:
        if timer is not None:
            timer.cancel()
        withdraw()
