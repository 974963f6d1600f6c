"""Errors the Data Manager's domain code raises, and the HTTP status each one maps to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class DataManagerError(Exception):
    status_code = 500

    def body_fields(self) -> dict[str, Any]:
        """Machine-readable fields the answer carries beside ``detail`` (none by default)."""
        return {}


class NotFound(DataManagerError):
    """The named thing (collection, position, …) does not exist: HTTP 404."""

    status_code = 404


class Conflict(DataManagerError):
    """The request contradicts what is stored (e.g. reopening a closed position): HTTP 409."""

    status_code = 409


STALE_FENCE = "stale_fence"
"""``code`` of a 409 refusing a write whose fencing token is older than the stored one."""


class StaleFence(Conflict):
    """A position write carried an older fencing token than the position holds: HTTP 409.

    Its writer lost its lease lock and another replica has written since (a "zombie").
    """

    def __init__(self, position_id: str, fence: int, stored_fence: int) -> None:
        super().__init__(
            f"stale fencing token {fence} < {stored_fence} for position {position_id!r}"
        )
        self.fence = fence
        self.stored_fence = stored_fence

    def body_fields(self) -> dict[str, Any]:
        return {"code": STALE_FENCE, "fence": self.fence, "stored_fence": self.stored_fence}


class InvalidInput(DataManagerError):
    """Bad input found past schema validation: HTTP 422 naming the offending field."""

    status_code = 422

    def __init__(self, loc: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.loc = list(loc)
        self.message = message


class BadValue(InvalidInput):
    """The database refused a value as invalid: HTTP 422 with a reason code, never an outage.

    The driver's text (which names schemas and columns) is logged, not answered.
    """

    def __init__(self, code: str) -> None:
        super().__init__(["body"], f"the database cannot store a value of this request ({code})")
        self.code = code

    def body_fields(self) -> dict[str, Any]:
        return {"code": self.code}
