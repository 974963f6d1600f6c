"""Schemathesis against both HTTP services' OpenAPI documents: every operation, valid and
invalid inputs, with a write token so nothing stops at auth. No input may be answered
with a 5xx, and answers must match the document.

A bounded number of examples per operation keeps this to minutes in CI; ``python -m
bench.fuzz`` runs a long campaign of the same kind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fuzzing import (
    DATA_MANAGER_TOKEN,
    ENGINE_TOKEN,
    fuzz,
    fuzz_config,
    start_fuzzed_data_manager,
    trade_engine_stack,
)
from tests.support.services import ThrowawayDatabase

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1_800)]

MAX_EXAMPLES = 25
"""Per operation and phase: about 1,000-2,000 cases per service, a minute or two each."""
SEED = 8
"""Fixed, so a run that fails can be repeated; ``python -m bench.fuzz`` varies it."""


def test_data_manager_answers_every_input_without_a_server_error(
    fresh_database: ThrowawayDatabase, tmp_path: Path
) -> None:
    server = start_fuzzed_data_manager(fresh_database.url, tmp_path)
    try:
        run = fuzz(
            f"{server.base_url}/openapi.json",
            fuzz_config(DATA_MANAGER_TOKEN, MAX_EXAMPLES, seed=SEED),
        )
    finally:
        server.stop()
    assert run.operations, run.report()
    assert run.tested == run.operations, run.report()
    assert not run.failures, run.report()
    assert not run.errors, run.report()


def test_trade_engine_answers_every_input_without_a_server_error(tmp_path: Path) -> None:
    with trade_engine_stack(tmp_path) as stack:
        run = fuzz(
            f"{stack.engine.base_url}/openapi.json",
            fuzz_config(ENGINE_TOKEN, MAX_EXAMPLES, seed=SEED),
        )
    assert run.operations, run.report()
    assert run.tested == run.operations, run.report()
    assert not run.failures, run.report()
    assert not run.errors, run.report()
