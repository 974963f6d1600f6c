"""The trade engine's service layer in-process (a Data Manager app on SQLite, the exchange
simulator, in-memory locks): poison signals, one broken symbol among healthy ones, and
every failure at the HTTP API answered with the status that says whose fault it is."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import httpx
import orjson
import pytest

from petrosa.contracts.trading import PositionClose
from petrosa.tradeengine.api import create_app
from petrosa.tradeengine.ingress import Outcome
from petrosa.tradeengine.ledger import SIGNALS
from petrosa.tradeengine.service import Engine
from tests.support.inprocess import (
    UNLISTED,
    Rig,
    engine_rig,
    eventually,
    prepared,
    started,
    store_open_position,
)
from tests.support.signals import signal_body

pytestmark = pytest.mark.integration

DELISTED = "ADAUSDT"
"""A symbol the simulator does not list (and sorted before the listed ones)."""
SMALL_BODY_BYTES = 4_096


@asynccontextmanager
async def api(engine: Engine, *, wait: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """The engine's HTTP app over an in-process transport, its lifespan running (and, with
    ``wait``, the engine past its start-up)."""
    app = create_app(engine.settings, engine)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://te") as http,
    ):
        if wait:
            await eventually(lambda: prepared(engine), "the engine's start-up")
        yield http


async def test_an_invalid_signal_with_an_overlong_id_is_recorded_under_a_digest_and_refused(
    tmp_path: Path,
) -> None:
    async with engine_rig(tmp_path) as rig:
        engine = await started(rig.engine)
        payload = orjson.dumps(signal_body(signal_id="x" * 5_000))
        verdicts = [await engine.handle_payload(payload) for _ in range(2)]
        assert [v.outcome for v in verdicts] == [Outcome.REFUSED, Outcome.REFUSED]
        recorded = await rig.dm.query(SIGNALS, {"decision.status": "rejected"}, limit=10)
        assert len(recorded) == 1  # the redelivery recorded nothing new
        assert recorded[0]["_id"].startswith("invalid-")
        assert recorded[0]["decision"]["reason"].startswith(
            "invalid: signal_id: String should match"
        )


async def test_an_invalid_signal_with_a_valid_id_is_recorded_under_it(tmp_path: Path) -> None:
    async with engine_rig(tmp_path) as rig:
        engine = await started(rig.engine)
        verdict = await engine.handle_payload(
            orjson.dumps(signal_body(signal_id="bad-price-1", price="NaN"))
        )
        assert verdict.outcome is Outcome.REFUSED
        recorded = await rig.dm.query(SIGNALS, {"_id": "bad-price-1"}, limit=1)
        assert recorded[0]["decision"]["status"] == "rejected"


async def test_a_signal_for_a_symbol_the_exchange_does_not_list_is_rejected_at_once(
    tmp_path: Path,
) -> None:
    async with engine_rig(tmp_path) as rig:
        engine = await started(rig.engine)
        body = signal_body(UNLISTED, signal_id="unlisted-1")
        verdict = await engine.handle_payload(orjson.dumps(body))
        assert verdict.outcome is Outcome.DECIDED  # acked on its first delivery
        [recorded] = await rig.dm.query(SIGNALS, {"_id": "unlisted-1"}, limit=1)
        assert recorded["decision"]["status"] == "rejected"
        assert recorded["decision"]["reason"] == "symbol not listed by the exchange"
        again = await engine.handle_payload(orjson.dumps(body))
        assert again.outcome is Outcome.DECIDED  # a redelivery finds the decision


async def test_a_position_on_a_symbol_the_exchange_does_not_list_leaves_the_others_marked(
    tmp_path: Path,
) -> None:
    async with engine_rig(tmp_path) as rig:
        await store_open_position(rig.dm, DELISTED)
        healthy = await store_open_position(rig.dm, "BTCUSDT")
        async with api(rig.engine) as http:
            # The leader's rounds mark BTCUSDT although ADAUSDT fails before it, every round.
            await eventually(lambda: _marked(rig, healthy), "BTCUSDT marked to market")
            await eventually(
                lambda: _has_problem(rig.engine, DELISTED), "the ADAUSDT failure reported"
            )
            readiness = await http.get("/health/readiness")
            assert readiness.status_code == 200
            body = readiness.json()
            assert body["status"] == "degraded"
            assert any(p.startswith(f"{DELISTED}: mark to market") for p in body["problems"])
            report = (await http.get("/reconciliation")).json()
            assert any(DELISTED in line for line in report["symbol_failures"])
            assert f"{DELISTED}: stored long 2, exchange flat" in report["differences"]

            listed = await http.get("/positions", params={"status": "open"})
            assert listed.status_code == 200
            by_symbol = {p["symbol"]: p for p in listed.json()}
            assert by_symbol[DELISTED]["mark_price"] is None
            assert Decimal(by_symbol[DELISTED]["unrealized_pnl"]) == Decimal("1.5")
            assert "no mark price now" in by_symbol[DELISTED]["mark_error"]
            assert by_symbol["BTCUSDT"]["mark_error"] is None
            assert Decimal(by_symbol["BTCUSDT"]["mark_price"]) > 0


async def _marked(rig: Rig, position_id: str) -> bool:
    position = await rig.dm.get_position(position_id)
    return position is not None and position.unrealized_pnl != Decimal("1.5")


async def _has_problem(engine: Engine, symbol: str) -> bool:
    return any(problem.startswith(symbol) for problem in engine.problems())


async def test_the_protection_duty_goes_on_past_a_symbol_that_fails(tmp_path: Path) -> None:
    async with engine_rig(tmp_path) as rig:
        engine = rig.engine  # not started: no leader rounds besides the test's
        for symbol in (DELISTED, "BTCUSDT"):
            await store_open_position(rig.dm, symbol, metadata={"protective": ["gone-sl"]})
        assert await engine.duties.monitor_protection() == 0
        assert [p.split(" failing")[0] for p in engine.problems()] == [
            f"{DELISTED}: protective orders"
        ]
        # The position closes elsewhere: its failure is no longer reported.
        for position in await rig.dm.get_open_positions(symbol=DELISTED):
            closing = PositionClose(exit_price=Decimal(10), closed_at=dt.datetime.now(dt.UTC))
            await rig.dm.close_position(position.position_id, closing)
        await engine.duties.monitor_protection()
        assert engine.problems() == []


NAN_PRICE = (
    b'{"strategy_id":"s","symbol":"BTCUSDT","action":"buy","confidence":0.5,'
    b'"price":NaN,"timestamp":"2026-01-01T00:00:00Z"}'
)
INFINITE_CONFIDENCE = NAN_PRICE.replace(b'"confidence":0.5', b'"confidence":Infinity').replace(
    b"NaN", b'"1"'
)


async def test_bad_input_is_a_422_naming_the_field_and_never_echoed_at_length(
    tmp_path: Path,
) -> None:
    async with engine_rig(tmp_path) as rig, api(rig.engine) as http:
        json = {"Content-Type": "application/json"}
        for body, field in ((NAN_PRICE, "price"), (INFINITE_CONFIDENCE, "confidence")):
            answer = await http.post("/signals", content=body, headers=json)
            assert answer.status_code == 422, answer.text
            assert answer.json()["detail"][0]["loc"] == ["body", field]
        # Large, but under the engine's 64 KiB body limit (past it the answer is a 413).
        huge = [
            signal_body(signal_id="x" * 60_000),
            {**signal_body(), "y" * 60_000: 1},
            {"z" * 1_000: 1, **{f"extra{i}": "v" * 1_000 for i in range(50)}},
        ]
        for body_json in huge:
            answer = await http.post("/signals", json=body_json)
            assert answer.status_code == 422
            assert len(answer.content) < SMALL_BODY_BYTES
        answer = await http.get("/positions", params={"symbol": "null"})
        assert answer.status_code == 422
        assert answer.json()["detail"][0]["loc"] == ["query", "symbol"]


async def test_closing_with_a_long_request_id_is_decided_not_a_500(tmp_path: Path) -> None:
    async with engine_rig(tmp_path) as rig, api(rig.engine) as http:
        answer = await http.post("/positions/BTCUSDT/close", params={"request_id": "r" * 128})
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "rejected"
        assert answer.json()["signal_id"].startswith("api-close:")


async def test_closing_a_symbol_the_exchange_does_not_list_is_a_404(tmp_path: Path) -> None:
    async with engine_rig(tmp_path) as rig, api(rig.engine) as http:
        answer = await http.post(f"/positions/{UNLISTED}/close", params={"request_id": "c-1"})
        assert answer.status_code == 404, answer.text
        assert "does not list" in answer.json()["detail"]


READ_ENDPOINTS = (
    "/decisions",
    "/orders",
    "/positions",
    "/pnl/daily/2026-01-01",
    "/pnl/days",
    "/dead-letters",
)


@pytest.mark.parametrize(
    ("dm_status", "engine_status"),
    [(422, 422), (400, 422), (404, 404), (503, 503), (500, 502), (401, 502), (409, 409)],
)
async def test_a_data_manager_error_answer_maps_onto_the_engine_status(
    tmp_path: Path, dm_status: int, engine_status: int
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        detail = [{"loc": ["query", "x"], "msg": "refused " + "q" * 10_000, "type": "t"}]
        return httpx.Response(dm_status, json={"detail": detail})

    async with (
        engine_rig(tmp_path, store_transport=httpx.MockTransport(refuse)) as rig,
        api(rig.engine, wait=False) as http,
    ):
        for path in READ_ENDPOINTS:
            answer = await http.get(path)
            assert answer.status_code == engine_status, (path, answer.text)
            assert len(answer.content) < SMALL_BODY_BYTES
            assert "q" * 300 not in answer.text
            assert " for GET /" not in answer.text  # the Data Manager's own request: logged


async def test_an_unreachable_data_manager_is_a_503_with_retry_after(tmp_path: Path) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with (
        engine_rig(tmp_path, store_transport=httpx.MockTransport(unreachable)) as rig,
        api(rig.engine, wait=False) as http,
    ):
        answers = [await http.get(path) for path in READ_ENDPOINTS]
        answers.append(await http.post("/signals", json=signal_body()))
        answers.append(await http.post("/positions/BTCUSDT/close"))
        for answer in answers:
            assert answer.status_code == 503, (answer.request.url, answer.text)
            assert int(answer.headers["Retry-After"]) >= 1


DM_ADDRESS = "10.213.77.9"
"""Where the engine's unreachable Data Manager would be (a transport's message names it)."""


async def test_no_answer_carries_the_data_manager_transport_text(tmp_path: Path) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(
            f"[Errno 111] Connect call failed ('{DM_ADDRESS}', 8123)", request=request
        )

    async with (
        engine_rig(tmp_path, store_transport=httpx.MockTransport(unreachable)) as rig,
        api(rig.engine, wait=False) as http,
    ):
        await eventually(lambda: _self_tested(rig.engine), "the self-test to run")
        readiness = await http.get("/health/readiness")
        assert readiness.status_code == 503
        assert "data_manager_unavailable" in readiness.json()["problems"]
        answers = [readiness, await http.get("/reconciliation")]
        answers += [await http.get(path) for path in READ_ENDPOINTS]
        answers.append(await http.post("/signals", json=signal_body()))
        answers.append(await http.post("/positions/BTCUSDT/close"))
        for answer in answers:
            assert DM_ADDRESS not in answer.text, (answer.request.url, answer.text)
            assert "8123" not in answer.text, (answer.request.url, answer.text)


async def _self_tested(engine: Engine) -> bool:
    return engine.selftest_error not in (None, "not run yet")
