"""SIGNED endpoint security as Binance applies it: key, HMAC-SHA256 over query and body as
sent, and the timestamp window against the simulated clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from petrosa.exchange.simulator.signing import hmac_sha256
from tests.unit.exchange.simulator.test_trading_helpers import (
    FORM,
    KEY,
    PaperClient,
    paper_client,
    sign,
)

ACCOUNT = "/fapi/v3/account"
BINANCE_SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
BINANCE_QUERY = (
    "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC"
    "&recvWindow=5000&timestamp=1591702613943"
)
BINANCE_SIGNATURE = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
"""The worked example of Binance's USD-M futures documentation."""


@pytest.fixture
async def paper() -> AsyncIterator[PaperClient]:
    async with paper_client() as client:
        yield client


def test_the_documented_signature() -> None:
    assert hmac_sha256(BINANCE_SECRET, BINANCE_QUERY) == BINANCE_SIGNATURE
    assert sign(BINANCE_QUERY, BINANCE_SECRET) == BINANCE_SIGNATURE


@pytest.mark.parametrize(
    ("options", "status", "code"),
    [
        ({"key": None}, 401, -2014),
        ({"key": "has space"}, 401, -2014),
        ({"key": "someone-else"}, 401, -2015),
        ({"secret": "wrong-secret"}, 400, -1022),
    ],
)
async def test_credentials_are_checked(
    paper: PaperClient, options: dict[str, str | None], status: int, code: int
) -> None:
    answer = await paper.call("GET", ACCOUNT, **options)  # type: ignore[arg-type]
    assert (answer.status_code, answer.json()["code"]) == (status, code)


async def test_timestamp_window_follows_the_simulated_clock(paper: PaperClient) -> None:
    now = paper.clock.now_ms()
    ahead = await paper.call("GET", ACCOUNT, timestamp=now + 1_000)
    assert ahead.json() == {
        "code": -1021,
        "msg": "Timestamp for this request was 1000ms ahead of the server's time.",
    }
    assert (await paper.call("GET", ACCOUNT, timestamp=now + 999)).status_code == 200
    assert (await paper.call("GET", ACCOUNT, timestamp=now - 5_000)).status_code == 200
    stale = await paper.call("GET", ACCOUNT, timestamp=now - 5_001)
    assert stale.json()["code"] == -1021
    widened = await paper.call("GET", ACCOUNT, {"recvWindow": 10_000}, timestamp=now - 9_000)
    assert widened.status_code == 200


async def test_signature_and_timestamp_are_mandatory(paper: PaperClient) -> None:
    headers = {"X-MBX-APIKEY": KEY}
    unsigned = await paper.http.get(ACCOUNT, params={"timestamp": "1"}, headers=headers)
    assert unsigned.json()["code"] == -1102
    query = "recvWindow=5000"
    no_time = await paper.http.get(f"{ACCOUNT}?{query}&signature={sign(query)}", headers=headers)
    assert no_time.json()["code"] == -1102


async def test_a_signed_body_and_a_mixed_request(paper: PaperClient) -> None:
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.002"}
    in_body = await paper.call("POST", "/fapi/v1/order", params, in_body=True)
    assert in_body.status_code == 200, in_body.text
    # Query "symbol=BTCUSDT" and body "side=...": signed over both joined without "&".
    query = "symbol=BTCUSDT"
    body = f"side=SELL&type=MARKET&quantity=0.002&timestamp={paper.clock.now_ms()}"
    signature = sign(query + body)
    mixed = await paper.http.post(
        f"/fapi/v1/order?{query}",
        content=f"{body}&signature={signature}",
        headers={"X-MBX-APIKEY": KEY, **FORM},
    )
    assert mixed.status_code == 200, mixed.text
    assert mixed.json()["side"] == "SELL"


async def test_the_signature_is_not_case_sensitive(paper: PaperClient) -> None:
    query = f"timestamp={paper.clock.now_ms()}"
    answer = await paper.http.get(
        f"{ACCOUNT}?{query}&signature={sign(query).upper()}", headers={"X-MBX-APIKEY": KEY}
    )
    assert answer.status_code == 200
