"""Bearer tokens with a read and a write scope; off when none are configured."""

from __future__ import annotations

import pytest
from fastapi import HTTPException
from pydantic import SecretStr

from petrosa.webauth import BearerTokens, is_loopback, split_tokens

TOKENS = BearerTokens.from_settings(SecretStr("r1, r2"), SecretStr("w1"))


def status_of(authorization: str, scope: str) -> int:
    try:
        TOKENS.check(authorization, scope)  # type: ignore[arg-type]
    except HTTPException as refusal:
        return refusal.status_code
    return 200


@pytest.mark.parametrize(
    ("authorization", "scope", "status"),
    [
        ("Bearer w1", "write", 200),
        ("Bearer w1", "read", 200),  # write includes read
        ("bearer  r2 ", "read", 200),
        ("Bearer r1", "write", 403),
        ("Bearer nope", "read", 401),
        ("", "read", 401),
        ("Basic w1", "write", 401),
        ("Bearer ", "write", 401),
    ],
)
def test_scopes(authorization: str, scope: str, status: int) -> None:
    assert status_of(authorization, scope) == status


def test_no_tokens_means_auth_is_off() -> None:
    off = BearerTokens.from_settings(SecretStr(""), SecretStr(" , "))
    assert not off.enabled
    off.check("", "write")


def test_token_lists_and_loopback() -> None:
    assert split_tokens(SecretStr(" a,,b ,")) == {"a", "b"}
    assert all(is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "127.1.2.3"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "10.0.0.5", "example.com", "::"))
