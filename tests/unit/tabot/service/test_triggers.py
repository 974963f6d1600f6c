"""Parsing the two triggers: the extractor's completion event and the socket client's
kline message, of which only a closed candle starts an evaluation."""

from __future__ import annotations

import orjson

from petrosa.contracts import Interval, Market
from petrosa.contracts.events import ExtractionCompleted
from petrosa.tabot.service.triggers import (
    Ignored,
    Source,
    Trigger,
    extractor_trigger,
    socket_trigger,
)


def event(**changes: object) -> bytes:
    fields = {
        "symbol": "BTCUSDT",
        "interval": "15m",
        "records_fetched": 3,
        "records_written": 3,
        "duration_s": 0.2,
        "success": True,
        **changes,
    }
    return ExtractionCompleted.model_validate(fields).model_dump_json().encode()


def kline(closed: bool, open_time: int = 1_700_000_100_000) -> bytes:
    data = {"e": "kline", "E": 1, "s": "ETHUSDT", "k": {"t": open_time, "x": closed, "i": "1h"}}
    return orjson.dumps(
        {"stream": "ethusdt@kline_1h", "event_time": 1, "received_at": 2, "data": data}
    )


def test_an_extraction_event_evaluates_the_latest_closed_candle_of_its_series() -> None:
    trigger = extractor_trigger("binance.klines.BTCUSDT.15m", event())
    assert trigger == Trigger(Source.EXTRACTOR, Market.FUTURES, "BTCUSDT", Interval.M15, None)


def test_an_extraction_event_that_names_its_candle_evaluates_that_candle() -> None:
    # a redelivery after the next candle closed must still evaluate the candle it announced
    trigger = extractor_trigger("binance.klines.BTCUSDT.15m", event(last_open_time=900_000))
    assert trigger == Trigger(Source.EXTRACTOR, Market.FUTURES, "BTCUSDT", Interval.M15, 900_000)


def test_failed_or_foreign_events_start_nothing() -> None:
    failed = event(success=False, records_written=0, error="boom")
    assert extractor_trigger("binance.klines.BTCUSDT.15m", failed) == Ignored("extraction_failed")
    trades = event(dataset="trades", interval=None)
    assert extractor_trigger("binance.klines.BTCUSDT.15m", trades) == Ignored("not_klines")
    assert extractor_trigger("binance.klines.BTCUSDT.15m", b"{") == Ignored("bad_payload")
    assert extractor_trigger("binance.klines.BTCUSDT", event()) == Ignored("bad_subject")
    # a partly failed extraction that stored candles still triggers
    partial = event(success=False, records_written=2, error="timeout")
    assert isinstance(extractor_trigger("binance.klines.BTCUSDT.15m", partial), Trigger)


def test_only_a_closed_socket_kline_is_a_trigger_and_names_its_candle() -> None:
    subject = "binance.spot.kline_1h.ETHUSDT"
    assert socket_trigger(subject, kline(closed=False)) == Ignored("forming")
    assert socket_trigger(subject, kline(closed=True)) == Trigger(
        Source.SOCKET, Market.SPOT, "ETHUSDT", Interval.H1, 1_700_000_100_000
    )
    assert socket_trigger(subject, b"[]") == Ignored("bad_payload")
    assert socket_trigger("binance.spot.aggTrade.ETHUSDT", kline(True)) == Ignored("bad_subject")
