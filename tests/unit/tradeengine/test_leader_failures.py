"""Per-symbol failures of the leader's duties: noted once, cleared by success or when the
symbol has nothing left to do."""

from __future__ import annotations

from petrosa.tradeengine.leader import SymbolFailures


def test_a_failure_is_news_once_until_its_error_changes() -> None:
    failures = SymbolFailures(clock=lambda: 1_800_000_000.0)
    assert failures.failed("mark to market", "ADAUSDT", LookupError("delisted"))
    assert not failures.failed("mark to market", "ADAUSDT", LookupError("delisted"))
    assert failures.failed("mark to market", "ADAUSDT", LookupError("other"))
    assert failures.problems() == [
        "ADAUSDT: mark to market failing since 2027-01-15T08:00:00+00:00: LookupError: other"
    ]


def test_success_or_a_closed_position_clears_it() -> None:
    failures = SymbolFailures()
    failures.failed("mark to market", "ADAUSDT", LookupError("x"))
    failures.failed("protective orders", "ADAUSDT", LookupError("x"))
    failures.failed("protective orders", "BTCUSDT", LookupError("x"))
    assert failures.succeeded("mark to market", "ADAUSDT")
    assert not failures.succeeded("mark to market", "ADAUSDT")
    failures.keep_only({"BTCUSDT"})
    assert [p.split(":")[0] for p in failures.problems()] == ["BTCUSDT"]
