"""One classification of driver errors and one rerun policy for every SQL user."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlalchemy import exc

from petrosa.sqlsupport import MAX_ATTEMPTS, describe, is_statement_timeout, is_transient
from petrosa.sqlsupport.retry import BACKOFF_INITIAL_S, BACKOFF_MAX_S, retry_transient


class _DriverError(Exception):
    def __init__(self, *args: Any, sqlstate: str | None = None) -> None:
        super().__init__(*args)
        self.sqlstate = sqlstate


def _sqlite_error(code: int, message: str) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return error


def _wrapped(original: BaseException) -> exc.DBAPIError:
    return exc.OperationalError("UPDATE t SET v = ?", ("secret",), original)


@pytest.mark.parametrize(
    ("original", "transient"),
    [
        (_DriverError(1213, "Deadlock found when trying to get lock"), True),
        (_DriverError(1205, "Lock wait timeout exceeded"), True),
        (_DriverError("deadlock detected", sqlstate="40P01"), True),
        (_DriverError("could not serialize access", sqlstate="40001"), True),
        (_DriverError("canceling statement due to lock timeout", sqlstate="55P03"), True),
        (_sqlite_error(sqlite3.SQLITE_BUSY, "database is locked"), True),
        (sqlite3.OperationalError("database table is locked"), True),
        (_DriverError("duplicate key", sqlstate="23505"), False),
        (_DriverError(1062, "Duplicate entry"), False),
        (_DriverError("canceling statement due to statement timeout", sqlstate="57014"), False),
        (_sqlite_error(sqlite3.SQLITE_CORRUPT, "database disk image is malformed"), False),
    ],
)
def test_contention_is_transient_on_every_backend_and_nothing_else_is(
    original: Exception, transient: bool
) -> None:
    assert is_transient(_wrapped(original)) is transient


def test_a_mapped_error_is_judged_by_the_driver_error_it_was_raised_from() -> None:
    class Mapped(Exception):
        pass

    with pytest.raises(Mapped) as caught:
        raise Mapped("conflict") from _wrapped(_DriverError(1213, "Deadlock found"))
    assert is_transient(caught.value)
    assert not is_transient(Mapped("no cause"))


@pytest.mark.parametrize(
    ("original", "timeout"),
    [
        (_DriverError("canceling statement due to statement timeout", sqlstate="57014"), True),
        (_DriverError(1969, "Query execution was interrupted (max_statement_time)"), True),
        (_DriverError(1213, "Deadlock found"), False),
    ],
)
def test_server_statement_timeouts_are_recognised(original: Exception, timeout: bool) -> None:
    assert is_statement_timeout(_wrapped(original)) is timeout


def test_describe_names_the_driver_error_without_sql_or_parameters() -> None:
    text = describe(_wrapped(_DriverError(1213, "Deadlock found\nmore detail")))
    assert text.startswith("_DriverError: ")
    assert "Deadlock found" in text
    assert "secret" not in text
    assert "UPDATE" not in text


class _Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


async def test_a_transient_failure_reruns_with_full_jitter_backoff_until_it_succeeds() -> None:
    calls = 0
    sleeps = _Sleeps()

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise _wrapped(_DriverError(1213, "Deadlock found"))
        return "done"

    assert await retry_transient(attempt, sleep=sleeps, random_unit=lambda: 0.5) == "done"
    assert calls == 3
    assert sleeps.delays == [BACKOFF_INITIAL_S * 0.5, BACKOFF_INITIAL_S * 2 * 0.5]
    assert all(delay <= BACKOFF_MAX_S for delay in sleeps.delays)


async def test_reruns_are_bounded_and_the_last_failure_propagates() -> None:
    calls = 0

    async def attempt() -> None:
        nonlocal calls
        calls += 1
        raise _wrapped(_DriverError(1213, f"Deadlock found ({calls})"))

    with pytest.raises(exc.OperationalError, match=f"Deadlock found \\({MAX_ATTEMPTS}\\)"):
        await retry_transient(attempt, sleep=_Sleeps())
    assert calls == MAX_ATTEMPTS


async def test_other_failures_are_not_rerun() -> None:
    calls = 0

    async def attempt() -> None:
        nonlocal calls
        calls += 1
        raise _wrapped(_DriverError(1062, "Duplicate entry"))

    with pytest.raises(exc.OperationalError, match="Duplicate entry"):
        await retry_transient(attempt, sleep=_Sleeps())
    assert calls == 1
