"""The request gate on its own: what it reads of a body, and when it stops reading.

A fake server side (``Upload``) hands out body chunks and counts how many were taken, and
a fake app records what reached it; no network.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.types import Message, Receive, Scope, Send

from petrosa.webauth import BearerTokens, BodyLimits, RequestGate

TOKENS = BearerTokens.from_settings(SecretStr("reader"), SecretStr("writer"))
LIMIT = 1_000
CHUNK = 100


class Upload:
    """The server's side of one request body: ``chunks`` pieces of ``CHUNK`` bytes."""

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.taken = 0

    async def receive(self) -> Message:
        if self.taken == self.chunks:
            return {"type": "http.disconnect"}
        self.taken += 1
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": self.taken < self.chunks}


class App:
    """Answers 200 after reading the whole body, which it keeps."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


class Answer:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def send(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.messages[0]["headers"]}

    @property
    def detail(self) -> Any:
        return json.loads(self.messages[1]["body"])["detail"]


def http_scope(path: str = "/data/klines", **headers: str) -> Scope:
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "method": "POST", "path": path, "headers": raw}


async def run(scope: Scope, upload: Upload, *, tokens: BearerTokens | None = TOKENS) -> Answer:
    app, answer = App(), Answer()
    gate = RequestGate(app, limits=BodyLimits(LIMIT), tokens=tokens)
    await gate(scope, upload.receive, answer.send)
    return answer


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic writer"])
async def test_an_unauthenticated_body_is_refused_unread(authorization: str | None) -> None:
    headers = {"content_length": str(10 * LIMIT)}
    if authorization is not None:
        headers["authorization"] = authorization
    upload = Upload(chunks=100)
    answer = await run(http_scope(**headers), upload)
    assert answer.status == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert upload.taken == 0


async def test_a_chunked_unauthenticated_body_is_refused_unread() -> None:
    upload = Upload(chunks=100)
    answer = await run(http_scope(transfer_encoding="chunked"), upload)
    assert (answer.status, upload.taken) == (401, 0)


async def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    upload = Upload(chunks=100)
    scope = http_scope(content_length=str(LIMIT + 1), authorization="Bearer writer")
    answer = await run(scope, upload)
    assert (answer.status, upload.taken) == (413, 0)
    assert answer.detail == f"request body larger than {LIMIT} bytes"


@pytest.mark.parametrize(
    "length_header",
    [{"transfer_encoding": "chunked"}, {"content_length": "10"}, {"content_length": "ten"}],
    ids=["chunked", "lying-length", "garbled-length"],
)
async def test_a_body_is_refused_as_soon_as_it_passes_the_limit(
    length_header: dict[str, str],
) -> None:
    upload = Upload(chunks=100)
    answer = await run(http_scope(authorization="Bearer writer", **length_header), upload)
    assert answer.status == 413
    assert upload.taken == LIMIT // CHUNK + 1  # the first chunk past the limit, no more


async def test_a_body_within_the_limit_reaches_the_app_whole() -> None:
    app, answer, upload = App(), Answer(), Upload(chunks=LIMIT // CHUNK)
    gate = RequestGate(app, limits=BodyLimits(LIMIT), tokens=TOKENS)
    scope = http_scope(content_length=str(LIMIT), authorization="Bearer writer")
    await gate(scope, upload.receive, answer.send)
    assert answer.status == 200
    assert app.bodies == [b"x" * LIMIT]


async def test_a_read_token_passes_the_gate_and_the_route_decides_its_scope() -> None:
    scope = http_scope(content_length=str(CHUNK), authorization="Bearer reader")
    assert (await run(scope, Upload(chunks=1))).status == 200


async def test_without_tokens_only_the_size_is_guarded() -> None:
    assert (await run(http_scope(content_length="100"), Upload(1), tokens=None)).status == 200
    open_tokens = BearerTokens.from_settings(SecretStr(""), SecretStr(""))
    answer = await run(http_scope(transfer_encoding="chunked"), Upload(100), tokens=open_tokens)
    assert answer.status == 413


async def test_a_request_without_a_body_goes_straight_through() -> None:
    upload = Upload(chunks=0)
    answer = await run(http_scope(), upload)  # no token, but nothing to read
    assert answer.status == 200


async def test_a_client_gone_mid_body_gets_no_answer() -> None:
    upload = Upload(chunks=3)

    async def receive() -> Message:  # two chunks of a promised three, then the client leaves
        return {"type": "http.disconnect"} if upload.taken == 2 else await upload.receive()

    app, answer = App(), Answer()
    gate = RequestGate(app, limits=BodyLimits(LIMIT), tokens=TOKENS)
    await gate(
        http_scope(transfer_encoding="chunked", authorization="Bearer writer"), receive, answer.send
    )
    assert answer.messages == []
    assert app.bodies == []


def test_endpoint_classes_pick_their_limit() -> None:
    limits = BodyLimits(10, {r"/data/(klines|trades)": 1_000, r"/collections/.+": 100})
    assert limits.for_path("/data/klines") == 1_000
    assert limits.for_path("/data/klines/coverage") == 10  # the whole path must match
    assert limits.for_path("/collections/x/insert") == 100
    assert limits.for_path("/signals") == 10
    with pytest.raises(ValueError, match="at least 1 byte"):
        BodyLimits(0)


async def test_a_transfer_coding_beside_a_zero_length_is_still_guarded() -> None:
    upload = Upload(chunks=100)
    answer = await run(http_scope(content_length="0", transfer_encoding="chunked"), upload)
    assert (answer.status, upload.taken) == (401, 0)
