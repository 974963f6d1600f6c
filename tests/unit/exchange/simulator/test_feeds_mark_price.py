"""The markPrice stream: every 3 s (or 1 s), the figures ``/fapi/v1/premiumIndex`` gives at
the event time; only the latest after a jump."""

from __future__ import annotations

import httpx
import pytest

from petrosa.exchange.binance.streams import parse_stream
from petrosa.exchange.simulator import ManualClock, SimulatorSettings, create_app
from petrosa.exchange.simulator.feeds import open_feed
from tests.unit.exchange.simulator.conftest import NOW_MS, SEED
from tests.unit.exchange.simulator.feeds_support import SYMBOLS, decode

PREMIUM_FIELDS = {
    "p": "markPrice",
    "i": "indexPrice",
    "P": "estimatedSettlePrice",
    "r": "lastFundingRate",
    "T": "nextFundingTime",
}


@pytest.mark.parametrize(
    ("name", "cadence"), [("btcusdt@markPrice", 3_000), ("btcusdt@markPrice@1s", 1_000)]
)
async def test_mark_price_is_the_premium_index(name: str, cadence: int) -> None:
    clock = ManualClock(NOW_MS)
    app = create_app(SimulatorSettings(seed=SEED, symbols=SYMBOLS), clock=clock)
    feed = open_feed(app.state.venue, parse_stream(name, "futures"), NOW_MS)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        events = []
        for _ in range(12):
            clock.advance(700)
            events += decode(feed.poll(clock.now_ms()))
        assert [e["E"] for e in events] == list(
            range(NOW_MS - NOW_MS % cadence + cadence, clock.now_ms() + 1, cadence)
        )
        for event in events:
            assert list(event) == ["e", "E", "s", "p", "i", "P", "r", "T"]
            assert (event["e"], event["s"]) == ("markPriceUpdate", "BTCUSDT")
            clock.set(event["E"])
            answer = await client.get("/fapi/v1/premiumIndex", params={"symbol": "BTCUSDT"})
            index = answer.json()
            assert {key: event[key] for key in PREMIUM_FIELDS} == {
                key: index[field] for key, field in PREMIUM_FIELDS.items()
            }


def test_a_jump_sends_only_the_latest_mark_price() -> None:
    app = create_app(SimulatorSettings(seed=SEED, symbols=SYMBOLS), clock=ManualClock(NOW_MS))
    feed = open_feed(app.state.venue, parse_stream("ethusdt@markPrice", "futures"), NOW_MS)
    assert feed.poll(NOW_MS) == []
    later = NOW_MS + 8 * 3_600_000 + 1_234
    events = decode(feed.poll(later))
    assert [e["E"] for e in events] == [later - later % 3_000]
    assert events[0]["T"] > later
    assert feed.poll(later) == []
