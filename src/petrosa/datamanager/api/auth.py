"""Bearer-token auth with two scopes: read, and write (which includes read).

Tokens come from DATA_MANAGER_READ_TOKENS / DATA_MANAGER_WRITE_TOKENS (comma-separated).
With none configured, auth is off, which is only allowed on a loopback address. The check
itself is :mod:`petrosa.webauth`, shared with the trade engine.
"""

from __future__ import annotations

from fastapi import Request

from petrosa.datamanager.settings import DataManagerSettings
from petrosa.webauth import BearerTokens, requirement


def _tokens(request: Request) -> BearerTokens:
    settings: DataManagerSettings = request.app.state.settings
    return settings.tokens


RequireRead = requirement("read", _tokens)
RequireWrite = requirement("write", _tokens)
