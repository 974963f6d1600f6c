"""Progress for long-running jobs: a rich bar on a terminal, structured log lines otherwise."""

from __future__ import annotations

import logging
import sys
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichBar
from rich.table import Table

from petrosa.extractor.outcome import EventState, SeriesOutcome
from petrosa.extractor.runner import Progress

log = logging.getLogger("petrosa.jobs")


def is_terminal() -> bool:
    return sys.stderr.isatty()


class TerminalProgress(Progress):
    """One line per series with records fetched; finished series show ✓ or ✗."""

    def __init__(self, labels: list[str]) -> None:
        self._bar = RichBar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("records {task.fields[records]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self._overall = self._bar.add_task("series", total=len(labels), records=0)
        self._tasks = {
            label: self._bar.add_task(f"  {label}", total=None, records=0, visible=False)
            for label in labels
        }

    def __enter__(self) -> TerminalProgress:
        self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def started(self, label: str) -> None:
        self._bar.update(self._tasks[label], visible=True)

    def advanced(self, label: str, records: int) -> None:
        task = self._tasks[label]
        done = int(self._bar.tasks[task].fields["records"]) + records
        self._bar.update(task, records=done)
        total = int(self._bar.tasks[self._overall].fields["records"]) + records
        self._bar.update(self._overall, records=total)

    def finished(self, outcome: SeriesOutcome) -> None:
        label = outcome.label
        mark = "[green]✓[/]" if outcome.success else "[red]✗[/]"
        self._bar.update(self._tasks[label], description=f"{mark} {label}", total=1, completed=1)
        self._bar.advance(self._overall)


class LogProgress(Progress):
    """Structured lines, for logs collected from a container or a CronJob."""

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def started(self, label: str) -> None:
        log.info("series started", extra={"fields": {"series": label}})

    def finished(self, outcome: SeriesOutcome) -> None:
        log.info("series finished", extra={"fields": outcome.event().model_dump(mode="json")})


def summary_table(outcomes: list[SeriesOutcome], *, dry_run: bool) -> Table:
    title = "extraction summary" + (" (dry run: nothing written)" if dry_run else "")
    table = Table(title=title)
    for column in (
        "series",
        "fetched",
        "written",
        "gaps found",
        "gaps filled",
        "seconds",
        "result",
        "event",
    ):
        left = column in ("series", "result", "event")
        table.add_column(column, justify="left" if left else "right")
    for o in outcomes:
        result = "ok" if o.success else f"FAILED: {o.error}"
        if o.success and o.notes:
            result = "ok (" + "; ".join(o.notes) + ")"
        table.add_row(
            o.label, str(o.fetched), str(o.written), str(o.gaps_found), str(o.gaps_filled),
            f"{o.duration_s:.2f}", result, event_cell(o),
        )  # fmt: skip
    return table


def event_cell(outcome: SeriesOutcome) -> str:
    """The event column: delivered (late: after how many attempts), or not, and why."""
    if outcome.event_state is EventState.DELIVERED:
        late = outcome.event_attempts > 1
        return f"delivered (attempt {outcome.event_attempts})" if late else "delivered"
    if outcome.event_state is EventState.UNDELIVERED:
        return f"NOT DELIVERED (attempts: {outcome.event_attempts}): {outcome.event_error}"
    return "-"
