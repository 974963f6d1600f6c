"""What goes on the wire (URL, auth, JSON) and how answers become results or errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest

from petrosa.client import (
    DEFAULT_BASE_URL,
    CircuitState,
    DataManagerClient,
    DecodingError,
    ErrorItem,
    HTTPStatusError,
    NotFoundError,
    ServerError,
    ServiceUnavailableError,
    ValidationError,
)
from petrosa.client._config import resolve_base_url, resolve_token
from petrosa.contracts import WriteResult
from tests.unit.client.conftest import BASE_URL, MakeClient, Scripted, json_body

VALIDATION_DETAIL = [
    {"loc": ["body", "klines", 3, "high"], "msg": "high must be >= low", "type": "value_error"},
    {"loc": ["body", "symbol"], "msg": "bad symbol", "type": "string_pattern_mismatch"},
]


async def test_bearer_token_is_sent(make_client: MakeClient) -> None:
    server = Scripted()
    client = make_client(server, token="s3cret")

    await client._request("GET", "/thing")
    assert server.requests[0].headers["Authorization"] == "Bearer s3cret"


async def test_no_token_no_authorization_header(make_client: MakeClient) -> None:
    server = Scripted()
    client = make_client(server, token="")

    await client._request("GET", "/thing")
    assert "Authorization" not in server.requests[0].headers


async def test_url_and_token_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_MANAGER_URL", "http://dm.internal:8000")
    monkeypatch.setenv("DATA_MANAGER_TOKEN", "from-env")
    server = Scripted()
    async with DataManagerClient(transport=httpx.MockTransport(server)) as client:
        await client._request("GET", "/thing")
    assert str(server.requests[0].url) == "http://dm.internal:8000/thing"
    assert server.requests[0].headers["Authorization"] == "Bearer from-env"


def test_configuration_fallbacks() -> None:
    assert resolve_base_url(None, {}) == DEFAULT_BASE_URL == "http://127.0.0.1:8000"
    assert resolve_base_url("http://x:1", {"DATA_MANAGER_URL": "http://y:2"}) == "http://x:1"
    assert resolve_token(None, {}) is None
    assert resolve_token(None, {"DATA_MANAGER_TOKEN": "t"}) == "t"
    assert resolve_token("", {"DATA_MANAGER_TOKEN": "t"}) is None


async def test_validation_error_carries_the_detail_list(make_client: MakeClient) -> None:
    answer = httpx.Response(422, json={"detail": VALIDATION_DETAIL})
    client = make_client(Scripted(then=answer))

    with pytest.raises(ValidationError) as raised:
        await client._request("POST", "/data/klines", json={})
    error = raised.value
    assert error.errors == [
        ErrorItem(loc=("body", "klines", 3, "high"), msg="high must be >= low", type="value_error"),
        ErrorItem(loc=("body", "symbol"), msg="bad symbol", type="string_pattern_mismatch"),
    ]
    assert error.detail == VALIDATION_DETAIL
    assert "body.klines.3.high: high must be >= low" in str(error)
    assert error.url == f"{BASE_URL}/data/klines"
    assert error.method == "POST"


async def test_text_detail_is_in_the_message(make_client: MakeClient) -> None:
    answer = httpx.Response(404, json={"detail": "unknown collection: orders"})
    client = make_client(Scripted(then=answer))

    with pytest.raises(NotFoundError, match="unknown collection: orders"):
        await client._request("POST", "/collections/orders/query", json={})


async def test_not_found_ok_returns_none(make_client: MakeClient) -> None:
    client = make_client(Scripted(then=404))

    assert await client._request("GET", "/positions/p1", not_found_ok=True) is None


@pytest.mark.parametrize(
    ("status", "kind"),
    [(418, HTTPStatusError), (501, ServerError), (502, ServiceUnavailableError)],
)
async def test_status_classes(make_client: MakeClient, status: int, kind: type) -> None:
    client = make_client(Scripted(then=status), max_attempts=1)

    with pytest.raises(HTTPStatusError) as raised:
        await client._request("GET", "/thing")
    assert type(raised.value) is kind


async def test_invalid_json_is_a_decoding_error(make_client: MakeClient) -> None:
    client = make_client(Scripted(then=httpx.Response(200, content=b"<html>")))

    with pytest.raises(DecodingError):
        await client._request("GET", "/thing")


async def test_json_body_encodes_money_times_and_models(make_client: MakeClient) -> None:
    server = Scripted()
    client = make_client(server)
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)

    await client._request(
        "POST",
        "/thing",
        json={
            "amount": Decimal("12.50"),
            "at": when,
            "result": WriteResult(received=1, inserted=1, updated=0),
        },
    )
    request = server.requests[0]
    assert request.headers["Content-Type"] == "application/json"
    assert json_body(request) == {
        "amount": "12.50",
        "at": "2024-05-01T12:30:00+00:00",
        "result": {"received": 1, "inserted": 1, "updated": 0},
    }


async def test_unset_query_parameters_are_left_out(make_client: MakeClient) -> None:
    server = Scripted()
    client = make_client(server)

    await client._request("GET", "/thing", params={"a": 1, "b": None, "c": "x"})
    assert server.requests[0].url.query == b"a=1&c=x"


async def test_health_ready(make_client: MakeClient) -> None:
    body = {"status": "ready", "stores": {"primary": {"ready": True, "ping_ms": 0.4}}}
    server = Scripted(then=httpx.Response(200, json=body))
    client = make_client(server)

    readiness = await client.health()
    assert readiness.ready is True
    assert readiness.status_code == 200
    assert readiness.stores["primary"]["ping_ms"] == 0.4
    assert server.requests[0].url.path == "/health/readiness"


async def test_health_reports_not_ready_without_raising_or_retrying(
    make_client: MakeClient,
) -> None:
    body = {"status": "unavailable", "stores": {"primary": {"ready": False, "reason": "down"}}}
    server = Scripted(then=httpx.Response(503, json=body, headers={"Retry-After": "2"}))
    client = make_client(server)

    readiness = await client.health()
    assert readiness.ready is False
    assert readiness.status == "unavailable"
    assert readiness.status_code == 503
    assert readiness.stores["primary"]["reason"] == "down"
    assert server.count == 1


async def test_health_of_an_unreachable_server(make_client: MakeClient) -> None:
    client = make_client(Scripted(then=httpx.ConnectError("refused")))

    readiness = await client.health()
    assert readiness.ready is False
    assert readiness.status == "unreachable"
    assert readiness.status_code is None
    assert readiness.error is not None
    assert "refused" in readiness.error


async def test_health_ignores_the_open_circuit(make_client: MakeClient) -> None:
    server = Scripted(503, then=httpx.Response(200, json={"status": "ready"}))
    client = make_client(server, max_attempts=1, breaker_threshold=1)
    with pytest.raises(ServiceUnavailableError):
        await client._request("GET", "/thing")
    assert client.circuit_state is CircuitState.OPEN

    assert (await client.health()).ready is True


async def test_health_of_a_garbled_answer(make_client: MakeClient) -> None:
    client = make_client(Scripted(then=httpx.Response(200, content=b"ok")))

    readiness = await client.health()
    assert readiness.ready is False
    assert readiness.error is not None


async def test_base_url_is_exposed() -> None:
    async with DataManagerClient("http://dm.example:9000") as client:
        assert client.base_url == "http://dm.example:9000"
