"""What ``health()`` reports: is the Data Manager ready to serve, and if not, why."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

READINESS_PATH = "/health/readiness"
READY_STATUS = "ready"
UNREACHABLE_STATUS = "unreachable"
"""``status`` when no HTTP answer came back at all."""
ERROR_STATUS = "error"
"""``status`` when the answer could not be understood."""


class Readiness(BaseModel):
    """The Data Manager's readiness as seen from this client, right now."""

    model_config = ConfigDict(frozen=True)

    ready: bool
    status: str
    """``ready`` or ``unavailable`` as the server says, ``unreachable``, or ``error``."""
    status_code: int | None = None
    """The HTTP status, or None when the server could not be reached."""
    stores: dict[str, Any] = Field(default_factory=dict)
    """Per store: ``ready``, ``ping_ms`` or the ``reason`` it is not ready."""
    error: str | None = None
    """Why the server could not be reached or its answer not understood."""


def readiness_from_answer(status_code: int, body: Any) -> Readiness:
    """Interpret a readiness answer; only a 200 whose body says ``ready`` is ready."""
    if not isinstance(body, dict):
        return Readiness(
            ready=False,
            status=ERROR_STATUS,
            status_code=status_code,
            error="readiness answer is not a JSON object",
        )
    status = str(body.get("status", ERROR_STATUS))
    stores = body.get("stores")
    return Readiness(
        ready=status_code == 200 and status == READY_STATUS,
        status=status,
        status_code=status_code,
        stores=stores if isinstance(stores, dict) else {},
    )
