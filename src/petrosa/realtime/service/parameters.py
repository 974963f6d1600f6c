"""The strategies' parameters: the Data Manager's document, validated before it is used.

The document (app config ``realtime.strategies``, shape in ``petrosa.realtime.config``) is
read every ``config_poll_s``. A new version is validated whole; a bad one is refused with
the field named (``rejected``) and the document in force stays; a good one replaces it and
the service reconfigures every engine without a restart. No document: the defaults.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError

from petrosa.contracts.trading import ConfigValue
from petrosa.realtime import RealtimeConfig

log = logging.getLogger(__name__)

ReadConfig = Callable[[str], Awaitable[ConfigValue | None]]


def describe(error: ValidationError) -> str:
    """Each problem as ``field.path: message``."""
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


class Parameters:
    def __init__(self, read: ReadConfig | None, key: str) -> None:
        self.config = RealtimeConfig()
        self.version = 0
        """The applied document's version (0: defaults, no document)."""
        self.rejected: dict[str, Any] | None = None
        """The last refused version and why, until a good one is applied."""
        self._read = read
        self._key = key

    async def refresh(self) -> bool:
        """Read the document; True when a new valid version is now in force."""
        if self._read is None:
            return False
        value = await self._read(self._key)
        if value is None or value.version == self.version:
            return False
        if self.rejected is not None and self.rejected["version"] == value.version:
            return False
        try:
            config = RealtimeConfig.model_validate(value.value)
        except ValidationError as error:
            reason = describe(error)
            self.rejected = {"version": value.version, "error": reason}
            log.error(
                "%s version %d refused, version %d stays in force: %s",
                self._key,
                value.version,
                self.version,
                reason,
            )
            return False
        self.config, self.version, self.rejected = config, value.version, None
        log.info("%s version %d applied", self._key, value.version)
        return True
