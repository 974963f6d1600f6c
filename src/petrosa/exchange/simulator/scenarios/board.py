"""The scenarios of a venue: started, listed and ended by ``/sim/scenarios`` and the CLI.

Starting one attaches its market's overlay (``overlay.ScenarioOverlay``), so every reader
of that market sees it from its start on. Starts lie strictly after the simulated now (on
the next book step at the earliest) and an end cuts a scenario at the next step: nothing a
client may already have received changes, and the diff-depth ids chain on across both.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from petrosa.exchange.simulator.book import STEP_MS
from petrosa.exchange.simulator.errors import BinanceError
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.scenarios.base import Scenario, step_ceil
from petrosa.exchange.simulator.scenarios.catalog import CATALOG, Head, until_settlement_ms
from petrosa.exchange.simulator.scenarios.overlay import ScenarioOverlay
from petrosa.exchange.simulator.scenarios.requests import ScenarioRequest
from petrosa.exchange.simulator.venue import Venue

UNPROCESSABLE = 422
BAD_REQUEST = 400


@dataclass(frozen=True)
class ScenarioError(Exception):
    """A request the board refuses, naming the field at fault."""

    field: str
    message: str
    status: int = UNPROCESSABLE

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def problem_of(error: ValidationError, prefix: str = "") -> ScenarioError:
    """The first problem of a validation error, with its field's dotted name."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = str(first.get("msg", "invalid value"))
    if not where and message.startswith("Value error, ") and ": " in message:
        where, message = message.removeprefix("Value error, ").split(": ", 1)
    field = ".".join(part for part in (prefix, where) if part) or "body"
    return ScenarioError(field, message)


class ScenarioBoard:
    """Every scenario started on one venue, by id."""

    def __init__(self, venue: Venue) -> None:
        self._venue = venue
        self._overlays: dict[tuple[MarketKind, str], ScenarioOverlay] = {}
        self._next_id = 1

    def now_ms(self) -> int:
        return self._venue.now_ms()

    def earliest_start_ms(self) -> int:
        """The first step no reader can have seen yet."""
        return (self._venue.now_ms() // STEP_MS + 1) * STEP_MS

    def start(self, request: ScenarioRequest) -> Scenario:
        """Schedule ``request``; ``ScenarioError`` names what is wrong with it."""
        entry = CATALOG[request.name]
        kind = request.market_kind
        try:
            market = self._venue.market(kind, request.symbol)
        except BinanceError:
            raise ScenarioError("symbol", f"{request.symbol} is not listed", BAD_REQUEST) from None
        try:
            settings = entry.params.model_validate(request.params)
        except ValidationError as error:
            raise problem_of(error, "params") from None
        earliest = self.earliest_start_ms()
        start = earliest if request.start_ms is None else step_ceil(request.start_ms)
        if start < earliest:
            raise ScenarioError("start_ms", f"must be after the simulated now ({earliest - 1})")
        seconds = request.duration_s if request.duration_s is not None else entry.default_duration_s
        duration_ms = until_settlement_ms(start) if seconds is None else round(seconds * 1_000)
        head = Head(
            self._next_id, request.name, kind, request.symbol, start, step_ceil(duration_ms)
        )
        scenario = entry.build(head, market, settings)
        self._next_id += 1
        overlay = self._overlays.setdefault((kind, request.symbol), ScenarioOverlay())
        overlay.replace_all([*overlay.scenarios, scenario])
        market.overlay = overlay
        return scenario

    def scenarios(self, *, finished: bool = False) -> list[Scenario]:
        """Scenarios still to end (running or scheduled), or all with ``finished``."""
        now = self._venue.now_ms()
        found = [s for overlay in self._overlays.values() for s in overlay.scenarios]
        return sorted((s for s in found if finished or s.window.end_ms > now), key=lambda s: s.id)

    def end(self, scenario_id: int) -> Scenario | None:
        """End one scenario at the next step (drop it if it has not started); None if no
        scenario has that id."""
        cut = self.earliest_start_ms()
        for overlay in self._overlays.values():
            current = next((s for s in overlay.scenarios if s.id == scenario_id), None)
            if current is None:
                continue
            ended = current.ended_at(cut)
            if ended != current:
                started = ended.window.end_ms > ended.window.start_ms
                overlay.replace_all(
                    [
                        ended if s.id == scenario_id else s
                        for s in overlay.scenarios
                        if s.id != scenario_id or started
                    ]
                )
            return ended
        return None

    def end_all(self) -> list[Scenario]:
        """End every scenario not over yet."""
        return [
            ended for scenario in self.scenarios() if (ended := self.end(scenario.id)) is not None
        ]
