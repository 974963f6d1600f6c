"""The trade engine's app is behind the request gate: a signal body is read only from a
token holder, and never past ``TRADEENGINE_MAX_BODY_BYTES``.

In-process over httpx's ASGI transport, which hands the app the body only as the app asks
for it, so the test sees how much of an upload was consumed. The engine itself never
starts (its lifespan does not run): the gate answers before any route would need it.
(The gate's socket-level behaviour is proven against real servers in
``tests/integration/test_http_edge.py``.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from pydantic import SecretStr

from petrosa.tradeengine.api import create_app
from petrosa.tradeengine.settings import TradeEngineSettings

LIMIT = 4_096
PIECE = b" " * 1_024
PIECES = 1_000


class CountedUpload:
    """A streamed body of ``PIECES`` pieces that counts those taken."""

    def __init__(self) -> None:
        self.taken = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(PIECES):
            self.taken += 1
            yield PIECE


def engine_client() -> httpx.AsyncClient:
    settings = TradeEngineSettings(
        read_tokens=SecretStr("reader"), write_tokens=SecretStr("writer"), max_body_bytes=LIMIT
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    return httpx.AsyncClient(transport=transport, base_url="http://engine")


async def test_an_unauthenticated_signal_body_is_not_read() -> None:
    upload = CountedUpload()
    async with engine_client() as http:
        response = await http.post("/signals", content=upload.__aiter__())
    assert response.status_code == 401
    assert upload.taken == 0


async def test_an_oversized_signal_body_is_cut_off_at_the_limit() -> None:
    upload = CountedUpload()
    async with engine_client() as http:
        response = await http.post(
            "/signals", content=upload.__aiter__(), headers={"Authorization": "Bearer writer"}
        )
    assert response.status_code == 413
    assert upload.taken == LIMIT // len(PIECE) + 1
