"""The import rule is enforced mechanically: every package but the Data Manager (and, later,
coordination) is a source of the import-linter contract that forbids database drivers."""

from __future__ import annotations

import tomllib
from pathlib import Path

import petrosa

ALLOWED_DATABASE_USERS = {"datamanager", "coordination"}


def test_every_other_package_is_under_the_no_database_contract() -> None:
    root = Path(petrosa.__file__).parent
    packages = {p.name for p in root.iterdir() if (p / "__init__.py").exists()}
    pyproject = tomllib.loads((root.parents[1] / "pyproject.toml").read_text())
    contract = pyproject["tool"]["importlinter"]["contracts"][0]
    covered = {name.removeprefix("petrosa.") for name in contract["source_modules"]}
    assert packages - ALLOWED_DATABASE_USERS <= covered
    assert {"sqlalchemy", "aiosqlite", "sqlite3", "aiomysql", "asyncpg"} <= set(
        contract["forbidden_modules"]
    )
