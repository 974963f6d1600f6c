"""Bearer-token auth for the platform's HTTP services, with two scopes: read, and write
(which includes read).

Tokens are configured as comma-separated lists (``*_READ_TOKENS`` / ``*_WRITE_TOKENS`` of
each service). With none configured auth is off, which a service allows only on a loopback
address (:func:`is_loopback`): nothing that places orders or writes data is reachable from
the network without a token.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any, Literal

from fastapi import Depends, HTTPException, Request
from pydantic import SecretStr

Scope = Literal["read", "write"]
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="petrosa"'}


def split_tokens(raw: SecretStr) -> frozenset[str]:
    """The tokens of a comma-separated setting (blanks ignored)."""
    return frozenset(t.strip() for t in raw.get_secret_value().split(",") if t.strip())


def is_loopback(host: str) -> bool:
    """``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class BearerTokens:
    write: frozenset[str]
    read_only: frozenset[str]

    @classmethod
    def from_settings(cls, read_tokens: SecretStr, write_tokens: SecretStr) -> BearerTokens:
        return cls(write=split_tokens(write_tokens), read_only=split_tokens(read_tokens))

    @property
    def enabled(self) -> bool:
        return bool(self.write or self.read_only)

    def check(self, authorization: str, scope: Scope) -> None:
        """Raise 401 (no or unknown token) or 403 (read token, write scope) unless the
        ``Authorization`` header carries a token of ``scope``; nothing when auth is off."""
        refusal = self.refusal(authorization, scope)
        if refusal is not None:
            raise refusal

    def refusal(self, authorization: str, scope: Scope) -> HTTPException | None:
        """What :meth:`check` would raise for this ``Authorization`` header, or None."""
        if not self.enabled:
            return None
        kind, _, token = authorization.partition(" ")
        token = token.strip()
        if kind.lower() != "bearer" or not token:
            return HTTPException(401, "missing bearer token", headers=CHALLENGE)
        if _token_in(token, self.write):
            return None
        if _token_in(token, self.read_only):
            if scope == "read":
                return None
            return HTTPException(403, "this token has the read scope only; writing needs write")
        return HTTPException(401, "invalid bearer token", headers=CHALLENGE)


def _token_in(token: str, allowed: frozenset[str]) -> bool:
    # Compare against every token so timing does not reveal which one matched.
    found = False
    for candidate in allowed:
        found |= hmac.compare_digest(token.encode(), candidate.encode())
    return found


def requirement(scope: Scope, tokens_of: Callable[[Request], BearerTokens]) -> Any:
    """A FastAPI dependency (for ``dependencies=[...]``) demanding ``scope``
    (``Any``, as FastAPI's ``Depends`` is typed)."""

    async def require(request: Request) -> None:
        tokens_of(request).check(request.headers.get("authorization", ""), scope)

    return Depends(require)
