"""The port every lease backend implements: four atomic operations with deadlines."""

from __future__ import annotations

from typing import Protocol

from petrosa.coordination._lease import Grant, LeaseInfo


class LeaseStore(Protocol):
    """One backend's atomic lease operations.

    Callers put the deadline around each call (``asyncio.timeout``); a store turns outages
    (refused or dropped connections, server-side timeouts) into
    :class:`~petrosa.coordination.StoreUnavailable` and never retries them itself (it only
    re-runs a transaction the database aborted as a deadlock). Expiry is decided on the
    store's clock, inside the store, in the same atomic step as the change.
    """

    @property
    def backend(self) -> str:
        """Short backend name for logs and test ids: sqlite, mysql, postgresql, mongodb…"""
        ...

    @property
    def label(self) -> str:
        """Where the store is, safe for logs (no password)."""
        ...

    async def acquire(self, name: str, owner: str, ttl: float) -> Grant | None:
        """Take ``name`` for ``owner`` if free or expired, or extend it if ``owner`` holds it.

        None when another owner holds an unexpired lease. See ``_rules.after_acquire``.
        """
        ...

    async def renew(self, name: str, owner: str, token: int, ttl: float) -> Grant | None:
        """Extend the lease ``(owner, token)`` by ``ttl`` from now; None if it was lost."""
        ...

    async def release(self, name: str, owner: str, token: int) -> bool:
        """Free the lease ``(owner, token)``, keeping the token counter; False if not held."""
        ...

    async def holder(self, name: str) -> LeaseInfo | None:
        """The current unexpired holder of ``name``, or None."""
        ...

    async def ping(self) -> None:
        """One round trip to the store (creating the schema if needed)."""
        ...

    async def close(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...
