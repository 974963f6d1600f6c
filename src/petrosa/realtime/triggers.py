"""Firing rules shared by every realtime strategy: hysteresis and the event-time cooldown.

A trigger starts disarmed and arms only once it has seen its re-arm region: a condition
already true when a replica takes a symbol over (or after a reset) is one its predecessor
already signalled, so it must not fire again until it has been false.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field


@dataclass(slots=True)
class Hysteresis:
    """Fire on entering the trigger region, re-arm on entering the re-arm region."""

    armed: bool = False

    def step(self, *, trigger: bool, rearm: bool) -> bool:
        """Advance by one evaluation; True when this one fires."""
        if self.armed:
            if trigger:
                self.armed = False
                return True
            return False
        if rearm and not trigger:
            self.armed = True
        return False


@dataclass(slots=True)
class Cooldown:
    """No second signal for a key within ``length_ms`` of event time after one."""

    length_ms: int
    last: dict[Hashable, int] = field(default_factory=dict)
    max_keys: int = 256

    def allows(self, key: Hashable, time_ms: int) -> bool:
        last = self.last.get(key)
        return last is None or time_ms - last >= self.length_ms

    def mark(self, key: Hashable, time_ms: int) -> None:
        self.last[key] = time_ms
        if len(self.last) > self.max_keys:
            # Keys past their cooldown carry no information; drop them to stay bounded.
            self.last = {k: t for k, t in self.last.items() if time_ms - t < self.length_ms}

    def clear(self) -> None:
        self.last.clear()
