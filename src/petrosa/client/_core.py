"""What the domain method mixins need from the client core: one request primitive."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Requester(Protocol):
    """Implemented by the client core (``_base.ClientCore``): retries, breaker, auth, errors."""

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool = True,
        not_found_ok: bool = False,
    ) -> Any:
        """Send one request and return the decoded JSON body.

        ``idempotent`` tells the core whether the request may be retried after a timeout or
        lost connection (every Data Manager write is idempotent by natural key, so this is
        True for all of them; it exists for any future non-idempotent call).
        ``not_found_ok`` makes a 404 return ``None`` instead of raising ``NotFoundError``.
        Raises the client's exception hierarchy (``_exceptions.py``) on failure.
        """
        ...
