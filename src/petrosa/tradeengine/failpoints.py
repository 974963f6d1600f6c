"""Failpoints: named places where a test can make the process die, to prove recovery.

``PETROSA_FAILPOINTS=after_order`` makes the process exit abruptly (as a killed pod would)
whenever it passes ``failpoint("after_order")``. Unset (always, in production) they
do nothing.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)
KILLED_EXIT_CODE = 137
"""What a SIGKILLed process reports: no cleanup, no flush, no goodbye."""


def failpoint(name: str) -> None:
    armed = os.environ.get("PETROSA_FAILPOINTS", "")
    if name in {part.strip() for part in armed.split(",")}:
        log.critical("failpoint %s: exiting abruptly", name)
        os._exit(KILLED_EXIT_CODE)
