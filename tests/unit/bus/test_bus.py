"""Subject matching and the in-process bus."""

from __future__ import annotations

import pytest

from petrosa.bus import BusSettings, InProcessBus, NullBus, bus_from_settings, subject_matches


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("binance.klines.BTCUSDT.5m", "binance.klines.BTCUSDT.5m", True),
        ("binance.klines.*.5m", "binance.klines.ETHUSDT.5m", True),
        ("binance.klines.*.5m", "binance.klines.ETHUSDT.1h", False),
        ("binance.klines.>", "binance.klines.ETHUSDT.1h", True),
        ("binance.klines.>", "binance.klines", False),
        ("binance.*", "binance.klines.X", False),
        ("signals.trading", "signals.trading.extra", False),
    ],
)
def test_subject_matching(pattern: str, subject: str, matches: bool) -> None:
    assert subject_matches(pattern, subject) is matches


async def test_in_process_bus_delivers_to_matching_subscriptions_in_order() -> None:
    bus = InProcessBus()
    klines = bus.subscribe("binance.klines.>")
    btc = bus.subscribe("binance.klines.BTCUSDT.*")
    for subject in ("binance.klines.BTCUSDT.1m", "binance.klines.ETHUSDT.1m", "signals.trading"):
        await bus.publish(subject, subject.encode())
    assert [klines.get_nowait().subject for _ in range(klines.qsize())] == [
        "binance.klines.BTCUSDT.1m",
        "binance.klines.ETHUSDT.1m",
    ]
    assert btc.get_nowait().payload == b"binance.klines.BTCUSDT.1m"
    assert btc.empty()


async def test_without_nats_url_the_bus_is_off() -> None:
    bus = await bus_from_settings(BusSettings(nats_url=None))
    assert isinstance(bus, NullBus)
    await bus.publish("x", b"y")
    await bus.close()
