"""``/sim/scenarios``: start, list and end scripted scenarios (the simulator's own routes,
weightless like the rest of ``/sim``).

* ``POST /sim/scenarios`` ``{name, symbol, market?, start_ms?, duration_s?, params?}`` →
  201 and the scenario; a bad field → 422 ``{"code": -1102, "msg", "field"}``, a symbol not
  listed → 400 (code -1121).
* ``GET /sim/scenarios[?all=true]`` → the scenarios not over yet (or all of them).
* ``DELETE /sim/scenarios/{id}`` → ends one at the next step (404 if unknown);
  ``DELETE /sim/scenarios`` ends all.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import ValidationError

from petrosa.exchange.simulator.errors import ErrorCode
from petrosa.exchange.simulator.responses import JsonResponse
from petrosa.exchange.simulator.scenarios.base import Scenario
from petrosa.exchange.simulator.scenarios.board import (
    BAD_REQUEST,
    ScenarioBoard,
    ScenarioError,
    problem_of,
)
from petrosa.exchange.simulator.scenarios.requests import ScenarioRequest

router = APIRouter(prefix="/sim/scenarios", tags=["simulator"])
CREATED = 201
NOT_FOUND = 404


def board_of(request: Request) -> ScenarioBoard:
    """The board of ``request``'s app."""
    board: ScenarioBoard = request.app.state.scenarios
    return board


def _refusal(error: ScenarioError) -> JsonResponse:
    code = (
        ErrorCode.BAD_SYMBOL
        if error.status == BAD_REQUEST
        else ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED
    )
    body = {"code": int(code), "msg": str(error), "field": error.field}
    return JsonResponse(body, status_code=error.status)


def _body(scenario: Scenario, now_ms: int) -> dict[str, Any]:
    window = scenario.window
    state = "scheduled" if now_ms < window.start_ms else "running"
    if now_ms >= window.end_ms:
        state = "finished"
    return {**scenario.describe(), "state": state}


@router.post("")
async def start_scenario(request: Request) -> JsonResponse:
    """Start (or schedule) a scenario."""
    board = board_of(request)
    try:
        fields = orjson.loads(await request.body())
        wanted = ScenarioRequest.model_validate(fields)
        scenario = board.start(wanted)
    except orjson.JSONDecodeError:
        return _refusal(ScenarioError("body", "not a JSON object"))
    except ValidationError as error:
        return _refusal(problem_of(error))
    except ScenarioError as error:
        return _refusal(error)
    return JsonResponse(_body(scenario, board.now_ms()), status_code=CREATED)


@router.get("")
async def list_scenarios(request: Request, all: bool = False) -> JsonResponse:
    """Scenarios not over yet (``all=true``: every one started)."""
    board = board_of(request)
    now = board.now_ms()
    return JsonResponse([_body(s, now) for s in board.scenarios(finished=all)])


@router.delete("/{scenario_id}")
async def end_scenario(request: Request, scenario_id: int) -> JsonResponse:
    """End one scenario at the next book step."""
    board = board_of(request)
    ended = board.end(scenario_id)
    if ended is None:
        body = {"code": -1, "msg": f"no scenario {scenario_id}", "field": "id"}
        return JsonResponse(body, status_code=NOT_FOUND)
    return JsonResponse(_body(ended, board.now_ms()))


@router.delete("")
async def end_scenarios(request: Request) -> JsonResponse:
    """End every scenario not over yet."""
    board = board_of(request)
    now = board.now_ms()
    return JsonResponse([_body(s, now) for s in board.end_all()])
