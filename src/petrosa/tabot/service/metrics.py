"""The service's Prometheus metrics, on a registry of its own (one per service instance)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events = Counter(
            "petrosa_tabot_events_total",
            "Triggers received, by source (extractor, socket) and outcome",
            ["source", "outcome"],
            registry=r,
        )
        self.evaluations = Counter(
            "petrosa_tabot_strategy_evaluations_total",
            "Strategy evaluations of a closed candle",
            ["strategy"],
            registry=r,
        )
        self.skipped = Counter(
            "petrosa_tabot_strategy_skipped_total",
            "Strategies not evaluated on a trigger, by reason (too_few_rows, gap, ...)",
            ["strategy", "reason"],
            registry=r,
        )
        self.rejected = Counter(
            "petrosa_tabot_strategy_rejected_total",
            "Fired decisions refused by central validation, by reason",
            ["strategy", "reason"],
            registry=r,
        )
        self.signals = Counter(
            "petrosa_tabot_signals_total",
            "Signals and alerts published, by strategy and side (buy, sell, alert)",
            ["strategy", "side"],
            registry=r,
        )
        self.read_seconds = Histogram(
            "petrosa_tabot_candle_read_seconds",
            "Reading a trigger's candles from the Data Manager",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.evaluation_seconds = Histogram(
            "petrosa_tabot_evaluation_seconds",
            "Evaluating every enabled strategy on a trigger's window (indicators included)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.trigger_seconds = Histogram(
            "petrosa_tabot_trigger_seconds",
            "A trigger handled end to end: read, evaluate, publish, record",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.config_version = Gauge(
            "petrosa_tabot_config_service_version",
            "Version of the service configuration document in use",
            registry=r,
        )
        self.config_problems = Gauge(
            "petrosa_tabot_config_problems",
            "Stored configuration values refused on load (the last valid ones are in use)",
            registry=r,
        )
