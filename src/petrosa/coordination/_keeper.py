"""Keeping a lease alive: renew on schedule until it is lost, and say why it was lost.

Shared by ``Locks.hold()`` and ``LeaderElection``. The holder's local deadline rules: while
the store is unreachable, renewals are retried with backoff only until the lease's local
deadline, and then the lease is given up, whatever the store may still think.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING

from petrosa.coordination._errors import StoreUnavailable
from petrosa.coordination._lease import Lease

if TYPE_CHECKING:
    from petrosa.coordination._locks import Locks

log = logging.getLogger(__name__)


class LossReason(StrEnum):
    """Why a holder stopped holding."""

    EXPIRED = "expired"
    """No renewal succeeded before the local deadline (store unreachable or too slow)."""
    TAKEN = "taken"
    """The store no longer has this lease: it expired there and another owner took it."""
    FAILED = "failed"
    """Renewal raised an unexpected error; the holder stops acting to be safe."""
    RELEASED = "released"
    """The holder gave the lease up (end of ``hold()``, ``resign()``)."""


async def keep_alive(
    locks: Locks,
    lease: Lease,
    *,
    renew_interval: float,
    on_renewed: Callable[[Lease], None],
) -> LossReason:
    """Renew ``lease`` every ``renew_interval`` seconds until it is lost; return why."""
    next_renewal = locks.clock() + renew_interval
    while True:
        now = locks.clock()
        if not lease.is_valid(now):
            return LossReason.EXPIRED
        await locks.sleep(max(0.0, min(next_renewal, lease.valid_until) - now))
        if not lease.is_valid(locks.clock()):
            return LossReason.EXPIRED
        try:
            renewed = await locks.renew(lease, deadline=lease.valid_until)
        except StoreUnavailable:
            return LossReason.EXPIRED
        except Exception:
            log.exception("renewing lease %r failed unexpectedly", lease.name)
            return LossReason.FAILED
        if renewed is None:
            return LossReason.TAKEN
        if not lease.is_valid(locks.clock()):
            # The answer came after the deadline: the loss may already have been observed.
            return LossReason.EXPIRED
        lease = renewed
        on_renewed(lease)
        next_renewal = locks.clock() + renew_interval
