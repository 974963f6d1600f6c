"""Prometheus metrics of one realtime replica (a registry per instance: tests start at 0).

Per (market, symbol, strategy): events, evaluations, signals and evaluation time, read from
the engines' own counters at scrape time. A symbol given away keeps its counts (they are
folded into ``retired``), so every series only ever grows, as a counter must, even when a
symbol moves between replicas and back.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from petrosa.realtime import SymbolEngine

LAG_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
NS = 1e9

StrategyKey = tuple[str, str, str]
"""(market, symbol, strategy)"""
FeedKey = tuple[str, str, str]
"""(market, symbol, feed)"""


class EngineTotals(Collector):
    """Engine counters: the live engines' plus those of engines already dropped."""

    def __init__(self, engines: Callable[[], Iterable[SymbolEngine]]) -> None:
        self._engines = engines
        self.events: Tally[FeedKey] = Tally()
        self.evaluations: Tally[StrategyKey] = Tally()
        self.signals: Tally[StrategyKey] = Tally()
        self.evaluation_ns: Tally[StrategyKey] = Tally()

    def retire(self, engine: SymbolEngine) -> None:
        for feed, count in engine.stats.events.items():
            self.events[(engine.market.value, engine.symbol, feed)] += count
        for strategy_id, stats in engine.stats.strategies.items():
            key = (engine.market.value, engine.symbol, strategy_id)
            self.evaluations[key] += stats.evaluations
            self.signals[key] += stats.signals
            self.evaluation_ns[key] += stats.evaluation_ns

    def collect(self) -> Iterator[CounterMetricFamily]:
        current = EngineTotals(list)
        for engine in self._engines():
            current.retire(engine)
        events = CounterMetricFamily(
            "realtime_events", "Events fed to the engines", labels=["market", "symbol", "feed"]
        )
        for key, count in sorted((self.events + current.events).items()):
            events.add_metric(list(key), count)
        yield events
        labels = ["market", "symbol", "strategy"]
        families = (
            ("realtime_evaluations", "Strategy evaluations", "evaluations", 1.0),
            ("realtime_signals", "Signals the engines emitted", "signals", 1.0),
            ("realtime_evaluation_seconds", "Time spent evaluating", "evaluation_ns", NS),
        )
        for name, help_text, attribute, scale in families:
            family = CounterMetricFamily(name, help_text, labels=labels)
            mine: Tally[StrategyKey] = getattr(self, attribute)
            theirs: Tally[StrategyKey] = getattr(current, attribute)
            for key in sorted(set(mine) | set(theirs)):
                family.add_metric(list(key), (mine[key] + theirs[key]) / scale)
            yield family


class ServiceMetrics:
    def __init__(self, engines: Callable[[], Iterable[SymbolEngine]]) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.engines = EngineTotals(engines)
        registry.register(self.engines)
        self.published = Counter(
            "realtime_signals_published",
            "Signals handed to JetStream: acked, failed, lease_lost, queue_full",
            ["outcome"],
            registry=registry,
        )
        self.recorded = Counter(
            "realtime_signals_recorded",
            "Signal records in the Data Manager: stored, failed, queue_full",
            ["outcome"],
            registry=registry,
        )
        self.input_errors = Counter(
            "realtime_input_errors",
            "Messages that could not be read (InputError), per market",
            ["market"],
            registry=registry,
        )
        self.leases = Counter(
            "realtime_lease_events",
            "Symbol leases gained and lost (rebalance, expired, renewal failed, shutdown)",
            ["event"],
            registry=registry,
        )
        self.owned = Gauge("realtime_owned_symbols", "Symbols this replica owns", registry=registry)
        self.replicas = Gauge(
            "realtime_live_replicas", "Replicas holding a registry slot", registry=registry
        )
        self.config_version = Gauge(
            "realtime_config_version",
            "Applied parameter document version (0: defaults)",
            registry=registry,
        )
        self.config_rejected = Counter(
            "realtime_config_rejected", "Parameter documents refused", registry=registry
        )
        self.signal_lag = Histogram(
            "realtime_signal_lag_seconds",
            "Exchange event time of the triggering message to the JetStream ack",
            buckets=LAG_BUCKETS_S,
            registry=registry,
        )
