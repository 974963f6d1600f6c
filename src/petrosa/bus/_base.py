"""The bus protocol every service publishes through, and NATS subject matching."""

from __future__ import annotations

from typing import Protocol


class BusUnavailable(Exception):
    """The bus did not take a message (or cannot be reached); one line, safe to retry."""


class MessageBus(Protocol):
    async def publish(self, subject: str, payload: bytes) -> None:
        """Send one message; returns once the bus has taken it (never fire-and-forget).

        Raises :class:`BusUnavailable` when it was not taken.
        """
        ...

    async def close(self) -> None:
        """Flush what is pending and release connections."""
        ...


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS semantics: ``*`` matches one token, a trailing ``>`` one or more."""
    wanted = pattern.split(".")
    tokens = subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return index == len(wanted) - 1 and len(tokens) > index
        if index >= len(tokens) or (token != "*" and token != tokens[index]):
            return False
    return len(tokens) == len(wanted)
