"""What is shown wrong in QuantStats' page (0.0.8x) is taken out after it is assembled, so the assembled page
stays byte-identical to ``quantstats.reports.html`` (tests/test_reports.py) and the fallback gets the same fixes.
Every page with QuantStats' tearsheet in it (run tearsheets, the sweep's walk-forward tearsheet) goes through
:func:`fix_quantstats_page`.

- "EOY Returns vs Benchmark" bar chart: QuantStats draws the bars at their year positions but the year labels
  at bar indices, so 18 labels pile up in an unreadable smear at the left of the axis while the bars sit at the
  right. The EOY table beside it has the same figures, so the chart is dropped.
- "Treynor Ratio": QuantStats divides the total (not annualised) return by beta and prints it as a percentage
  (e.g. 805.15%); a misleading metric is dropped rather than shown.
- Its risk-adjusted ratios (Sharpe and its variants, Sortino and its variants, Omega) and its "Risk-Free Rate"
  row: QuantStats computes them over a constant rate (zero here), while every ratio the product reports is on
  daily excess returns over the run's risk-free rate (reports/metrics.py). One page must not show two Sharpes
  on two bases, so QuantStats' are dropped; the regime story's comparison table has the run's.
- "CAGR﹪": QuantStats writes U+FE6A SMALL PERCENT SIGN, which common fonts lack (a missing-glyph box).
- Column order: QuantStats puts the benchmark before the strategy; every other table of ours puts the strategy
  first, so a reader comparing tables never reads the wrong column.
- EOY table: "Multiplier" is the strategy's year return divided by the benchmark's -- 14.85 when both lost
  (-1.32% / -0.09%), 0.01 when the strategy lost 0.4% against the benchmark's 37%: a ratio of returns means
  nothing once the denominator is small or negative, so the column is dropped ("Won" says who did better).
  A year the data does not cover end to end is labelled with the dates it covers, so a partial year's return
  is not read as a calendar year's.

Monthly heatmap: QuantStats fills the months without data (before the first, after the last) with 0.00, which
reads as a flat month. That one is fixed while the figure is drawn (:func:`blank_months_without_data`), since a
drawn figure cannot be edited; ``reports.qs_report`` uses it for both its assembly and the plain fallback.
"""
from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Iterator

import numpy as np
import pandas as pd

DROPPED_METRICS = ("Treynor Ratio", "Risk-Free Rate", "Sharpe", "Prob. Sharpe Ratio", "Smart Sharpe", "Sortino",
                   "Smart Sortino", "Sortino/√2", "Smart Sortino/√2", "Omega")
DROPPED_EOY_COLUMNS = ("Multiplier",)
# QuantStats pieces the finished page replaces whole (the EOY chart, by _EOY_NOTE): never drawn for it
DROPPED_PIECES = frozenset({"eoy_returns"})
STRATEGY_NAME = "Strategy"  # QuantStats' column title for the strategy (qs_report.STRATEGY_NAME)
# A calendar year counts as covered when the data starts within this many days of 1 January and ends within
# this many days of 31 December (holidays and weekends: 2 January can be a year's first trading day).
YEAR_EDGE_DAYS = 7

_RE_EOY_CHART = re.compile(r'<div id="eoy_returns">.*?</div>', re.S)
_EOY_NOTE = ('<div id="eoy_returns"><p style="font-size:12px;color:#555">The EOY returns bar chart of QuantStats '
             "is left out (it misplaces its year labels); the EOY Returns vs Benchmark table has its figures.</p></div>")
_RE_TABLE = re.compile(r"<table>.*?</table>", re.S)
_RE_ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
_RE_CELL = re.compile(r"<t([dh])((?:\s[^>]*)?)>(.*?)</t\1>", re.S)
_RE_EOY_TABLE = re.compile(r'(<div id="eoy">.*?)(<table>.*?</table>)', re.S)


def _metric_row(name: str) -> re.Pattern[str]:
    return re.compile(r"<tr>\s*<td>\s*" + re.escape(name) + r"\s*</td>.*?</tr>\s*", re.S)


def _cells(row: str) -> list[tuple[str, str, str]]:
    """(tag letter, attributes, inner html) of each cell of one <tr>."""
    return _RE_CELL.findall(row)


def _join(cells: list[tuple[str, str, str]]) -> str:
    return "".join(f"<t{t}{attrs}>{inner}</t{t}>" for t, attrs, inner in cells)


def _rebuild(table: str, order: list[int]) -> str:
    """`table` with the cells of every row in `order` (rows spanning columns, the separator rules, kept as is)."""
    def row(m: re.Match[str]) -> str:
        cells = _cells(m.group(1))
        if len(cells) <= max(order) or any("colspan" in attrs for _, attrs, _ in cells):
            return m.group(0)
        return "<tr>" + _join([cells[i] for i in order]) + "</tr>"

    return _RE_ROW.sub(row, table)


def _header(table: str) -> list[str]:
    first = _RE_ROW.search(table)
    return [html.unescape(inner) for t, _, inner in _cells(first.group(1)) if t == "h"] if first else []


def _strategy_first(table: str) -> str:
    """A table headed (label, benchmark, Strategy, ...) with its strategy column moved before the benchmark's."""
    head = _header(table)
    if len(head) >= 3 and head[2] == STRATEGY_NAME and head[1] != STRATEGY_NAME:
        return _rebuild(table, [0, 2, 1, *range(3, len(head))])
    return table


def _year_label(year: int, dates: pd.DatetimeIndex) -> str:
    """'2026' for a year the data covers end to end, else '2026 (3 Jan - 10 Apr)' with the dates it covers."""
    inside = dates[dates.year == year]
    if inside.empty:
        return str(year)
    first, last = inside[0], inside[-1]
    starts_late = first - pd.Timestamp(year, 1, 1) > pd.Timedelta(days=YEAR_EDGE_DAYS)
    ends_early = pd.Timestamp(year, 12, 31) - last > pd.Timedelta(days=YEAR_EDGE_DAYS)
    if not (starts_late or ends_early):
        return str(year)
    return f"{year} ({first.day} {first:%b} - {last.day} {last:%b})"


def _fix_eoy_table(table: str, dates: pd.DatetimeIndex | None) -> str:
    head = _header(table)
    keep = [i for i, name in enumerate(head) if name not in DROPPED_EOY_COLUMNS]
    table = _strategy_first(_rebuild(table, keep)) if len(keep) < len(head) else _strategy_first(table)
    if dates is None or len(dates) == 0:
        return table

    def label(m: re.Match[str]) -> str:
        year = int(m.group(2))
        return f"{m.group(1)}{html.escape(_year_label(year, dates))}</td>"

    return re.sub(r"(<tr><td>)(\d{4})</td>", label, table)


def fix_quantstats_page(page: str, dates: pd.DatetimeIndex | None = None) -> str:
    """``page`` with the fixes of the module docstring; `dates`: the strategy's return dates (for the EOY
    table's partial years; without them years keep QuantStats' bare labels)."""
    page = _RE_EOY_CHART.sub(lambda _: _EOY_NOTE, page, count=1)
    for name in DROPPED_METRICS:
        page = _metric_row(name).sub("", page)
    page = page.replace("\ufe6a", "%")
    index = pd.DatetimeIndex(dates) if dates is not None else None
    page = _RE_EOY_TABLE.sub(lambda m: m.group(1) + _fix_eoy_table(m.group(2), index), page, count=1)
    return _RE_TABLE.sub(lambda m: _strategy_first(m.group(0)), page)


# ----------------------------------------------------------------------------------------------- while drawing
def _blanked(frame: pd.DataFrame, returns: pd.Series) -> pd.DataFrame:
    """QuantStats' year x month table with NaN (drawn blank) in the months `returns` has no date in."""
    index = pd.DatetimeIndex(returns.dropna().index)
    have = {(f"{t:%Y}", f"{t:%b}".upper()) for t in index}
    out = frame.astype(float).copy()
    for year in out.index:
        for month in out.columns:
            if str(month).upper() != "EOY" and (str(year), str(month).upper()) not in have:
                out.loc[year, month] = np.nan
    return out


@contextlib.contextmanager
def blank_months_without_data() -> Iterator[None]:
    """While the block runs, ``quantstats.stats.monthly_returns`` leaves the months without data empty (NaN,
    which seaborn's heatmap draws as a blank cell) instead of 0. Only QuantStats' monthly heatmap calls it."""
    from quantstats import stats  # noqa: PLC0415  (slow import: only where QuantStats draws)

    original = stats.monthly_returns

    def monthly_returns(returns, *args, **kwargs):  # noqa: ANN001, ANN202  (QuantStats' own signature)
        table = original(returns, *args, **kwargs)
        series = returns.iloc[:, 0] if isinstance(returns, pd.DataFrame) else returns
        return _blanked(table, pd.Series(series))

    stats.monthly_returns = monthly_returns
    try:
        yield
    finally:
        stats.monthly_returns = original
