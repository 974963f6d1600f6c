"""Virtual time for the coordination unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.unit.coordination.fakes import VirtualTime


@pytest.fixture
async def vt() -> AsyncIterator[VirtualTime]:
    """A virtual monotonic clock that jumps to the next sleeper while the test runs."""
    async with VirtualTime().running() as time:
        yield time
