"""Prometheus metrics of one socket client (a registry per instance, so tests start at zero).

Labels stay bounded: ``market`` and ``stream_type`` (``kline_1m``, ``depth``…) on counters,
the stream name only on the last-frame age, whose cardinality is the configuration's.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LAG_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.frames_in = Counter(
            "socketclient_frames_in_total",
            "Market-data frames received, per stream type",
            ["market", "stream_type"],
            registry=registry,
        )
        self.frames_out = Counter(
            "socketclient_frames_out_total",
            "Frames handed to NATS, per stream type",
            ["market", "stream_type"],
            registry=registry,
        )
        self.dropped = Counter(
            "socketclient_frames_dropped_total",
            "Frames not published: queue_full (NATS slow or down), unknown_stream, undecodable",
            ["market", "reason"],
            registry=registry,
        )
        self.duplicates = Counter(
            "socketclient_duplicates_skipped_total",
            "Frames already published from another connection (rotation overlap)",
            ["market", "stream_type"],
            registry=registry,
        )
        self.reconnects = Counter(
            "socketclient_reconnects_total",
            "Connections replaced: closed, failed, stalled (watchdog), rotated, shutdown",
            ["market", "route", "reason"],
            registry=registry,
        )
        self.control_errors = Counter(
            "socketclient_control_errors_total",
            "Error replies to SUBSCRIBE/UNSUBSCRIBE",
            ["market"],
            registry=registry,
        )
        self.resyncs = Counter(
            "socketclient_book_resyncs_total",
            "Maintained books dropped after a gap and fetched again",
            ["market"],
            registry=registry,
        )
        self.book_publishes = Counter(
            "socketclient_book_publishes_total",
            "Maintained-book messages handed to NATS",
            ["market"],
            registry=registry,
        )
        self.unconfirmed = Counter(
            "socketclient_jetstream_unconfirmed_total",
            "JetStream publishes without an ack in time (may be lost)",
            ["market"],
            registry=registry,
        )
        self.queued = Gauge(
            "socketclient_queued_frames",
            "Frames waiting for NATS, per connection slot",
            ["market", "route", "shard"],
            registry=registry,
        )
        self.last_frame_age = Gauge(
            "socketclient_last_frame_age_seconds",
            "Seconds since the stream's last frame (since subscribing, before the first)",
            ["market", "stream"],
            registry=registry,
        )
        self.lag = Histogram(
            "socketclient_publish_lag_seconds",
            "Exchange event time to the hand-off to NATS",
            ["market", "stream_type"],
            buckets=LAG_BUCKETS_S,
            registry=registry,
        )
