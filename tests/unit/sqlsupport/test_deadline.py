"""hard_deadline bounds the unwinding after it fires, not only the work before it."""

from __future__ import annotations

import asyncio

import pytest

from petrosa.sqlsupport import DeadlineExceeded, hard_deadline

GUARD_S = 60.0
"""Far beyond any deadline here: only a block that never ends reaches it."""


async def _work_with_endless_cleanup(cleanup_started: asyncio.Event) -> None:
    """Like a pool closing a connection whose server stopped answering: the cleanup after
    a cancellation waits (shielded) on something that never completes."""
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    try:
        await asyncio.sleep(3600)
    finally:
        cleanup_started.set()
        await asyncio.shield(never)


async def test_the_deadline_also_cuts_the_cleanup_short() -> None:
    cleanup_started = asyncio.Event()

    async def unit() -> None:
        async with hard_deadline(0.05):
            await _work_with_endless_cleanup(cleanup_started)

    with pytest.raises(DeadlineExceeded):
        await asyncio.wait_for(unit(), GUARD_S)
    assert cleanup_started.is_set()


async def test_asyncio_timeout_alone_would_wait_for_that_cleanup_forever() -> None:
    """The defect hard_deadline exists for (the guard ends what asyncio.timeout does not)."""
    cleanup_started = asyncio.Event()

    async def unit() -> None:
        async with asyncio.timeout(0.05):
            await _work_with_endless_cleanup(cleanup_started)

    task = asyncio.create_task(unit())
    await cleanup_started.wait()
    done, _ = await asyncio.wait({task}, timeout=0.5)
    assert not done  # still unwinding long after its deadline
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_work_that_finishes_in_time_is_untouched() -> None:
    async with hard_deadline(GUARD_S):
        await asyncio.sleep(0)
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0
    await asyncio.sleep(0)  # no cancellation left pending for the caller


async def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    started = asyncio.Event()

    async def unit() -> None:
        async with hard_deadline(GUARD_S):
            started.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(unit())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_after_the_deadline_the_task_carries_no_leftover_cancellation() -> None:
    with pytest.raises(DeadlineExceeded):
        async with hard_deadline(0.01):
            await asyncio.sleep(3600)
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0
    await asyncio.sleep(0.01)  # would raise CancelledError if one were still pending
