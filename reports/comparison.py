"""The strategy beside what it must beat, one definition for every page (console, tearsheet, compare page).

Columns: the strategy, its static twin (its own average weights held: the same allocation without the timing),
equal weight of the sleeves, 60/40 and the benchmark bought and held -- all replayed with the run's own
execution and costs (backtests/benchmarks_beside.py). Rows: the figures a reader compares them on.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

COLUMNS: tuple[tuple[str, str], ...] = (
    ("strategy", "Strategy"),
    ("static_twin", "Static twin"),
    ("equal_weight", "Equal weight"),
    ("sixty_forty", "60/40"),
    ("buy_hold", "{benchmark} held"),
)
ROWS: tuple[tuple[str, str], ...] = (
    ("cagr", "CAGR"),
    ("sharpe", "Sharpe (excess)"),
    ("sortino", "Sortino (excess)"),
    ("max_drawdown", "Max drawdown"),
    ("volatility", "Volatility"),
    ("turnover", "Turnover / yr"),
    ("cost_drag_annual", "Cost drag / yr"),
)
PCT_ROWS = frozenset({"cagr", "max_drawdown", "volatility", "cost_drag_annual"})


def comparison_columns(metrics: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(column title, that column's metrics) for each column metrics.json has (skipped benchmarks left out)."""
    bench = str((metrics.get("benchmark") or {}).get("symbol", "benchmark"))
    beside = metrics.get("benchmarks") or {}
    out: list[tuple[str, Mapping[str, Any]]] = []
    for key, title in COLUMNS:
        m = metrics.get("strategy") if key == "strategy" else beside.get(key)
        if isinstance(m, Mapping) and "skipped" not in m:
            out.append((title.format(benchmark=bench), m))
    return out


def format_cell(key: str, value: Any) -> str:
    """A comparison figure as every page prints it: percent with 2 decimals, a ratio with 2, turnover as 'x'."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    v = float(value)
    if key in PCT_ROWS:
        return f"{100 * v:.2f}%"
    if key == "turnover":
        return f"{v:.2f}x"
    return f"{v:.2f}"


def comparison_rows(metrics: Mapping[str, Any]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """(column titles, [(row label, formatted cells)]) of the comparison table."""
    cols = comparison_columns(metrics)
    rows = [(label, [format_cell(key, m.get(key)) for _, m in cols]) for key, label in ROWS]
    return [title for title, _ in cols], rows
