"""The lease rules, as pure functions on one stored row: the reference every backend follows.

The SQL statements and the MongoDB update pipeline encode these same rules in the store's
own language (so that each decision is one atomic step there); the in-memory store applies
them directly; the unit tests pin them down.

Times are seconds on the store's clock. A row is never deleted: releasing clears the owner
but keeps ``token``, so the fencing counter survives and is never reused. A new lock's
first token is the store's time in microseconds, not 1: if the store is wiped (a deleted
SQLite file, a recreated table), the tokens handed out afterwards are still greater than
every earlier one, so the resources they fence (positions in the Data Manager) keep
accepting the new holders' writes and refusing the old ones'.
"""

from __future__ import annotations

from dataclasses import dataclass

TOKENS_PER_SECOND = 1_000_000


def first_token(now: float) -> int:
    """The token of a lock's first holder: the store's time ``now`` in microseconds."""
    return int(now * TOKENS_PER_SECOND)


@dataclass(frozen=True, slots=True)
class LeaseRow:
    """One stored lock: current (or last) owner, its fencing token, its expiry."""

    owner: str | None
    token: int
    expires_at: float


def is_held(row: LeaseRow | None, now: float) -> bool:
    """Someone holds the lock at ``now``: an owner is set and the lease has not expired."""
    return row is not None and row.owner is not None and now < row.expires_at


def after_acquire(row: LeaseRow | None, owner: str, now: float, ttl: float) -> LeaseRow | None:
    """The row after ``owner`` tries to acquire, or None when someone else holds it.

    A free or expired lock goes to ``owner`` with the next token; the current unexpired
    holder re-acquiring keeps its token and extends. An owner whose own lease expired is a
    new holder (it may have been taken and released meanwhile), so it gets a new token too.
    """
    if row is None:
        return LeaseRow(owner=owner, token=first_token(now), expires_at=now + ttl)
    if is_held(row, now):
        if row.owner != owner:
            return None
        return LeaseRow(owner=owner, token=row.token, expires_at=now + ttl)
    return LeaseRow(owner=owner, token=row.token + 1, expires_at=now + ttl)


def after_renew(
    row: LeaseRow | None, owner: str, token: int, now: float, ttl: float
) -> LeaseRow | None:
    """The row after renewing the lease ``(owner, token)``, or None when it was lost.

    Matching owner and token is enough: any other holder in between would have taken a
    greater token. A lease that expired but that nobody took can thus still be renewed,
    which is safe for fencing; holders stop acting at their local deadline regardless.
    """
    if row is None or row.owner != owner or row.token != token:
        return None
    return LeaseRow(owner=owner, token=token, expires_at=now + ttl)


def after_release(row: LeaseRow | None, owner: str, token: int, now: float) -> LeaseRow | None:
    """The row after releasing ``(owner, token)``, or None when that lease is not there."""
    if row is None or row.owner != owner or row.token != token:
        return None
    return LeaseRow(owner=None, token=token, expires_at=now)
