"""The lease rules every backend encodes: who may take a lock, and which token they get."""

from __future__ import annotations

import pytest

from petrosa.coordination._rules import (
    LeaseRow,
    after_acquire,
    after_release,
    after_renew,
    first_token,
    is_held,
)

TTL = 10.0
NOW = 1_000.0


def held_by(owner: str, token: int = 5, expires_at: float = NOW + 3) -> LeaseRow:
    return LeaseRow(owner=owner, token=token, expires_at=expires_at)


def test_a_lock_never_seen_starts_at_the_store_time_in_microseconds() -> None:
    assert after_acquire(None, "a", NOW, TTL) == LeaseRow("a", 1_000_000_000, NOW + TTL)


def test_a_wiped_store_hands_out_tokens_above_every_earlier_one() -> None:
    row: LeaseRow | None = None
    for turn in range(1_000):  # a new holder every millisecond, each releasing at once
        owner, now = f"owner-{turn % 2}", NOW + turn / 1_000
        taken = after_acquire(row, owner, now, TTL)
        assert taken is not None
        row = after_release(taken, owner, taken.token, now)
    assert row is not None
    assert row.token == first_token(NOW) + 999
    wiped_later = after_acquire(None, "owner-0", NOW + 1.0, TTL)  # the row is gone
    assert wiped_later is not None
    assert wiped_later.token > row.token


def test_another_owner_cannot_take_an_unexpired_lease() -> None:
    assert after_acquire(held_by("a"), "b", NOW, TTL) is None


def test_the_holder_reacquiring_extends_and_keeps_its_token() -> None:
    assert after_acquire(held_by("a", token=5), "a", NOW, TTL) == LeaseRow("a", 5, NOW + TTL)


@pytest.mark.parametrize("newcomer", ["a", "b"], ids=["same-owner", "other-owner"])
@pytest.mark.parametrize("expired_by", [0.0, 0.001, 60.0])
def test_an_expired_lease_goes_to_anyone_with_the_next_token(
    newcomer: str, expired_by: float
) -> None:
    row = held_by("a", token=5, expires_at=NOW - expired_by)
    assert after_acquire(row, newcomer, NOW, TTL) == LeaseRow(newcomer, 6, NOW + TTL)


def test_a_released_lock_keeps_counting_tokens() -> None:
    row = after_release(held_by("a", token=5), "a", 5, NOW)
    assert row == LeaseRow(None, 5, NOW)
    assert after_acquire(row, "a", NOW, TTL) == LeaseRow("a", 6, NOW + TTL)


def test_tokens_strictly_increase_across_holders_and_never_repeat() -> None:
    row: LeaseRow | None = None
    seen: list[int] = []
    now = NOW
    for turn in range(50):
        owner = f"owner-{turn % 3}"
        row = after_acquire(row, owner, now, TTL)
        assert row is not None
        seen.append(row.token)
        row = after_acquire(row, owner, now + 1, TTL)  # re-acquire: same holder, same token
        assert row is not None
        assert row.token == seen[-1]
        if turn % 2:
            row = after_release(row, owner, row.token, now + 2)
            now += 3
        else:
            now += TTL + 5  # simply expires
    assert seen == sorted(set(seen))
    assert seen == list(range(first_token(NOW), first_token(NOW) + 50))


def test_renewal_needs_the_same_owner_and_token() -> None:
    row = held_by("a", token=5)
    assert after_renew(row, "a", 5, NOW, TTL) == LeaseRow("a", 5, NOW + TTL)
    assert after_renew(row, "a", 4, NOW, TTL) is None
    assert after_renew(row, "b", 5, NOW, TTL) is None
    assert after_renew(None, "a", 5, NOW, TTL) is None


def test_renewal_fails_once_the_lease_was_taken_after_expiry() -> None:
    row = held_by("a", token=5, expires_at=NOW - 1)
    taken = after_acquire(row, "b", NOW, TTL)
    assert after_renew(taken, "a", 5, NOW, TTL) is None


def test_an_expired_lease_nobody_took_can_still_be_renewed_with_its_token() -> None:
    row = held_by("a", token=5, expires_at=NOW - 1)
    assert after_renew(row, "a", 5, NOW, TTL) == LeaseRow("a", 5, NOW + TTL)


def test_release_only_by_the_holder_and_idempotent() -> None:
    row = held_by("a", token=5)
    assert after_release(row, "b", 5, NOW) is None
    assert after_release(row, "a", 4, NOW) is None
    released = after_release(row, "a", 5, NOW)
    assert released is not None
    assert not is_held(released, NOW)
    assert after_release(released, "a", 5, NOW) is None


def test_held_means_an_owner_and_an_expiry_still_ahead() -> None:
    assert is_held(held_by("a", expires_at=NOW + 0.001), NOW)
    assert not is_held(held_by("a", expires_at=NOW), NOW)
    assert not is_held(LeaseRow(None, 3, NOW + 100), NOW)
    assert not is_held(None, NOW)
