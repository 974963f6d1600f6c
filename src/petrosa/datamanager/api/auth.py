"""Bearer-token auth with two scopes: read, and write (which includes read).

Tokens come from DATA_MANAGER_READ_TOKENS / DATA_MANAGER_WRITE_TOKENS (comma-separated).
With none configured, auth is off, which is only allowed on a loopback address.
"""

from __future__ import annotations

import hmac
from typing import Literal

from fastapi import Depends, HTTPException, Request

from petrosa.datamanager.settings import DataManagerSettings

Scope = Literal["read", "write"]


def _token_in(token: str, allowed: frozenset[str]) -> bool:
    # Compare against every token so timing does not reveal which one matched.
    found = False
    for candidate in allowed:
        found |= hmac.compare_digest(token.encode(), candidate.encode())
    return found


def _check(request: Request, scope: Scope) -> None:
    settings: DataManagerSettings = request.app.state.settings
    if not settings.auth_enabled:
        return
    header = request.headers.get("authorization", "")
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer" or not token:
        raise HTTPException(
            401, "missing bearer token", headers={"WWW-Authenticate": 'Bearer realm="petrosa"'}
        )
    allowed = settings.write_token_set if scope == "write" else settings.read_token_set
    if _token_in(token.strip(), allowed):
        return
    if scope == "write" and _token_in(token.strip(), settings.read_token_set):
        raise HTTPException(403, "this token has the read scope only; writing needs write")
    raise HTTPException(
        401, "invalid bearer token", headers={"WWW-Authenticate": 'Bearer realm="petrosa"'}
    )


async def _require_read(request: Request) -> None:
    _check(request, "read")


async def _require_write(request: Request) -> None:
    _check(request, "write")


RequireRead = Depends(_require_read)
RequireWrite = Depends(_require_write)
