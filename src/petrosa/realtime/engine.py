"""One (market, symbol)'s realtime state: the feeds, the strategies, what they publish.

The service owns one ``SymbolEngine`` per symbol it holds the lease of and passes it every
parsed event of that symbol, in stream order. Everything runs on exchange time carried by
the events, so a replay gives the same signals, and so does another replica once its
warm-up has passed. What the engine does for every strategy alike:

- drops repeats and out-of-order messages per feed (a rotation's overlap, a redelivery);
- staleness: a feed silent for longer than its limit (depth 5 s, aggTrade 60 s,
  markPrice 10 s of exchange time, seen from any later event or from ``tick``) resets the
  strategies reading it; so does a crossed book. They restart their warm-up on the feed's
  next message and report ``stale`` until then;
- the warm-up gate: a strategy evaluates (so its hysteresis and cooldown track the
  market) but publishes nothing until its windows are full and ``gate_ms`` has passed;
- central validation, the cooldown, and the ``Signal`` with the market state behind it.

A reset rebuilds only the strategy state; the risk unit's ATR (fed by candles, not by the
stale streams) survives it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from petrosa.contracts import Kline, Market
from petrosa.contracts.signals import params_hash, version_label
from petrosa.realtime.config import RealtimeConfig
from petrosa.realtime.events import (
    AggTrade,
    BookSnapshot,
    Candle,
    Feed,
    MarketEvent,
    MarkPrice,
    TickerPrice,
)
from petrosa.realtime.risk import Bar, RiskUnit
from petrosa.realtime.signals import Emission, realtime_signal, signal_time
from petrosa.realtime.strategies import CATALOGUE
from petrosa.realtime.strategy import MS, Decision, RealtimeParams, RealtimeStrategy
from petrosa.realtime.triggers import Cooldown
from petrosa.realtime.validation import check_decision

STALE_AFTER_MS: dict[Feed, int] = {
    Feed.DEPTH: 5_000,
    Feed.TRADES: 60_000,
    Feed.MARK: 10_000,
    Feed.TICKER: 10_000,
}
"""Exchange-time silence after which a feed's strategies are reset (STRATEGIES.md 4.1)."""
STATE_LEVELS = 10
"""Book levels per side recorded with a signal's market state."""


class StrategyState(StrEnum):
    WAITING = "waiting"
    """No message of its feed since the start or the last reset."""
    WARMING = "warming"
    READY = "ready"
    STALE = "stale"
    """Its feed went silent or crossed; it restarts on the feed's next good message."""


@dataclass(slots=True)
class StrategyStats:
    evaluations: int = 0
    signals: int = 0
    evaluation_ns: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    cooldown_blocked: int = 0
    warming_suppressed: int = 0


@dataclass(slots=True)
class EngineStats:
    events: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    resets: Counter[str] = field(default_factory=Counter)
    strategies: dict[str, StrategyStats] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FeedStatus:
    last_ms: int | None
    problem: str | None
    """``stale`` or ``crossed`` while it is one; None when healthy or never seen."""


@dataclass(frozen=True, slots=True)
class EngineStatus:
    time_ms: int | None
    feeds: dict[Feed, FeedStatus]
    strategies: dict[str, StrategyState]
    ready_at_ms: dict[str, int | None]

    @property
    def ready(self) -> bool:
        """Every strategy ready and no feed stale or crossed."""
        healthy = all(feed.problem is None for feed in self.feeds.values())
        return healthy and all(s is StrategyState.READY for s in self.strategies.values())


@dataclass(slots=True)
class _Track:
    last_ms: int | None = None
    problem: str | None = None


@dataclass(slots=True)
class _Slot:
    strategy: RealtimeStrategy[Any]
    version: str
    params_hash: str
    cooldown: Cooldown
    stats: StrategyStats
    started_ms: int | None = None

    @property
    def params(self) -> RealtimeParams:
        params: RealtimeParams = self.strategy.params
        return params


class SymbolEngine:
    """The realtime strategies of one (market, symbol), fed in stream order."""

    def __init__(
        self,
        market: Market,
        symbol: str,
        strategies: Mapping[str, RealtimeParams] | None = None,
        *,
        candles: Iterable[Kline | Candle] = (),
        stale_after_ms: Mapping[Feed, int] | None = None,
        timer: Callable[[], int] = time.perf_counter_ns,
    ) -> None:
        """``strategies``: id → parameters (``RealtimeConfig.resolve``); None runs every
        strategy of the market with its defaults. ``candles`` seed the risk unit's ATR."""
        self.market = Market(market)
        self.symbol = symbol
        self.risk = RiskUnit()
        self.risk.seed(candles)
        self.stale_after_ms = dict(stale_after_ms or STALE_AFTER_MS)
        self.stats = EngineStats()
        self._timer = timer
        self._slots: dict[str, _Slot] = {}
        self._readers: dict[Feed, list[_Slot]] = {}
        self._tracks: dict[Feed, _Track] = {feed: _Track() for feed in Feed}
        self.now_ms: int | None = None
        self._last: dict[Feed, MarketEvent] = {}
        self._last_trade_id: int | None = None
        self._last_update_id: int | None = None
        self.configure(
            RealtimeConfig().resolve(self.market, symbol) if strategies is None else strategies
        )

    # -- configuration -------------------------------------------------------------------

    def configure(self, strategies: Mapping[str, RealtimeParams]) -> None:
        """Apply new parameters without a restart: an unchanged strategy keeps its state, a
        changed one starts over (its windows may no longer fit), a removed one is dropped."""
        slots: dict[str, _Slot] = {}
        for strategy_id, cls in CATALOGUE.items():  # catalogue order: a stable output order
            params = strategies.get(strategy_id)
            if params is None:
                continue
            if self.market not in cls.markets:
                raise ValueError(f"{strategy_id} does not run on {self.market.value}")
            if not isinstance(params, cls.params_type):
                raise TypeError(f"{strategy_id} takes {cls.params_type.__name__}")
            old = self._slots.get(strategy_id)
            if old is not None and old.params == params:
                slots[strategy_id] = old
                continue
            slots[strategy_id] = _Slot(
                cls(params, self.risk),
                version_label(cls.version, params, cls.params_type()),
                params_hash(params),
                Cooldown(round(params.cooldown_s * MS)),
                old.stats if old is not None else StrategyStats(),
            )
        unknown = set(strategies) - set(CATALOGUE)
        if unknown:
            raise ValueError(f"unknown strategies {sorted(unknown)}")
        self._slots = slots
        self.stats.strategies = {sid: slot.stats for sid, slot in slots.items()}
        self._readers = {
            feed: [slot for slot in slots.values() if feed in slot.strategy.feeds] for feed in Feed
        }

    def seed_candles(self, candles: Iterable[Kline | Candle]) -> None:
        """Closed 1m candles, oldest first (the Data Manager's, when a symbol is taken)."""
        self.risk.seed(candles)

    # -- input ---------------------------------------------------------------------------

    def feed(self, event: MarketEvent) -> list[Emission]:
        """One event of this symbol; the signals it completes, in catalogue order."""
        if event.market is not self.market or event.symbol != self.symbol:
            raise ValueError(
                f"{event.market.value} {event.symbol} routed to the engine of "
                f"{self.market.value} {self.symbol}"
            )
        feed = event.feed
        self.stats.events[feed.value] += 1
        if isinstance(event, Candle):
            self.risk.add(Bar(event.open_time, event.high, event.low, event.close))
            return []
        track = self._tracks[feed]
        if self._is_repeat(event, track):
            return []
        self.tick(event.time_ms)
        track.last_ms = event.time_ms
        if isinstance(event, BookSnapshot):
            if not event.complete:
                self.stats.dropped["empty_book"] += 1
                return []
            if event.crossed:
                if track.problem != "crossed":
                    self._reset_feed(feed, "crossed_book")
                    track.problem = "crossed"
                return []
        track.problem = None
        self._last[feed] = event
        emissions: list[Emission] = []
        timer = self._timer
        for slot in self._readers[feed]:
            if slot.started_ms is None:
                slot.started_ms = event.time_ms
            started = timer()
            decision = slot.strategy.on_event(event)
            slot.stats.evaluation_ns += timer() - started
            slot.stats.evaluations += 1
            if decision is not None:
                emission = self._publish(slot, decision, event.time_ms)
                if emission is not None:
                    emissions.append(emission)
        return emissions

    def tick(self, now_ms: int) -> None:
        """Advance exchange time without a message (the service's estimate for a symbol
        that went silent): feeds past their limit are reset and reported stale."""
        if self.now_ms is not None and now_ms <= self.now_ms:
            return
        self.now_ms = now_ms
        for feed, limit in self.stale_after_ms.items():
            track = self._tracks[feed]
            last = track.last_ms
            if last is not None and track.problem is None and now_ms - last > limit:
                self._reset_feed(feed, f"stale_{feed.value}")
                track.problem = "stale"

    def reset(self, reason: str) -> None:
        """Forget every strategy's state and every feed's position (e.g. after a gap the
        service noticed); warm-up starts again. The ATR is kept."""
        self.stats.resets[reason] += 1
        for slot in self._slots.values():
            self._restart(slot)
        self._tracks = {feed: _Track() for feed in Feed}
        self._last.clear()
        self._last_trade_id = self._last_update_id = None
        self.now_ms = None

    # -- status --------------------------------------------------------------------------

    @property
    def strategy_ids(self) -> list[str]:
        return list(self._slots)

    def status(self) -> EngineStatus:
        states: dict[str, StrategyState] = {}
        ready_at: dict[str, int | None] = {}
        for strategy_id, slot in self._slots.items():
            problem = any(self._tracks[f].problem is not None for f in slot.strategy.feeds)
            ready_at[strategy_id] = (
                None if slot.started_ms is None else slot.started_ms + slot.strategy.gate_ms
            )
            if problem:
                states[strategy_id] = StrategyState.STALE
            elif slot.started_ms is None:
                states[strategy_id] = StrategyState.WAITING
            elif self._publishing(slot, self.now_ms):
                states[strategy_id] = StrategyState.READY
            else:
                states[strategy_id] = StrategyState.WARMING
        feeds = {
            feed: FeedStatus(track.last_ms, track.problem)
            for feed, track in self._tracks.items()
            if track.last_ms is not None
        }
        return EngineStatus(self.now_ms, feeds, states, ready_at)

    def market_state(self) -> dict[str, Any]:
        """What the engine last saw of the market, as JSON-ready values."""
        state: dict[str, Any] = {"time_ms": self.now_ms, "atr14": self.risk.atr}
        book = self._last.get(Feed.DEPTH)
        if isinstance(book, BookSnapshot):
            state["book"] = {
                "time_ms": book.time_ms,
                "source": book.source.value,
                "update_id": book.update_id,
                "mid": book.mid,
                "spread_bps": book.spread_bps,
                "bids": [list(level) for level in zip(book.bid_prices, book.bid_qtys, strict=True)][
                    :STATE_LEVELS
                ],
                "asks": [list(level) for level in zip(book.ask_prices, book.ask_qtys, strict=True)][
                    :STATE_LEVELS
                ],
            }
        trade = self._last.get(Feed.TRADES)
        if isinstance(trade, AggTrade):
            state["last_trade"] = {
                "time_ms": trade.time_ms,
                "trade_id": trade.trade_id,
                "price": trade.price,
                "qty": trade.qty,
                "buyer_maker": trade.buyer_maker,
            }
        mark = self._last.get(Feed.MARK)
        if isinstance(mark, MarkPrice):
            state["mark"] = {
                "time_ms": mark.time_ms,
                "mark_price": mark.mark_price,
                "index_price": mark.index_price,
                "funding_rate": mark.funding_rate,
                "next_funding_ms": mark.next_funding_ms,
            }
        ticker = self._last.get(Feed.TICKER)
        if isinstance(ticker, TickerPrice):
            state["ticker"] = {"time_ms": ticker.time_ms, "price": ticker.price}
        return state

    # -- internals -----------------------------------------------------------------------

    def _is_repeat(self, event: MarketEvent, track: _Track) -> bool:
        """A message already seen (its id is not past the last one: a rotation's overlap,
        a redelivery) or older than its feed's last one."""
        last_id: int | None = None
        event_id: int | None = None
        if isinstance(event, AggTrade):
            last_id, event_id = self._last_trade_id, event.trade_id
        elif isinstance(event, BookSnapshot):
            last_id, event_id = self._last_update_id, event.update_id
        if last_id is not None and event_id is not None and event_id <= last_id:
            self.stats.dropped["duplicate"] += 1
            return True
        if track.last_ms is not None and event.time_ms < track.last_ms:
            self.stats.dropped["out_of_order"] += 1
            return True
        if isinstance(event, AggTrade):
            self._last_trade_id = event.trade_id
        elif isinstance(event, BookSnapshot) and event.update_id is not None:
            self._last_update_id = event.update_id
        return False

    def _reset_feed(self, feed: Feed, reason: str) -> None:
        self.stats.resets[reason] += 1
        for slot in self._readers[feed]:
            self._restart(slot)
        self._last.pop(feed, None)

    def _restart(self, slot: _Slot) -> None:
        slot.strategy = type(slot.strategy)(slot.strategy.params, self.risk)
        slot.started_ms = None

    def _publishing(self, slot: _Slot, now_ms: int | None) -> bool:
        if slot.started_ms is None or now_ms is None or not slot.strategy.evaluable:
            return False
        return now_ms - slot.started_ms >= slot.strategy.gate_ms

    def _publish(self, slot: _Slot, decision: Decision, time_ms: int) -> Emission | None:
        strategy, params, stats = slot.strategy, slot.params, slot.stats
        rejection = check_decision(
            strategy.id,
            int(decision.side),
            decision.price,
            decision.stop_loss,
            decision.take_profit,
            decision.confidence,
            params.bounds,
        )
        if rejection is not None:
            stats.rejected[rejection.value] += 1
            return None
        if not slot.cooldown.allows(decision.cooldown_key, time_ms):
            stats.cooldown_blocked += 1
            return None
        slot.cooldown.mark(decision.cooldown_key, time_ms)
        if not self._publishing(slot, time_ms):
            stats.warming_suppressed += 1
            return None
        stats.signals += 1
        signal = realtime_signal(
            strategy_id=strategy.id,
            version=slot.version,
            params_hash=slot.params_hash,
            market=self.market,
            symbol=self.symbol,
            action=decision.side.action,
            time_ms=time_ms,
            id_time_ms=signal_time(time_ms, slot.cooldown.length_ms, decision.id_time_ms),
            price=decision.price,
            stop_loss=decision.stop_loss,
            take_profit=decision.take_profit,
            confidence=decision.confidence,
            inputs=dict(decision.inputs),
        )
        state = self.market_state()
        state["strategy"] = strategy.id
        state["inputs"] = dict(decision.inputs)
        return Emission(signal, state)
