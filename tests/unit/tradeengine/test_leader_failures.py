"""Per-symbol failures of the leader's duties: noted once, cleared by success or when the
symbol has nothing left to do."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from petrosa.client import ConnectError
from petrosa.tradeengine.leader import LeaderDuties, SymbolFailures


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


def duties() -> LeaderDuties:
    """Leader duties whose collaborators the tested paths never touch."""
    unused: Any = None
    return LeaderDuties(
        store=unused, exchange=unused, executor=unused, rollover=unused, reconcile_every_s=60
    )


async def test_an_outage_is_one_line_and_a_bug_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def outage() -> None:
        raise ConnectError("connection refused")

    async def bug() -> None:
        raise KeyError("boom")

    leader = duties()
    with caplog.at_level(logging.WARNING, logger="petrosa.tradeengine.leader"):
        assert isinstance(await leader.round_of("reconciliation", outage), ConnectError)
        assert isinstance(await leader.round_of("reconciliation", bug), KeyError)
    one_line, traceback = caplog.records
    assert one_line.exc_info is None
    assert one_line.getMessage() == (
        "leader: reconciliation skipped this round: data manager unreachable"
    )
    assert traceback.exc_info is not None


async def test_a_symbols_failure_stays_with_it_but_an_outage_ends_the_duty() -> None:
    leader = duties()

    async def delisted() -> int:
        raise LookupError("Invalid symbol")

    async def down() -> int:
        raise ConnectError("connection refused")

    assert await leader.for_symbol("mark to market", "ADAUSDT", delisted) == 0
    assert [p.split(" failing")[0] for p in leader.failures.problems()] == [
        "ADAUSDT: mark to market"
    ]
    with pytest.raises(ConnectError):
        await leader.for_symbol("mark to market", "BTCUSDT", down)
