"""The one policy for transactions the database aborted to resolve contention.

A transient failure (see :func:`errors.is_transient`) reruns the *whole* transaction, at most
:data:`MAX_ATTEMPTS` times in all, after a full-jitter backoff; anything else, and the last
transient failure, propagates. The caller's deadline bounds the whole loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from petrosa.resilience import RandomUnit, Sleep, full_jitter_backoff
from petrosa.sqlsupport.errors import describe, is_transient

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 5
"""Tries of one transaction in all (the first run and up to four reruns)."""
BACKOFF_INITIAL_S = 0.005
BACKOFF_MAX_S = 0.1


async def retry_transient(
    attempt: Callable[[], Awaitable[T]],
    *,
    max_attempts: int = MAX_ATTEMPTS,
    sleep: Sleep = asyncio.sleep,
    random_unit: RandomUnit = random.random,
) -> T:
    """``await attempt()``, again after a transient failure, up to ``max_attempts`` in all."""
    for number in range(1, max_attempts + 1):
        try:
            return await attempt()
        except Exception as error:
            if number == max_attempts or not is_transient(error):
                raise
            log.info(
                "transaction aborted by contention (%s), rerunning (attempt %d of %d)",
                describe(error),
                number + 1,
                max_attempts,
            )
        await sleep(
            full_jitter_backoff(
                number, initial_s=BACKOFF_INITIAL_S, max_s=BACKOFF_MAX_S, random=random_unit
            )
        )
    raise AssertionError("unreachable: the last attempt returns or raises")
