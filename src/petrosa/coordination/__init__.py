"""Distributed coordination: lease locks with fencing tokens, and leader election.

The one package besides the Data Manager that talks to databases directly: locks must keep
working when the Data Manager is the thing being restarted.

::

    from petrosa.coordination import LeaderElection, Locks

    locks = Locks.from_settings()  # COORDINATION_URL, HOSTNAME
    async with locks.hold("decide:BTCUSDT", locks.identity, ttl=10, wait=5) as held:
        if held.valid:
            await place_order(..., fencing_token=held.token)

    async with LeaderElection(locks, "tradeengine", ttl=10) as election:
        await election.wait_elected()

Backends, chosen by the URL: SQLite file, MariaDB/MySQL, PostgreSQL (a ``leases`` table the
store creates itself), MongoDB (a ``leases`` collection), ``memory://`` (one process).
Expiry is always decided on the store's clock; holders stop at a local deadline computed
conservatively from their monotonic clock. Errors: see ``petrosa.coordination._errors``.
"""

from petrosa.coordination._election import (
    DEFAULT_ELECTION_TTL_S,
    LeaderElection,
    LeadershipCallback,
)
from petrosa.coordination._errors import (
    CoordinationError,
    LeaseLost,
    LockNotAcquired,
    StoreUnavailable,
    UnsupportedCoordinationURL,
)
from petrosa.coordination._factory import open_store
from petrosa.coordination._hold import HeldLock
from petrosa.coordination._keeper import LossReason
from petrosa.coordination._lease import (
    CLOCK_DRIFT_FACTOR,
    MAX_NAME_LENGTH,
    Grant,
    Lease,
    LeaseInfo,
    local_deadline,
)
from petrosa.coordination._locks import DEFAULT_LOCK_OPTIONS, LockOptions, Locks
from petrosa.coordination._memory import MemoryLeaseStore
from petrosa.coordination._store import LeaseStore
from petrosa.coordination.settings import CoordinationSettings, default_identity

__all__ = [
    "CLOCK_DRIFT_FACTOR",
    "DEFAULT_ELECTION_TTL_S",
    "DEFAULT_LOCK_OPTIONS",
    "MAX_NAME_LENGTH",
    "CoordinationError",
    "CoordinationSettings",
    "Grant",
    "HeldLock",
    "LeaderElection",
    "LeadershipCallback",
    "Lease",
    "LeaseInfo",
    "LeaseLost",
    "LeaseStore",
    "LockNotAcquired",
    "LockOptions",
    "Locks",
    "LossReason",
    "MemoryLeaseStore",
    "StoreUnavailable",
    "UnsupportedCoordinationURL",
    "default_identity",
    "local_deadline",
    "open_store",
]
