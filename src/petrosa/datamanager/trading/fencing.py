"""Fencing tokens on position writes: a writer whose lease lock was taken over is refused.

The trade engine writes a position while holding the symbol's lease lock, whose fencing token
grows with every new holder. The position keeps the highest token it was written with; a
write carrying a lower one comes from a replica that lost the lock (paused, partitioned) and
would overwrite its successor's state, so it is refused. An equal token is the same holder
writing again. A write without a token (an operator's manual close) is let through and leaves
the stored token as it is.

Every accepted fenced write stores its token, even one that changes nothing else: otherwise
a successor's no-op write would leave the door open to its predecessor.
"""

from __future__ import annotations

from petrosa.datamanager.errors import StaleFence


def fence_after_write(position_id: str, *, stored: int | None, offered: int | None) -> int | None:
    """The token the position holds once this write applies; older than stored → StaleFence."""
    if offered is None:
        return stored
    if stored is not None and offered < stored:
        raise StaleFence(position_id, offered, stored)
    return offered
