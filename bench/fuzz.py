"""OpenAPI fuzz campaign: schemathesis against the HTTP services, far more cases than the
bounded run in tests/integration/test_openapi_fuzz.py, for a human to read.

Every phase (examples, coverage, fuzzing, stateful) on every operation, valid and invalid
inputs, with write tokens: a Data Manager per backend on a throw-away database, a trade
engine on the exchange simulator's paper account (its own SQLite Data Manager, PostgreSQL
coordination, a NATS stream of its own), and the exchange simulator itself. Prints each
distinct failure (server errors first) with a curl command that reproduces it; the
services' logs (with the tracebacks of any 5xx) stay in the printed directory. Exit status
1 when anything failed.

    python -m bench.fuzz                                   # ~thousands of cases per target
    python -m bench.fuzz --targets data-manager --backends sqlite --max-examples 100
    python -m bench.fuzz --every-check                     # also undocumented status codes etc.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import schemathesis
from tests.support.fuzzing import (
    DATA_MANAGER_TOKEN,
    ENGINE_TOKEN,
    FuzzRun,
    fuzz,
    fuzz_config,
    start_fuzzed_data_manager,
    trade_engine_stack,
)
from tests.support.server import start_exchange_simulator
from tests.support.services import create_database, drop_database

from bench._common import console, parse_backends

TARGETS = ("data-manager", "trade-engine", "exchange-simulator")
ConfigFor = Callable[[str | None], schemathesis.Config]
"""The campaign's settings for a service's write token."""


def fuzz_data_manager(backend: str, log_dir: Path, config_for: ConfigFor) -> FuzzRun:
    database = create_database(backend, log_dir)
    try:
        server = start_fuzzed_data_manager(database.url, log_dir)
        try:
            return fuzz(f"{server.base_url}/openapi.json", config_for(DATA_MANAGER_TOKEN))
        finally:
            server.stop()
    finally:
        drop_database(database)


def fuzz_trade_engine(log_dir: Path, config_for: ConfigFor) -> FuzzRun:
    with trade_engine_stack(log_dir) as stack:
        return fuzz(f"{stack.engine.base_url}/openapi.json", config_for(ENGINE_TOKEN))


def fuzz_exchange_simulator(log_dir: Path, config_for: ConfigFor) -> FuzzRun:
    """The simulator with weight limits no fuzzer reaches (its own bans are not failures)."""
    unlimited = ("--spot-weight-limit", "1000000000", "--futures-weight-limit", "1000000000")
    simulator = start_exchange_simulator(log_dir, *unlimited)
    try:
        return fuzz(f"{simulator.base_url}/openapi.json", config_for(None))
    finally:
        simulator.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="OpenAPI fuzz campaign (schemathesis).")
    parser.add_argument("--targets", default=",".join(TARGETS), help=",".join(TARGETS))
    parser.add_argument("--backends", default="sqlite,mariadb,postgresql")
    parser.add_argument("--max-examples", type=int, default=500, help="per operation and phase")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--every-check", action="store_true", help="all schemathesis checks")
    args = parser.parse_args(argv)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    for target in targets:
        if target not in TARGETS:
            raise SystemExit(f"unknown target {target!r}; choose from {', '.join(TARGETS)}")

    def config_for(token: str | None) -> schemathesis.Config:
        return fuzz_config(token, args.max_examples, seed=args.seed, every_check=args.every_check)

    log_dir = Path(tempfile.mkdtemp(prefix="petrosa-fuzz-"))
    console.print(f"service logs: {log_dir}")
    runs: list[tuple[str, Callable[[], FuzzRun]]] = []
    if "data-manager" in targets:
        runs += [
            (f"data manager ({backend})", partial(fuzz_data_manager, backend, log_dir, config_for))
            for backend in parse_backends(args.backends)
        ]
    if "trade-engine" in targets:
        runs.append(("trade engine", partial(fuzz_trade_engine, log_dir, config_for)))
    if "exchange-simulator" in targets:
        runs.append(("exchange simulator", partial(fuzz_exchange_simulator, log_dir, config_for)))

    failed = False
    for name, execute in runs:
        started = time.monotonic()
        run = execute()
        elapsed = time.monotonic() - started
        console.rule(f"{name}: {elapsed:.0f} s")
        console.print(run.report(), markup=False)
        failed |= bool(run.failures or run.errors)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
