"""The request budget on an injected clock: 429 with Retry-After, 418 when ignored, resets."""

from __future__ import annotations

import pytest

from petrosa.exchange.simulator.clock import ManualClock
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.weights import (
    FUNDING_LIMITER,
    FUNDING_WINDOW_MS,
    BanPolicy,
    Cost,
    MarketBudget,
    Verdict,
    request_cost,
)

WINDOW_START = 1_749_999_980_000
"""20 s into a minute window."""
POLICY = BanPolicy(tolerance=2, first_ban_ms=120_000, max_ban_ms=300_000)


def _budget(clock: ManualClock, limit: int = 10) -> MarketBudget:
    return MarketBudget(
        MarketKind.FUTURES,
        limit,
        clock=clock,
        policy=POLICY,
        extra_limits={FUNDING_LIMITER: (3, FUNDING_WINDOW_MS)},
    )


@pytest.mark.parametrize(
    ("market", "endpoint", "query", "weight"),
    [
        (MarketKind.SPOT, "klines", {"limit": "1000"}, 2),
        (MarketKind.SPOT, "aggTrades", {}, 4),
        (MarketKind.SPOT, "exchangeInfo", {}, 20),
        (MarketKind.SPOT, "time", {}, 1),
        (MarketKind.FUTURES, "klines", {"limit": "99"}, 1),
        (MarketKind.FUTURES, "klines", {"limit": "100"}, 2),
        (MarketKind.FUTURES, "klines", {}, 5),
        (MarketKind.FUTURES, "klines", {"limit": "1000"}, 5),
        (MarketKind.FUTURES, "klines", {"limit": "1001"}, 10),
        (MarketKind.FUTURES, "klines", {"limit": "junk"}, 5),
        (MarketKind.FUTURES, "aggTrades", {}, 20),
        (MarketKind.FUTURES, "exchangeInfo", {}, 1),
        (MarketKind.FUTURES, "fundingRate", {}, 0),
        (MarketKind.FUTURES, "nowhere", {}, 1),
    ],
)
def test_weights_as_binance_documents_them(
    market: MarketKind, endpoint: str, query: dict[str, str], weight: int
) -> None:
    assert request_cost(market, endpoint, query).weight == weight


def test_funding_rate_counts_against_its_own_limit() -> None:
    assert request_cost(MarketKind.FUTURES, "fundingRate", {}).extra == {FUNDING_LIMITER: 1}


def test_over_budget_is_429_until_the_window_resets() -> None:
    clock = ManualClock(WINDOW_START)
    budget = _budget(clock)
    assert budget.admit(Cost(6)).verdict is Verdict.ALLOWED
    assert budget.admit(Cost(4)).used_weight == 10
    refused = budget.admit(Cost(1))
    assert refused.verdict is Verdict.RATE_LIMITED
    assert refused.retry_after_s == 40
    assert refused.used_weight == 10
    clock.advance(40_000)  # the next minute: a fresh window
    again = budget.admit(Cost(5))
    assert again.verdict is Verdict.ALLOWED
    assert again.used_weight == 5
    assert budget.stats.rate_limited == 1


def test_retry_after_rounds_up_to_whole_seconds() -> None:
    clock = ManualClock(WINDOW_START + 39_500)  # half a second before the window ends
    budget = _budget(clock, limit=1)
    budget.admit(Cost(1))
    assert budget.admit(Cost(1)).retry_after_s == 1


def test_requests_that_still_fit_are_served_after_a_429() -> None:
    clock = ManualClock(WINDOW_START)
    budget = _budget(clock)
    budget.admit(Cost(8))
    assert budget.admit(Cost(5)).verdict is Verdict.RATE_LIMITED
    assert budget.admit(Cost(2)).verdict is Verdict.ALLOWED


def test_ignoring_429s_gets_banned_with_418() -> None:
    clock = ManualClock(WINDOW_START)
    budget = _budget(clock)
    budget.admit(Cost(10))
    assert budget.admit(Cost(1)).verdict is Verdict.RATE_LIMITED
    for _ in range(POLICY.tolerance):  # tolerated, still 429
        assert budget.admit(Cost(1)).verdict is Verdict.RATE_LIMITED
    banned = budget.admit(Cost(1))
    assert banned.verdict is Verdict.BANNED
    assert banned.retry_after_s == 120
    assert banned.banned_until_ms == WINDOW_START + 120_000
    clock.advance(60_000)  # a new weight window does not lift a ban
    still = budget.admit(Cost(1))
    assert still.verdict is Verdict.BANNED
    assert still.retry_after_s == 60
    clock.advance(60_000)
    assert budget.admit(Cost(1)).verdict is Verdict.ALLOWED
    assert (budget.stats.bans, budget.stats.banned) == (1, 2)


def test_backing_off_after_a_429_is_never_banned() -> None:
    clock = ManualClock(WINDOW_START)
    budget = _budget(clock)
    budget.admit(Cost(10))
    for _ in range(POLICY.tolerance + 1):
        assert budget.admit(Cost(1)).verdict is Verdict.RATE_LIMITED
    clock.advance(40_000)
    for _ in range(5):
        assert budget.admit(Cost(1)).verdict is Verdict.ALLOWED


def test_repeat_offenders_are_banned_longer_up_to_the_maximum() -> None:
    clock = ManualClock(WINDOW_START)
    budget = _budget(clock, limit=1)
    lengths = []
    for _ in range(3):
        decision = budget.admit(Cost(2))
        while decision.verdict is not Verdict.BANNED:
            decision = budget.admit(Cost(2))
        lengths.append(decision.retry_after_s)
        clock.advance((decision.retry_after_s or 0) * 1_000)
    assert lengths == [120, 240, 300]


def test_extra_limiter_refuses_on_its_own_window() -> None:
    clock = ManualClock(WINDOW_START)
    budget = _budget(clock)
    funding = Cost(0, {FUNDING_LIMITER: 1})
    for _ in range(3):
        assert budget.admit(funding).verdict is Verdict.ALLOWED
    refused = budget.admit(funding)
    assert refused.verdict is Verdict.RATE_LIMITED
    assert refused.limiter == FUNDING_LIMITER
    window_end = (WINDOW_START // FUNDING_WINDOW_MS + 1) * FUNDING_WINDOW_MS
    assert refused.retry_after_s == (window_end - WINDOW_START) // 1_000
    assert budget.admit(Cost(1)).verdict is Verdict.ALLOWED  # weight is a separate budget


def test_reset_forgets_everything() -> None:
    clock = ManualClock(WINDOW_START)
    budget = _budget(clock, limit=1)
    while budget.admit(Cost(1)).verdict is not Verdict.BANNED:
        pass
    budget.reset()
    assert budget.admit(Cost(1)).verdict is Verdict.ALLOWED
    assert budget.snapshot()["requests"] == 1
