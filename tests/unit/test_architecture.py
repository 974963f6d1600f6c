"""The architecture is enforced mechanically by import-linter (pyproject.toml, ``make lint``):
no database driver outside the Data Manager, coordination and their shared SQL plumbing;
layers (the command, the services, their parts, the contracts); services independent of
each other; the client free of every service's dependencies. These tests check that the
contracts cover every package, and that they fail on a violation."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import petrosa

ROOT = Path(petrosa.__file__).parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CONTRACTS: list[dict[str, Any]] = PYPROJECT["tool"]["importlinter"]["contracts"]
ALLOWED_DATABASE_USERS = {"datamanager", "coordination", "sqlsupport"}
LINT_TIMEOUT_S = 300
RUN_IMPORT_LINTER = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def contract(kind: str, name_part: str = "") -> dict[str, Any]:
    [found] = [c for c in CONTRACTS if c["type"] == kind and name_part in c["name"]]
    return found


def test_every_other_package_is_under_the_no_database_contract() -> None:
    root = Path(petrosa.__file__).parent
    packages = {p.name for p in root.iterdir() if (p / "__init__.py").exists()}
    rule = contract("forbidden", "databases")
    covered = {name.removeprefix("petrosa.") for name in rule["source_modules"]}
    assert packages - ALLOWED_DATABASE_USERS <= covered
    assert not covered & ALLOWED_DATABASE_USERS
    assert {
        "sqlalchemy",
        "aiosqlite",
        "sqlite3",
        "aiomysql",
        "asyncpg",
        "petrosa.sqlsupport",
    } <= set(rule["forbidden_modules"])


def test_the_services_layer_and_the_independence_contract_name_the_same_services() -> None:
    layers = contract("layers")["layers"]
    services = {name.strip() for name in layers[1].split("|")}
    independent = {m.removeprefix("petrosa.") for m in contract("independence")["modules"]}
    assert services == independent == {"tradeengine", "extractor", "datamanager",
                                       "socketclient", "realtime", "tabot",
                                       "exchange.simulator"}  # fmt: skip
    assert contract("layers")["exhaustive"] is True  # a new package must be placed


@pytest.mark.parametrize(
    ("module", "violation", "broken"),
    [
        ("extractor/jobs.py", "import petrosa.datamanager.app", "Services do not import"),
        ("client/_core.py", "import petrosa.tradeengine.risk", "Architecture"),
        ("contracts/market.py", "import fastapi", "The client (the base install)"),
        ("extractor/klines.py", "import sqlalchemy", "Only the Data Manager"),
        ("tradeengine/risk.py", "import petrosa.sqlsupport", "Only the Data Manager"),
    ],
)
def test_a_violation_breaks_its_contract(
    tmp_path: Path, module: str, violation: str, broken: str
) -> None:
    shutil.copytree(ROOT / "src", tmp_path / "src")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "src" / "petrosa" / module
    target.write_text(target.read_text() + f"\n{violation}\n")
    result = subprocess.run(
        [sys.executable, "-c", RUN_IMPORT_LINTER, "--no-cache"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "src"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=LINT_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    broken_lines = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(line.startswith(broken) for line in broken_lines), result.stdout
