"""Packaging: ``petrosa[client]`` is only the client, and each service brings its extra.

The installed venv has every extra (``.[dev]``), so a smaller install is simulated by making
the other packages unimportable in a subprocess (tests/support/missing_modules.py).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

import petrosa
from tests.support.missing_modules import run_without

PYPROJECT = tomllib.loads((Path(petrosa.__file__).parents[2] / "pyproject.toml").read_text())
SERVICE_MODULES = {
    "sqlalchemy", "alembic", "aiosqlite", "aiomysql", "pymysql", "asyncpg", "pymongo",
    "numpy", "uvicorn", "fastapi", "starlette", "prometheus_client", "pydantic_settings",
    "nats", "typer", "rich", "click",
}  # fmt: skip
CLI_MODULES = {"typer", "rich", "click"}
CLIENT_CLOSURE = {
    "pydantic", "pydantic_core", "annotated_types", "typing_extensions", "typing_inspection",
    "httpx", "httpcore", "h11", "anyio", "sniffio", "idna", "certifi", "orjson",
}  # fmt: skip
"""What the base dependencies (pydantic, httpx, orjson, sniffio) install, top-level modules."""

USE_THE_CLIENT = """
import json
import petrosa.client, petrosa.contracts
from petrosa.client import DataManagerClient, SyncDataManagerClient
from petrosa.contracts import Kline
DataManagerClient("http://127.0.0.1:9")
SyncDataManagerClient("http://127.0.0.1:9").close()
Kline.from_binance([0, "1", "2", "0.5", "1.5", "10", 59_999, "15", 3, "5", "7.5", "0"])
third_party = {
    name.partition(".")[0] for name in sys.modules if name.partition(".")[0] not in
    sys.stdlib_module_names
}
print(json.dumps(sorted(n for n in third_party - {"petrosa"} if not n.startswith("_"))))
"""


def test_the_client_and_the_contracts_need_none_of_the_services_packages() -> None:
    result = run_without(SERVICE_MODULES, USE_THE_CLIENT)
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    assert loaded <= CLIENT_CLOSURE, loaded - CLIENT_CLOSURE


def test_the_base_dependencies_are_the_clients_and_every_requirement_is_pinned() -> None:
    project = PYPROJECT["project"]
    assert {_name(req) for req in project["dependencies"]} == {
        "pydantic", "httpx", "orjson", "sniffio",
    }  # fmt: skip
    for extra, requirements in project["optional-dependencies"].items():
        for requirement in requirements:
            assert _name(requirement) == "petrosa" or "==" in requirement, (extra, requirement)


def test_every_service_has_its_extra_and_all_and_dev_bring_every_one() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    services = {"client", "cli", "bus", "coordination", "datamanager", "exchange", "extractor",
                "realtime", "socketclient", "tabot", "tradeengine"}  # fmt: skip
    assert services | {"all", "dev"} <= set(extras)
    assert extras["all"] == [f"petrosa[{','.join(sorted(services))}]"]
    assert "petrosa[all]" in extras["dev"]


@pytest.mark.parametrize(
    ("missing", "command", "extra"),
    [
        ({"sqlalchemy"}, ["data-manager", "migrate"], "datamanager"),
        ({"uvicorn"}, ["data-manager", "serve"], "datamanager"),
        ({"numpy"}, ["exchange-sim", "serve"], "exchange"),
        ({"nats"}, ["extract", "klines", "--interval", "1m", "--symbols", "BTCUSDT"], "extractor"),
        ({"pymongo", "sqlalchemy"}, ["tradeengine", "serve"], "tradeengine"),
        ({"talib"}, ["tabot", "strategies"], "tabot"),
        (CLI_MODULES, ["--help"], "cli"),
        (CLI_MODULES, ["extract", "klines"], "extractor"),
    ],
)
def test_a_command_without_its_extra_fails_with_one_line_naming_the_extra(
    missing: set[str], command: list[str], extra: str
) -> None:
    result = run_without(missing, "from petrosa.cli.entry import main; main()", args=command)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"pip install 'petrosa[{extra}]'" in result.stderr


def test_the_command_line_loads_with_only_the_cli_extra() -> None:
    result = run_without(
        SERVICE_MODULES - CLI_MODULES, "from petrosa.cli.entry import main; main()", args=["--help"]
    )
    assert result.returncode == 0, result.stderr
    assert "data-manager" in result.stdout


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert match is not None
    return match[0].lower()
