"""Coordination configuration, read once from the environment (``COORDINATION_*``)."""

from __future__ import annotations

import socket

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_COORDINATION_URL = "sqlite:///var/coordination.db"
"""Embedded mode: a SQLite file shared by the processes of one machine."""
DEFAULT_ATTEMPT_TIMEOUT_S = 2.0
DEFAULT_OPERATION_TIMEOUT_S = 5.0
DEFAULT_CONNECT_TIMEOUT_S = 2.0
DEFAULT_BACKOFF_INITIAL_S = 0.05
DEFAULT_BACKOFF_MAX_S = 1.0
DEFAULT_POLL_INITIAL_S = 0.02
DEFAULT_POLL_MAX_S = 0.5


class CoordinationSettings(BaseSettings):
    """``COORDINATION_URL`` picks the backend: sqlite:///file, mysql:// or mariadb://,
    postgresql://, mongodb://, or memory:// (one process only)."""

    model_config = SettingsConfigDict(
        env_prefix="COORDINATION_", extra="ignore", populate_by_name=True
    )

    url: SecretStr = SecretStr(DEFAULT_COORDINATION_URL)
    identity: str = Field(
        default_factory=socket.gethostname,
        validation_alias=AliasChoices("COORDINATION_IDENTITY", "HOSTNAME"),
        min_length=1,
        max_length=255,
    )
    """Who this process is when it competes (the pod name in Kubernetes). Every contender
    needs its own: two processes with one identity count as the same holder."""
    attempt_timeout_s: float = Field(default=DEFAULT_ATTEMPT_TIMEOUT_S, gt=0)
    """Deadline of one round trip to the store."""
    operation_timeout_s: float = Field(default=DEFAULT_OPERATION_TIMEOUT_S, gt=0)
    """Deadline of one operation including its retries."""
    connect_timeout_s: float = Field(default=DEFAULT_CONNECT_TIMEOUT_S, gt=0)
    backoff_initial_s: float = Field(default=DEFAULT_BACKOFF_INITIAL_S, gt=0)
    backoff_max_s: float = Field(default=DEFAULT_BACKOFF_MAX_S, gt=0)
    poll_initial_s: float = Field(default=DEFAULT_POLL_INITIAL_S, gt=0)
    """First pause before asking again for a lock someone else holds (then doubling, with
    jitter, up to ``poll_max_s``)."""
    poll_max_s: float = Field(default=DEFAULT_POLL_MAX_S, gt=0)


def default_identity() -> str:
    """This process's identity from the environment: ``HOSTNAME``, else the host name."""
    return CoordinationSettings().identity
