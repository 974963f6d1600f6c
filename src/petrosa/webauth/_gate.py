"""A pure ASGI gate in front of a service: a request body is read only from a client that
holds a token, and never past the limit of its endpoint's class.

Why not a FastAPI dependency: FastAPI reads and parses a route's body *before* it runs the
route's dependencies, so a token check there comes after the work it should have spared.
The gate decides from the headers alone, before the app sees the request:

- auth on, a body announced (``Content-Length`` above 0, or ``Transfer-Encoding``) and no
  valid token of any scope: 401, and not one byte of the body is read. Which scope a route
  needs stays the route's own check, so a read token's body is read (within its limit)
  before the route's 403.
- ``Content-Length`` above the path's limit: 413 at once.
- otherwise the body is read as it arrives, counted, and refused with 413 the moment it
  passes the limit, whatever ``Content-Length`` claimed and when there is none (chunked).
  The app then gets the whole body in one message.

A refusal leaves the connection open: the server (uvicorn) discards the unread rest of the
body as it arrives, without buffering or parsing it. Closing instead would reset the
connection under a client still sending, which then sees a lost connection rather than the
401/413 (and the petrosa client would retry it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from petrosa.webauth._tokens import BearerTokens

DEFAULT_MAX_BODY_BYTES = 64 * 1024
"""The limit of every endpoint outside a larger class: ample for a signal, an order or a
query, small enough that a flood of them costs nothing."""


class BodyLimits:
    """The largest request body per endpoint class.

    ``classes`` maps a regular expression over the whole path to its limit; the first that
    matches wins, any other path gets ``default``.
    """

    def __init__(
        self, default: int = DEFAULT_MAX_BODY_BYTES, classes: Mapping[str, int] | None = None
    ) -> None:
        self.default = default
        self.classes = tuple((re.compile(p), limit) for p, limit in (classes or {}).items())
        for limit in (default, *(limit for _, limit in self.classes)):
            if limit < 1:
                raise ValueError(f"a body limit must be at least 1 byte, got {limit}")

    def for_path(self, path: str) -> int:
        """The limit for a request to ``path``."""
        for pattern, limit in self.classes:
            if pattern.fullmatch(path):
                return limit
        return self.default


class RequestGate:
    """Pure ASGI middleware: unauthenticated bodies are refused unread (401), oversized ones
    as soon as they pass their limit (413). ``tokens=None``: a service without bearer auth."""

    def __init__(
        self, app: ASGIApp, *, limits: BodyLimits, tokens: BearerTokens | None = None
    ) -> None:
        self.app = app
        self.limits = limits
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not _announces_body(headers):
            await self.app(scope, receive, send)
            return
        if self.tokens is not None:
            refusal = self.tokens.refusal(headers.get("authorization", ""), "read")
            if refusal is not None:
                await _refuse(send, refusal.status_code, refusal.detail, refusal.headers)
                return
        limit = self.limits.for_path(scope["path"])
        declared = _declared_length(headers)
        if declared is not None and declared > limit:
            await _refuse(send, 413, _too_large(limit))
            return
        try:
            body = await _read_within(receive, limit)
        except _ClientGone:
            return
        if body is None:
            await _refuse(send, 413, _too_large(limit))
            return
        await self.app(scope, _replay(body, receive), send)


class _ClientGone(Exception):
    """The client disconnected before its body was complete: nobody to answer."""


def _announces_body(headers: Headers) -> bool:
    """A body follows: a transfer coding, or a length other than 0 (even a garbled one)."""
    if "transfer-encoding" in headers:
        return True
    return "content-length" in headers and _declared_length(headers) != 0


def _declared_length(headers: Headers) -> int | None:
    """``Content-Length`` as a number; None when absent or not a number (then the body is
    counted as it comes, like a chunked one)."""
    raw = headers.get("content-length")
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw)


async def _read_within(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as more than ``limit`` bytes have arrived."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the app the body read so far, then the server's events."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _too_large(limit: int) -> str:
    return f"request body larger than {limit} bytes"


async def _refuse(
    send: Send, status: int, detail: str, extra_headers: Mapping[str, str] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in (extra_headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
