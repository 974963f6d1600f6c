"""Why the database is unavailable, said as a reason code a client can act on.

Driver messages name hosts, ports, users and databases; they stay in the log (the database
layer logs each one) and never reach a response body. Bodies carry only these codes:

- ``database_timeout``: the database did not answer within its deadline.
- ``database_unreachable``: the connection failed or was lost (down, refused, rejected).
- ``transaction_conflict``: deadlock or serialization failure; the retry may succeed.
- ``migration_pending``: the schema is not at the revision this version needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from petrosa.datamanager.storage.database import StoreUnavailable, TransactionConflict
from petrosa.sqlsupport import is_statement_timeout


class Reason(StrEnum):
    DATABASE_TIMEOUT = "database_timeout"
    DATABASE_UNREACHABLE = "database_unreachable"
    TRANSACTION_CONFLICT = "transaction_conflict"
    MIGRATION_PENDING = "migration_pending"


def reason_of(error: StoreUnavailable) -> Reason:
    """The code for an outage, from the exception and what caused it."""
    if isinstance(error, TransactionConflict):
        return Reason.TRANSACTION_CONFLICT
    if any(
        isinstance(cause, TimeoutError) or is_statement_timeout(cause) for cause in _causes(error)
    ):
        return Reason.DATABASE_TIMEOUT
    return Reason.DATABASE_UNREACHABLE


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The exceptions behind ``error``: its cause or, raised ``from None``, its context."""
    seen: set[int] = set()
    current: BaseException | None = error.__cause__ or error.__context__
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


class OutageLog:
    """The reason of the latest outage a request met, for ``/health/databases``."""

    def __init__(self) -> None:
        self.last: Reason | None = None

    def note(self, error: StoreUnavailable) -> Reason:
        self.last = reason_of(error)
        return self.last
