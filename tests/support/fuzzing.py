"""The services an OpenAPI fuzz run talks to, with write tokens so every operation is
reachable: a Data Manager on a database, and a trade engine on the exchange simulator's
paper account, a Data Manager of its own, PostgreSQL coordination and NATS JetStream.

Used by tests/integration/test_openapi_fuzz.py (a bounded run) and bench/fuzz.py (a long
campaign for a human).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import nats.js.errors
import schemathesis
import schemathesis.engine
from schemathesis.core.result import Ok
from schemathesis.engine import events
from schemathesis.engine.recorder import ScenarioRecorder

from tests.support.server import (
    RunningServer,
    start_data_manager,
    start_exchange_simulator,
    start_service,
)
from tests.support.services import (
    NATS_HOST,
    NATS_PORT,
    create_database,
    drop_database,
    require_port,
)

DATA_MANAGER_TOKEN = "fuzz-data-manager-write"
ENGINE_TOKEN = "fuzz-engine-write"
NATS_URL = f"nats://{NATS_HOST}:{NATS_PORT}"


def start_fuzzed_data_manager(database_url: str, log_dir: Path) -> RunningServer:
    """A Data Manager on ``database_url`` that takes ``DATA_MANAGER_TOKEN`` (write scope)."""
    return start_data_manager(
        database_url, log_dir, extra_env={"DATA_MANAGER_WRITE_TOKENS": DATA_MANAGER_TOKEN}
    )


@dataclass
class EngineStack:
    engine: RunningServer
    data_manager: RunningServer
    simulator: RunningServer
    stream: str


@contextlib.contextmanager
def trade_engine_stack(tmp_dir: Path) -> Iterator[EngineStack]:
    """One trade-engine replica (write token ``ENGINE_TOKEN``) and everything it needs, each
    throw-away: a stream of its own on NATS, a coordination database, a SQLite Data Manager."""
    require_port("NATS", NATS_HOST, NATS_PORT)
    run = uuid.uuid4().hex[:8]
    stream = f"SIGNALS_FUZZ_{run}"
    coordination = create_database("postgresql", tmp_dir)
    servers: list[RunningServer] = []
    try:
        simulator = start_exchange_simulator(tmp_dir)
        servers.append(simulator)
        data_manager = start_fuzzed_data_manager(f"sqlite:///{tmp_dir / 'engine-dm.db'}", tmp_dir)
        servers.append(data_manager)
        environment = {
            "BINANCE_FUTURES_API_URL": simulator.base_url,
            "DATA_MANAGER_URL": data_manager.base_url,
            "DATA_MANAGER_TOKEN": DATA_MANAGER_TOKEN,
            "COORDINATION_URL": coordination.url,
            "NATS_URL": NATS_URL,
            "TRADEENGINE_REPLICA": "fuzz",
            "TRADEENGINE_NATS_SUBJECT": f"signals.trading.fuzz{run}",
            "TRADEENGINE_NATS_STREAM": stream,
            "TRADEENGINE_NATS_DURABLE": f"engine_fuzz_{run}",
            "TRADEENGINE_WRITE_TOKENS": ENGINE_TOKEN,
        }
        engine = start_service(
            "engine-fuzz", ["tradeengine", "serve"], tmp_dir,
            ready_path="/health/readiness", extra_env=environment,
        )  # fmt: skip
        servers.append(engine)
        yield EngineStack(engine, data_manager, simulator, stream)
    finally:
        for server in reversed(servers):
            server.stop()
        asyncio.run(_delete_stream(stream))
        drop_database(coordination)


async def _delete_stream(stream: str) -> None:
    client: Any = await nats.connect(NATS_URL)
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await client.jetstream().delete_stream(stream)
    await client.close()


HOSTILE_VALUES: dict[str, list[Any]] = {
    "integer": [2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**20, 253_402_300_800_000],
    "number": [1e20, 2.0**64, 1.7976931348623157e308, -1e300, 5e-324],
    "string": ["a\x00b", "9223372036854775808", "1e400", "null", "x" * 10_000],
}
"""Values that broke the services before (past 64-bit integers, doubles past what a database
column holds, NUL, a year past 9999 in ms; a lone surrogate cannot be given: schemathesis'
validator refuses it): offered to every field of
their JSON type with ``HOSTILE_PROBABILITY``, besides what schemathesis generates."""
HOSTILE_PROBABILITY = 0.1

ASSERTED_CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "ignored_auth",
)
"""What the services must satisfy for any input. Left out: status codes the document does
not list (404/409/400 are not declared per operation) and whether a schema-valid request is
accepted (the document cannot express cursors, calendar dates or field-path rules)."""


def fuzz_config(
    token: str | None, max_examples: int, *, seed: int | None = None, every_check: bool = False
) -> schemathesis.Config:
    """Schemathesis settings: every request carries ``token`` (if any); valid and invalid inputs;
    ``max_examples`` per operation and phase; the ``ASSERTED_CHECKS`` (or all of them)."""
    checks: dict[str, Any] = {"enabled": every_check}
    checks.update({name: {"enabled": True} for name in ASSERTED_CHECKS})
    settings: dict[str, Any] = {
        "headers": {"Authorization": f"Bearer {token}"} if token else {},
        "request-timeout": 60,
        "generation": {
            "mode": "all",
            "max-examples": max_examples,
            "dictionaries": {
                kind: {"dictionary": kind, "probability": HOSTILE_PROBABILITY}
                for kind in HOSTILE_VALUES
            },
        },
        "dictionaries": {kind: {"values": values} for kind, values in HOSTILE_VALUES.items()},
        "checks": checks,
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
    }
    if seed is not None:
        settings["seed"] = seed
    return schemathesis.Config.from_dict(settings)


@dataclass(frozen=True)
class FuzzFailure:
    """One distinct failure: an operation, the check that failed and the answer's status."""

    operation: str
    check: str
    title: str
    status: int | None
    reproduce: str
    """A curl command that sends the (smallest found) failing request."""
    answer: str
    """The start of the response body."""

    @property
    def key(self) -> tuple[str, str, str, int | None]:
        return (self.operation, self.check, self.title, self.status)

    def describe(self) -> str:
        return (
            f"{self.operation}: {self.check} ({self.title}), status {self.status}\n"
            f"    {self.reproduce}\n    -> {self.answer}"
        )


@dataclass
class FuzzRun:
    cases: int = 0
    operations: set[str] = field(default_factory=set)
    """Every operation of the document."""
    tested: set[str] = field(default_factory=set)
    """The operations at least one case was sent to."""
    failures: dict[tuple[str, str, str, int | None], FuzzFailure] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    """Operations schemathesis could not test (e.g. an unresolvable schema), and engine errors."""

    def report(self) -> str:
        """Server errors first, then the other failures by operation."""
        lines = [
            f"{self.cases} cases on {len(self.tested)} of {len(self.operations)} operations, "
            f"{len(self.failures)} distinct failures"
        ]
        ordered = sorted(
            self.failures.values(),
            key=lambda f: ((f.status or 0) < 500, f.operation, f.check, f.status or 0),
        )
        lines += [failure.describe() for failure in ordered]
        lines += [f"untested: {label}" for label in sorted(self.operations - self.tested)]
        lines += [f"error: {error}" for error in self.errors]
        return "\n".join(lines)


def fuzz(schema_url: str, config: schemathesis.Config) -> FuzzRun:
    """Run every schemathesis phase on every operation of the document at ``schema_url``."""
    schema = schemathesis.openapi.from_url(schema_url, config=config)
    run = FuzzRun()
    run.errors += [f"dangling reference {ref}" for ref in dangling_references(schema.raw_schema)]
    for result in schema.get_all_operations():
        if isinstance(result, Ok):
            run.operations.add(result.ok().label)
        else:
            run.errors.append(f"unusable operation: {result.err()}")
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            run.cases += len(event.recorder.cases)
            run.tested.update(node.value.operation.label for node in event.recorder.cases.values())
            _collect_failures(event.recorder, run)
        elif isinstance(event, events.NonFatalError):
            run.errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            run.errors.append(f"fatal: {event.exception!r}")
    return run


def _collect_failures(recorder: ScenarioRecorder, run: FuzzRun) -> None:
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.failure_info is None:
                continue
            interaction = recorder.interactions.get(case_id)
            response = interaction.response if interaction is not None else None
            failure = FuzzFailure(
                operation=check.failure_info.failure.operation or recorder.label,
                check=check.name,
                title=check.failure_info.failure.title,
                status=response.status_code if response is not None else None,
                reproduce=check.failure_info.code_sample,
                answer=_head(response.content if response is not None else b""),
            )
            run.failures.setdefault(failure.key, failure)


def _head(body: bytes, limit: int = 300) -> str:
    text = body.decode("utf-8", "replace")
    return text if len(text) <= limit else f"{text[:limit]}… ({len(body)} bytes)"


def dangling_references(document: Mapping[str, Any]) -> list[str]:
    """Every ``$ref`` of the document that points nowhere in it (schemathesis cannot build
    inputs for what such a reference describes, and says nothing)."""
    found: set[str] = set()

    def visit(node: object) -> None:
        if isinstance(node, Mapping):
            ref = node.get("$ref")
            if isinstance(ref, str) and not _resolves(document, ref):
                found.add(ref)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(document)
    return sorted(found)


def _resolves(document: Mapping[str, Any], ref: str) -> bool:
    if not ref.startswith("#/"):
        return True  # not a local reference: not this document's to resolve
    node: object = document
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or key not in node:
            return False
        node = node[key]
    return True
