"""Errors the Data Manager's domain code raises, and the HTTP status each one maps to."""

from __future__ import annotations

from collections.abc import Sequence


class DataManagerError(Exception):
    status_code = 500


class NotFound(DataManagerError):
    """The named thing (collection, position, …) does not exist: HTTP 404."""

    status_code = 404


class Conflict(DataManagerError):
    """The request contradicts what is stored (e.g. reopening a closed position): HTTP 409."""

    status_code = 409


class InvalidInput(DataManagerError):
    """Bad input found past schema validation: HTTP 422 naming the offending field."""

    status_code = 422

    def __init__(self, loc: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.loc = list(loc)
        self.message = message
