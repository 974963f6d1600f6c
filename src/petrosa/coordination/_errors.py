"""Every error petrosa.coordination raises, under one root.

::

    CoordinationError
     ├── StoreUnavailable      the store did not answer in time or dropped the connection;
     │                         operations retry it with backoff inside their deadline, and
     │                         while it lasts no lock is assumed held
     ├── LockNotAcquired       hold(wait=…) ran out of time while someone else held the lock
     ├── LeaseLost             HeldLock.ensure_valid() after the lease expired or was taken
     └── UnsupportedCoordinationURL (also ValueError)
                               COORDINATION_URL names no backend this package knows

Only :class:`StoreUnavailable` is retried. "Someone else holds it" is not an error: acquire
and renew answer ``None``.
"""

from __future__ import annotations


class CoordinationError(Exception):
    """Root of every coordination error."""


class StoreUnavailable(CoordinationError):
    """The lease store did not answer (down, unreachable, too slow); retried with backoff."""


class LockNotAcquired(CoordinationError):
    """The wait for a lock ended while another owner still held it."""


class LeaseLost(CoordinationError):
    """The lease expired without a successful renewal, or another owner took it."""


class UnsupportedCoordinationURL(CoordinationError, ValueError):
    """The coordination URL names a backend this package does not support."""
