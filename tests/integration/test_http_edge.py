"""The HTTP edge of the real services: bodies are read only from token holders and never
past their endpoint's limit; the largest batch the client sends still fits.

A real Data Manager (SQLite, tokens set, default limits) and a real exchange simulator,
over sockets; uploads are written by hand (``tests.support.raw_http``) so a test knows
exactly how much of a body the server had been sent when it answered.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from petrosa.client import MAX_BATCH_ROWS, DataManagerClient, HTTPStatusError
from petrosa.datamanager.settings import MAX_BULK_BODY_BYTES, MAX_DOCUMENT_BODY_BYTES
from petrosa.webauth import DEFAULT_MAX_BODY_BYTES
from tests.support.raw_http import RawUpload
from tests.support.server import RunningServer, start_data_manager, start_exchange_simulator

pytestmark = pytest.mark.integration

READ_TOKEN = "edge-read-token-0123456789"
WRITE_TOKEN = "edge-write-token-9876543210"
MIB = 1024 * 1024
HUGE = 64 * MIB
"""What an upload announces or would send in all: far past every limit."""
AS_WRITER = {"Authorization": f"Bearer {WRITE_TOKEN}"}


@pytest.fixture(scope="module")
def dm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("edge")
    server = start_data_manager(
        f"sqlite:///{tmp / 'edge.db'}",
        tmp,
        extra_env={
            "DATA_MANAGER_READ_TOKENS": READ_TOKEN,
            "DATA_MANAGER_WRITE_TOKENS": WRITE_TOKEN,
        },
    )
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/data/klines"),
        ("POST", "/data/trades"),
        ("POST", "/collections/edge/insert"),
        ("POST", "/collections/edge/query"),
        ("PUT", "/config/app/edge"),
        ("PUT", "/positions/edge-1"),
    ],
)
def test_an_unauthenticated_body_is_refused_before_a_byte_of_it_is_sent(
    dm: RunningServer, method: str, path: str
) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(HUGE)}
    with RawUpload(dm.base_url, method, path, headers) as upload:
        answer = upload.answer()  # the body is never sent: the answer comes from the head
        assert answer.status == 401, answer.body
        assert answer.headers["www-authenticate"].startswith("Bearer")


def test_a_stream_of_unauthenticated_bytes_is_cut_off(dm: RunningServer) -> None:
    sent = _stream_until_answered(dm.base_url, "/collections/edge/insert", {})
    assert sent.status == 401
    assert sent.bytes < HUGE


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/data/klines", MAX_BULK_BODY_BYTES),
        ("/collections/edge/insert", MAX_BULK_BODY_BYTES),
        ("/collections/edge/update_one", MAX_DOCUMENT_BODY_BYTES),
        ("/pnl/realized", MAX_DOCUMENT_BODY_BYTES),
    ],
)
def test_a_declared_length_past_the_limit_is_refused_at_once(
    dm: RunningServer, path: str, limit: int
) -> None:
    headers = {**AS_WRITER, "Content-Length": str(limit + 1)}
    with RawUpload(dm.base_url, "POST", path, headers) as upload:
        answer = upload.answer()
        assert answer.status == 413
        assert str(limit) in answer.body.decode()


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(dm: RunningServer) -> None:
    sent = _stream_until_answered(dm.base_url, "/data/klines", AS_WRITER)
    assert sent.status == 413
    assert sent.bytes < HUGE


def test_liveness_answers_while_oversized_uploads_are_refused(dm: RunningServer) -> None:
    outcomes: list[_Streamed] = []

    def upload() -> None:
        outcomes.append(_stream_until_answered(dm.base_url, "/data/trades", AS_WRITER))

    uploads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in uploads:
        thread.start()
    with httpx.Client(base_url=dm.base_url, timeout=30) as http:
        while any(thread.is_alive() for thread in uploads):
            assert http.get("/health/liveness").status_code == 200
    for thread in uploads:
        thread.join()
    assert [outcome.status for outcome in outcomes] == [413] * 4
    assert all(outcome.bytes < HUGE for outcome in outcomes)


async def test_the_largest_batches_the_client_sends_fit(dm: RunningServer) -> None:
    # Objects with long decimals: the bulkiest way a client can send a full batch.
    klines = [
        {
            "open_time": 1_699_999_980_000 + i * 60_000,  # on the 1m grid
            "open": 43_210.123456789012, "high": 43_299.987654321098,
            "low": 43_100.000000000001, "close": 43_250.555555555555,
            "volume": 1_234.5678901234567, "close_time": 1_700_000_039_999 + i * 60_000,
            "quote_volume": 53_345_678.123456789, "trades": 123_456,
            "taker_buy_base_volume": 617.28394506172, "taker_buy_quote_volume": 26_672_839.0617,
        }
        for i in range(MAX_BATCH_ROWS)
    ]  # fmt: skip
    trades = [
        {
            "trade_id": 9_000_000_000 + i, "price": 43_210.123456789012,
            "quantity": 0.000123456789012, "time": 1_700_000_000_000 + i,
            "is_buyer_maker": i % 2 == 0, "first_trade_id": 19_000_000_000 + i,
            "last_trade_id": 19_000_000_000 + i,
        }
        for i in range(MAX_BATCH_ROWS)
    ]  # fmt: skip
    documents = [{"n": i, "note": "x" * 2_000} for i in range(MAX_BATCH_ROWS)]  # ~10 MB
    largest_document = {"blob": "x" * (MIB - 64)}
    async with DataManagerClient(dm.base_url, token=WRITE_TOKEN) as client:
        written = await client.insert_klines("EDGEUSDT", "1m", klines, chunk_rows=MAX_BATCH_ROWS)
        assert written.received == MAX_BATCH_ROWS
        written = await client.insert_trades("EDGEUSDT", trades, chunk_rows=MAX_BATCH_ROWS)
        assert written.received == MAX_BATCH_ROWS
        inserted = await client.insert("edge_batch", documents)
        assert inserted.inserted == MAX_BATCH_ROWS
        assert (await client.insert_one("edge_large", largest_document)).inserted


async def test_the_client_is_told_413_for_a_body_past_the_limit(dm: RunningServer) -> None:
    # Not a lost connection, which the client would retry: the server reads on, discarding.
    too_big = {"blob": "x" * (MAX_DOCUMENT_BODY_BYTES + 1)}
    async with DataManagerClient(dm.base_url, token=WRITE_TOKEN) as client:
        with pytest.raises(HTTPStatusError) as refused:
            await client.insert_one("edge_too_big", too_big)
    assert refused.value.status_code == 413


def test_the_api_documents_stay_open_with_tokens_set_and_hold_no_secret(
    dm: RunningServer,
) -> None:
    with httpx.Client(base_url=dm.base_url) as http:
        document, page = http.get("/openapi.json"), http.get("/docs")
        assert (
            http.get("/data/candles", params={"pair": "EDGEUSDT", "period": "1m"}).status_code
            == 401
        )
    assert (document.status_code, page.status_code) == (200, 200)
    for body in (document.text, page.text):
        assert READ_TOKEN not in body
        assert WRITE_TOKEN not in body
        assert "sqlite" not in body


def test_the_exchange_simulator_limits_bodies(log_dir: Path) -> None:
    simulator = start_exchange_simulator(log_dir)
    try:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(DEFAULT_MAX_BODY_BYTES + 1),
        }
        with RawUpload(simulator.base_url, "POST", "/fapi/v1/order", headers) as upload:
            assert upload.answer().status == 413
        sent = _stream_until_answered(simulator.base_url, "/fapi/v1/order", {})
        assert sent.status == 413
        assert sent.bytes < HUGE
        assert httpx.get(f"{simulator.base_url}/health/liveness").status_code == 200
    finally:
        simulator.stop()


class _Streamed:
    def __init__(self, status: int, sent: int) -> None:
        self.status = status
        self.bytes = sent


def _stream_until_answered(base_url: str, path: str, headers: dict[str, str]) -> _Streamed:
    """POST a chunked body (no length) a MiB at a time until the server answers or
    ``HUGE`` bytes went out; the answer's status and how much was sent by then."""
    chunked = {**headers, "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    with RawUpload(base_url, "POST", path, chunked) as upload:
        piece = b" " * MIB
        while upload.sent < HUGE and not upload.answered() and upload.send_chunk(piece):
            pass
        return _Streamed(upload.answer().status, upload.sent)
