"""``/sim/scenarios`` in process (ASGI transport), ``--scenario`` settings, and the funding
extreme as ``/fapi/v1/premiumIndex`` and the ``markPrice`` stream show it (funding_rate,
STRATEGIES.md 4.7)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from petrosa.exchange.simulator import ManualClock, SimulatorSettings, create_app
from petrosa.exchange.simulator.funding import FUNDING_INTERVAL_MS
from petrosa.exchange.simulator.venue import Venue
from tests.unit.exchange.simulator.conftest import SEED
from tests.unit.exchange.simulator.feeds_support import decode, feed_of

SETTLEMENT_MS = 1_748_764_800_000 + FUNDING_INTERVAL_MS
"""2025-06-01T08:00:00Z."""
BEFORE_SETTLEMENT_MS = SETTLEMENT_MS - 20 * 60_000
"""07:40, inside the strategy's 30 minutes."""
PREMIUM = "/fapi/v1/premiumIndex"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(BEFORE_SETTLEMENT_MS)


@pytest.fixture
def app(clock: ManualClock) -> FastAPI:
    settings = SimulatorSettings(seed=SEED, symbols=("BTCUSDT", "ETHUSDT"))
    return create_app(settings, clock=clock)


@pytest.fixture
async def sim(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield client


async def test_start_list_and_end(sim: httpx.AsyncClient, clock: ManualClock) -> None:
    started = await sim.post("/sim/scenarios", json={"name": "imbalance", "symbol": "ETHUSDT"})
    assert started.status_code == 201
    body = started.json()
    assert body["market"] == "spot"
    assert body["state"] == "scheduled"
    assert body["start_ms"] == BEFORE_SETTLEMENT_MS // 100 * 100 + 100
    assert body["end_ms"] == body["start_ms"] + 30_000
    clock.advance(1_000)
    listed = (await sim.get("/sim/scenarios")).json()
    assert [(s["id"], s["state"]) for s in listed] == [(body["id"], "running")]
    ended = await sim.delete(f"/sim/scenarios/{body['id']}")
    assert ended.json()["end_ms"] == clock.now_ms() // 100 * 100 + 100
    assert (await sim.delete("/sim/scenarios/999")).status_code == 404
    clock.advance(100)
    assert (await sim.get("/sim/scenarios")).json() == []
    assert len((await sim.get("/sim/scenarios", params={"all": "true"})).json()) == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "tsunami", "symbol": "BTCUSDT"}, 422, "name"),
        ({"name": "iceberg"}, 422, "symbol"),
        ({"name": "iceberg", "symbol": "NOPEUSDT"}, 400, "symbol"),
        ({"name": "iceberg", "symbol": "BTCUSDT", "market": "options"}, 422, "market"),
        ({"name": "funding_extreme", "symbol": "BTCUSDT", "market": "spot"}, 422, "market"),
        ({"name": "iceberg", "symbol": "BTCUSDT", "start_ms": 1}, 422, "start_ms"),
        ({"name": "iceberg", "symbol": "BTCUSDT", "duration_s": 0}, 422, "duration_s"),
        ({"name": "iceberg", "symbol": "BTCUSDT", "params": {"size": 3}}, 422, "params.size"),
        (
            {"name": "buy_burst", "symbol": "BTCUSDT", "params": {"rise_bps": -1}},
            422,
            "params.rise_bps",
        ),
        ({"name": "iceberg", "symbol": "BTCUSDT", "colour": "red"}, 422, "colour"),
    ],
)
async def test_bad_requests_name_the_field(
    sim: httpx.AsyncClient, body: dict[str, object], status: int, field: str
) -> None:
    answer = await sim.post("/sim/scenarios", json=body)
    assert answer.status_code == status
    assert answer.json()["field"] == field
    assert answer.json()["msg"].startswith(f"{field}: ")


async def test_not_json_is_refused(sim: httpx.AsyncClient) -> None:
    answer = await sim.post("/sim/scenarios", content=b"{nope")
    assert answer.status_code == 422
    assert answer.json()["field"] == "body"


async def test_funding_extreme_in_rest_and_stream_before_settlement(
    sim: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    venue: Venue = app.state.venue
    feed = feed_of(venue, "btcusdt@markPrice@1s", "futures", clock.now_ms())
    quiet = (await sim.get(PREMIUM, params={"symbol": "BTCUSDT"})).json()
    assert abs(Decimal(quiet["lastFundingRate"])) < Decimal("0.0005")
    started = await sim.post(
        "/sim/scenarios", json={"name": "funding_extreme", "symbol": "BTCUSDT"}
    )
    assert started.json()["market"] == "futures"
    assert started.json()["end_ms"] == SETTLEMENT_MS
    for _ in range(5):
        clock.advance(1_000)
        events = decode(feed.poll(clock.now_ms()))
        rest = (await sim.get(PREMIUM, params={"symbol": "BTCUSDT"})).json()
        assert len(events) == 1
        event = events[0]
        assert event["E"] == rest["time"] == clock.now_ms()
        assert (event["r"], event["p"], event["i"], event["T"]) == (
            rest["lastFundingRate"],
            rest["markPrice"],
            rest["indexPrice"],
            rest["nextFundingTime"],
        )
        assert Decimal(event["r"]) >= 3 * Decimal("0.0005")
        assert event["T"] - event["E"] <= 30 * 60_000
        mark, index = Decimal(event["p"]), Decimal(event["i"])
        assert (mark - index) / index >= 2 * Decimal("0.0002")  # the premium agrees
    clock.set(SETTLEMENT_MS + 1_000)
    after = (await sim.get(PREMIUM, params={"symbol": "BTCUSDT"})).json()
    assert abs(Decimal(after["lastFundingRate"])) < Decimal("0.0005")
    assert after["indexPrice"] == after["markPrice"]


def test_scenarios_from_settings() -> None:
    settings = SimulatorSettings(
        symbols=("BTCUSDT",), scenarios="iceberg:btcusdt, funding_extreme:BTCUSDT:futures"
    )
    assert [(s.name.value, s.symbol, s.market_kind.value) for s in settings.scenarios] == [
        ("iceberg", "BTCUSDT", "spot"),
        ("funding_extreme", "BTCUSDT", "futures"),
    ]
    app = create_app(settings, clock=ManualClock(BEFORE_SETTLEMENT_MS))
    assert [s.name.value for s in app.state.scenarios.scenarios()] == [
        "iceberg",
        "funding_extreme",
    ]


@pytest.mark.parametrize(
    "spec", ["iceberg", "iceberg:BTCUSDT:spot:x", "tsunami:BTCUSDT", "iceberg:ETHUSDT"]
)
def test_bad_scenario_settings_are_refused(spec: str) -> None:
    with pytest.raises(ValidationError, match="scenarios"):
        SimulatorSettings(symbols=("BTCUSDT",), scenarios=spec)
