"""Expiry arithmetic on the holder's side, and argument checks made before any I/O."""

from __future__ import annotations

import datetime as dt

import pytest

from petrosa.coordination import CLOCK_DRIFT_FACTOR, MAX_NAME_LENGTH, Lease, local_deadline
from petrosa.coordination._lease import check_lease_args, default_renew_interval, from_epoch


def test_the_local_deadline_counts_from_the_send_time_and_gives_up_the_drift_margin() -> None:
    assert local_deadline(100.0, 10.0) == pytest.approx(100.0 + 10.0 * (1 - CLOCK_DRIFT_FACTOR))
    assert local_deadline(100.0, 10.0) < 110.0


def lease(valid_until: float) -> Lease:
    return Lease("n", "o", 1, 10.0, from_epoch(0), valid_until)


def test_validity_and_remaining_time_by_the_local_clock() -> None:
    held = lease(valid_until=50.0)
    assert held.is_valid(49.999)
    assert not held.is_valid(50.0)
    assert held.remaining(45.0) == pytest.approx(5.0)
    assert held.remaining(60.0) == 0.0


def test_default_renewal_leaves_room_for_two_failed_renewals() -> None:
    assert default_renew_interval(9.0) == pytest.approx(3.0)


def test_store_epoch_seconds_become_aware_utc() -> None:
    assert from_epoch(1.5) == dt.datetime(1970, 1, 1, 0, 0, 1, 500_000, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("name", "owner", "ttl"),
    [
        ("", "o", 1.0),
        ("n", "", 1.0),
        ("x" * (MAX_NAME_LENGTH + 1), "o", 1.0),
        ("n", "o" * (MAX_NAME_LENGTH + 1), 1.0),
        ("n", "o", 0.0),
        ("n", "o", -1.0),
        ("n", "o", float("nan")),
    ],
)
def test_bad_arguments_are_refused(name: str, owner: str, ttl: float) -> None:
    with pytest.raises(ValueError, match=r"must|longer"):
        check_lease_args(name, owner, ttl)


def test_longest_names_are_accepted() -> None:
    check_lease_args("x" * MAX_NAME_LENGTH, "o" * MAX_NAME_LENGTH, 0.001)
