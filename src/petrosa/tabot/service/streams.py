"""The JetStream streams and durable consumers the service reads from and writes to.

======================  =============================  ===================================
stream                  subjects                       owner / why
======================  =============================  ===================================
``KLINE_EVENTS``        ``binance.klines.<SYMBOL>.*``  this service: keeps the extractor's
                        per configured symbol          completion events (published on core
                                                       NATS) until a replica handled them
``BINANCE_KLINES``      ``binance.*.kline_<i>.*``      the socket client; read when present
``SIGNALS``             ``signals.trading``            the trade engine; created here with
                                                       the engine's exact settings if absent
======================  =============================  ===================================

The events stream lists one subject per symbol rather than ``binance.klines.*.*``: NATS
refuses streams whose subjects can match a common subject, and ``binance.klines.*.*`` and
the socket client's ``binance.*.kline_1m.*`` both match ``binance.klines.kline_1m.x``.
Symbols are only added (a symbol dropped from the configuration keeps its subject: another
replica may still be on the older configuration).

One durable pull consumer per input, shared by every replica (each message goes to one of
them), explicit acks, delivering only messages newer than its creation.
"""

from __future__ import annotations

from collections.abc import Iterable

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from petrosa.contracts import Interval, Market
from petrosa.contracts.events import klines_subject

MAX_ACK_PENDING = 1_000


def events_subjects(symbols: Iterable[str]) -> list[str]:
    return sorted({klines_subject(symbol, "*") for symbol in symbols})


async def ensure_events_stream(
    js: JetStreamContext, name: str, symbols: Iterable[str], max_age_s: float
) -> None:
    """The stream keeping extraction events of ``symbols``: created, or given their subjects."""
    wanted = events_subjects(symbols)
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(
            StreamConfig(
                name=name,
                subjects=wanted,
                storage=StorageType.FILE,
                max_age=max_age_s,
                discard=DiscardPolicy.OLD,
            )
        )
        return
    current = list(info.config.subjects or [])
    missing = [subject for subject in wanted if subject not in current]
    if missing:
        info.config.subjects = sorted({*current, *missing})
        await js.update_stream(info.config)


async def ensure_signals_stream(js: JetStreamContext, name: str, subject: str) -> None:
    """The engine's signal stream, created exactly as the engine creates it when missing
    (``petrosa.tradeengine.ingress.ensure_stream``), so the engine's own ``add_stream`` of
    the same configuration succeeds and nothing is reset. An existing stream must carry the
    subject; otherwise publishing would fail, so this raises."""
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(StreamConfig(name=name, subjects=[subject]))
        return
    if subject not in (info.config.subjects or []):
        raise RuntimeError(f"stream {name} does not carry {subject}: {info.config.subjects}")


async def stream_exists(js: JetStreamContext, name: str) -> bool:
    try:
        await js.stream_info(name)
    except NotFoundError:
        return False
    return True


def consumer_config(
    durable: str, *, ack_wait_s: float, max_deliver: int, filter_subject: str | None = None
) -> ConsumerConfig:
    return ConsumerConfig(
        name=durable,
        durable_name=durable,
        deliver_policy=DeliverPolicy.NEW,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait_s,
        max_deliver=max_deliver,
        max_ack_pending=MAX_ACK_PENDING,
        filter_subject=filter_subject,
    )


async def ensure_consumer(js: JetStreamContext, stream: str, config: ConsumerConfig) -> None:
    """Created when missing; an existing one keeps its position (and is left as it is)."""
    assert config.durable_name is not None
    try:
        await js.consumer_info(stream, config.durable_name)
    except NotFoundError:
        await js.add_consumer(stream, config)


def kline_filter(market: Market, interval: Interval) -> str:
    """The socket client's subject of one market's klines of one interval."""
    return f"binance.{market.value}.kline_{interval.value}.*"


def kline_durable(prefix: str, market: Market, interval: Interval) -> str:
    """One consumer per (market, interval): NATS 2.9 filters on a single subject."""
    return f"{prefix}-{market.value}-{interval.value}"
