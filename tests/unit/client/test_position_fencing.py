"""Fenced position writes on the wire: the token as ``?fence=``, a stale one as its own error."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import httpx
import pytest

from petrosa.client import (
    ConflictError,
    StaleFenceError,
    SyncDataManagerClient,
)
from petrosa.contracts.trading import PositionClose, PositionIn
from tests.unit.client.conftest import BASE_URL, MakeClient, Scripted, json_body

T0 = dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)
POSITION = PositionIn(
    strategy_id="s1",
    symbol="BTCUSDT",
    side="long",
    quantity=Decimal("1"),
    entry_price=Decimal("100"),
    opened_at=T0,
)
CLOSE = PositionClose(exit_price=Decimal("101"), closed_at=T0 + dt.timedelta(hours=1))
STALE_BODY = {
    "detail": "stale fencing token 4 < 7 for position 'p1'",
    "code": "stale_fence",
    "fence": 4,
    "stored_fence": 7,
}


def written(fence: int | None) -> httpx.Response:
    position: dict[str, Any] = {
        **POSITION.model_dump(mode="json"),
        "position_id": "p1",
        "updated_at": T0.isoformat(),
    }
    return httpx.Response(
        200, json={"position": position, "created": False, "changed": True, "fence": fence}
    )


async def test_the_token_travels_as_a_query_parameter(make_client: MakeClient) -> None:
    server = Scripted(then=written(7))
    client = make_client(server)

    result = await client.upsert_position("p1", POSITION, fence=7)
    await client.close_position("p1", CLOSE, fence=7)
    await client.upsert_position("p1", POSITION)

    put, close, unfenced = server.requests
    assert (put.method, put.url.path, put.url.params["fence"]) == ("PUT", "/positions/p1", "7")
    assert json_body(put)["strategy_id"] == "s1"
    assert (close.url.path, close.url.params["fence"]) == ("/positions/p1/close", "7")
    assert "fence" not in unfenced.url.params
    assert result.fence == 7


async def test_a_stale_token_raises_stale_fence_error_once(make_client: MakeClient) -> None:
    server = Scripted(then=httpx.Response(409, json=STALE_BODY))
    client = make_client(server)

    with pytest.raises(StaleFenceError) as raised:
        await client.close_position("p1", CLOSE, fence=4)
    error = raised.value
    assert isinstance(error, ConflictError)
    assert (error.fence, error.stored_fence) == (4, 7)
    assert error.body == STALE_BODY
    assert "stale fencing token 4 < 7" in str(error)
    assert server.count == 1  # a conflict is final: never retried


async def test_other_conflicts_stay_plain_conflict_errors(make_client: MakeClient) -> None:
    reopening = httpx.Response(409, json={"detail": "position 'p1' is closed; ..."})
    client = make_client(Scripted(then=reopening))

    with pytest.raises(ConflictError) as raised:
        await client.upsert_position("p1", POSITION, fence=9)
    assert not isinstance(raised.value, StaleFenceError)


def test_the_blocking_client_passes_the_token_too() -> None:
    server = Scripted(written(3), httpx.Response(409, json=STALE_BODY))
    with SyncDataManagerClient(
        BASE_URL, transport=httpx.MockTransport(server), token="", max_attempts=1
    ) as client:
        assert client.upsert_position("p1", POSITION, fence=3).fence == 3
        with pytest.raises(StaleFenceError):
            client.upsert_position("p1", POSITION, fence=4)
    assert [request.url.params["fence"] for request in server.requests] == ["3", "4"]
