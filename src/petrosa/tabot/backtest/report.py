"""How a backtest is shown: JSON entries, a rich table, and an equity-curve page.

The picture is one self-contained HTML file with inline SVG (no plotting dependency, opens
in any browser, diffable): one small chart per strategy, each on its own scale, since the
strategies' returns differ by orders of magnitude.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from petrosa.tabot.backtest.engine import Spec, StrategyResult

CHART_WIDTH = 360
CHART_HEIGHT = 150
CHART_POINTS = 600
"""Points per curve: enough for the eye, small enough for a page of 28 charts."""
_MARGIN = 4


def entries(results: Sequence[StrategyResult]) -> list[dict[str, Any]]:
    """The ``--json`` document: one entry per strategy."""
    return [result.to_json() for result in results]


def _pct(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f} %"


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _profit_factor(result: StrategyResult) -> str:
    if result.stats.trades == 0:
        return "–"
    factor = result.stats.profit_factor
    return "∞" if factor is None else f"{factor:.2f}"


COLUMNS = (
    "strategy", "signals", "trades", "win rate", "total", "per trade", "profit factor",
    "max drawdown", "Sharpe", "exposure",
)  # fmt: skip


def rows(results: Sequence[StrategyResult]) -> list[tuple[str, ...]]:
    """The table's cells, one row per strategy (skipped ones say why)."""
    table = []
    for r in results:
        if r.skipped is not None:
            table.append((r.strategy_id, f"skipped: {r.skipped}", *([""] * 8)))
            continue
        table.append((
            r.strategy_id, str(r.signals), str(r.stats.trades), _pct(r.stats.win_rate, 1),
            _pct(r.total_return), _pct(r.stats.mean_trade_return, 3), _profit_factor(r),
            _pct(r.max_drawdown), _num(r.sharpe), _pct(r.exposure, 1),
        ))  # fmt: skip
    return table


def table(results: Sequence[StrategyResult], title: str) -> Any:
    """A rich table of the results."""
    from rich.table import Table

    shown = Table(title=title)
    for index, column in enumerate(COLUMNS):
        shown.add_column(column, justify="left" if index == 0 else "right")
    for cells in rows(results):
        shown.add_row(*cells)
    return shown


def title(spec: Spec) -> str:
    def day(ms: int) -> str:
        return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")

    return (
        f"Backtest {', '.join(spec.symbols)} {spec.interval.value} ({spec.market.value}), "
        f"{day(spec.start_ms)} → {day(spec.end_ms)} UTC, "
        f"fee {100 * spec.fills.fee_rate:g} % per side"
    )


def write_html(results: Sequence[StrategyResult], spec: Spec, directory: Path) -> Path:
    """Write ``backtest-<symbols>-<interval>-<from>.html`` into ``directory``; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    start = dt.datetime.fromtimestamp(spec.start_ms / 1000, dt.UTC).strftime("%Y%m%dT%H%M")
    name = f"backtest-{'-'.join(spec.symbols)}-{spec.interval.value}-{start}.html"
    path = directory / name
    path.write_text(page(results, spec), encoding="utf-8")
    return path


def page(results: Sequence[StrategyResult], spec: Spec) -> str:
    """The whole HTML document."""
    heading = html.escape(title(spec))
    head_cells = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body_rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>"
        for cells in rows(results)
    )
    charts = "".join(_chart(r) for r in results if r.skipped is None)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{heading}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; font-size: 13px; margin-bottom: 1.5em; }}
th, td {{ padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
.charts {{ display: flex; flex-wrap: wrap; gap: 12px; }}
figure {{ margin: 0; }} figcaption {{ font-size: 12px; }}
svg {{ background: #fafafa; border: 1px solid #ddd; }}
</style></head><body>
<h1 style="font-size:18px">{heading}</h1>
<p style="font-size:12px">Equity of each strategy (1 = start; its capital split equally between
the symbols, each trade using all of its symbol's share), marked to every candle's close.
Entry at the next candle's open, stop first when a candle touches both levels.</p>
<table><thead><tr>{head_cells}</tr></thead><tbody>{body_rows}</tbody></table>
<div class="charts">{charts}</div>
</body></html>
"""


def _chart(result: StrategyResult) -> str:
    equity = _sample(result.equity)
    caption = (
        f"{html.escape(result.strategy_id)}: {_pct(result.total_return)}, "
        f"{result.stats.trades} trades"
    )
    if len(equity) < 2:
        return f"<figure><figcaption>{caption}</figcaption></figure>"
    low, high = float(min(equity.min(), 1.0)), float(max(equity.max(), 1.0))
    spread = high - low or 1.0
    width, height = CHART_WIDTH - 2 * _MARGIN, CHART_HEIGHT - 2 * _MARGIN
    xs = _MARGIN + np.linspace(0, width, len(equity))
    ys = _MARGIN + height * (high - equity) / spread
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    base = _MARGIN + height * (high - 1.0) / spread
    colour = "#1a7f37" if result.total_return >= 0 else "#c62828"
    return (
        f"<figure><figcaption>{caption}</figcaption>"
        f'<svg width="{CHART_WIDTH}" height="{CHART_HEIGHT}" role="img">'
        f'<line x1="0" x2="{CHART_WIDTH}" y1="{base:.1f}" y2="{base:.1f}" stroke="#bbb" '
        f'stroke-dasharray="3,3"/>'
        f'<polyline fill="none" stroke="{colour}" stroke-width="1.2" points="{points}"/>'
        f'<text x="{_MARGIN}" y="12" font-size="10">{high:.3g}</text>'
        f'<text x="{_MARGIN}" y="{CHART_HEIGHT - 4}" font-size="10">{low:.3g}</text>'
        "</svg></figure>"
    )


def _sample(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """At most ``CHART_POINTS`` evenly spaced values, the last one always included."""
    if len(values) <= CHART_POINTS:
        return values
    picked = np.linspace(0, len(values) - 1, CHART_POINTS).round().astype(np.int64)
    return values[picked]
