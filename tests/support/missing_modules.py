"""Run Python code in a subprocess as if some packages were not installed.

A meta-path finder placed first raises ``ModuleNotFoundError`` for the named top-level
packages (and their submodules), exactly what an import of an uninstalled package raises,
so optional imports (``try: import rich``) behave as they would in a smaller install.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable

_PRELUDE = """
import sys

class _Missing:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, _Missing())
"""
TIMEOUT_S = 120


def run_without(
    modules: Iterable[str], code: str, *, args: Iterable[str] = ()
) -> subprocess.CompletedProcess[str]:
    """``python -c <code> <args>`` with ``modules`` unimportable."""
    program = _PRELUDE.format(blocked=sorted(set(modules))) + code
    return subprocess.run(
        [sys.executable, "-c", program, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
