"""The regime story's three figures as inline SVG, drawn with ``reports.svg_chart`` (no matplotlib): (1) the
cumulative return of strategy and benchmark over the most probable regime, refit dates as ticks; (2) the stacked
filtered regime probabilities; (3) the stacked target weights per sleeve. All three share the x range and the
margins, so they line up on the page. ``reports.plots`` draws the same figures with matplotlib for notebooks
(``RunResult.plot()``), where a Figure is wanted; the tearsheet wants them in milliseconds.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from regimeshift.core.palette import regime_colours
from regimeshift.reports.metrics import most_probable_regime
from regimeshift.reports.svg_chart import Chart, date_num, nice_ticks, pct_label, tick_decimals

WIDTH = 720.0  # px: the page's figures are 10 in wide at 72 px per inch, scaled to the page's width
LEFT, RIGHT, BOTTOM = 62.0, 12.0, 30.0
MAX_AREA_POINTS = 1000  # per stacked layer (the plot is ~650 px wide)

KNOWN_SLEEVE_COLOURS = {
    "growth": "#1f77b4",
    "value": "#8c564b",
    "bonds": "#17becf",
    "gold": "#d4a017",
    "cash": "#9e9e9e",
}
_FALLBACK = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def sleeve_colours(names: Sequence[str]) -> dict[str, str]:
    out, k = {}, 0
    for name in names:
        known = KNOWN_SLEEVE_COLOURS.get(str(name).lower())
        if known is None:
            known, k = _FALLBACK[k % len(_FALLBACK)], k + 1
        out[str(name)] = known
    return out


def sample_positions(n: int, max_points: int) -> np.ndarray:
    if n <= max_points:
        return np.arange(n)
    step = int(np.ceil(n / max_points))
    return np.unique(np.r_[np.arange(0, n, step), n - 1])


def regime_runs(regime: pd.Series, end: pd.Timestamp | None = None) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """Contiguous runs (name, start, end) of a label series; a run ends where the next one starts.

    NaN labels break runs and are not returned. The last run ends at `end` (default: its last date + 1 day).
    """
    labels = regime.sort_index()
    if labels.empty:
        return []
    vals = labels.to_numpy(dtype=object)
    isna = pd.isna(vals)
    change = np.ones(len(vals), dtype=bool)
    change[1:] = (vals[1:] != vals[:-1]) | (isna[1:] != isna[:-1])
    starts = np.flatnonzero(change)
    bounds = list(labels.index[starts]) + [end if end is not None else labels.index[-1] + pd.Timedelta(days=1)]
    return [(vals[s], bounds[i], bounds[i + 1]) for i, s in enumerate(starts) if not isna[s]]


def _chart(title: str, height: float, x0: pd.Timestamp, x1: pd.Timestamp, ident: str,
           legend: Sequence[str]) -> Chart:
    chart = Chart(width=WIDTH, height=height, title=title, left=LEFT, right=RIGHT, bottom=BOTTOM, ident=ident)
    chart.reserve_legend(legend)
    chart.set_x(*date_num(pd.DatetimeIndex([x0, x1])))
    return chart


def _pct_ticks(chart: Chart) -> tuple[np.ndarray, object]:
    ticks = nice_ticks(chart.y0, chart.y1)
    return ticks, pct_label(tick_decimals(ticks, 100))


def cumulative_regime_svg(returns: pd.Series, benchmark: pd.Series, probabilities: pd.DataFrame,
                          refit_dates: Sequence[pd.Timestamp] = (), benchmark_name: str = "Benchmark",
                          strategy_name: str = "Strategy") -> str:
    """Cumulative return (compounded daily) of strategy and benchmark, each day shaded by the most probable
    filtered regime, the model's refits ticked along the bottom."""
    r = pd.Series(returns, dtype=float).dropna().sort_index()
    b = pd.Series(benchmark, dtype=float).reindex(r.index).fillna(0.0)
    x0, x1 = r.index[0], r.index[-1]
    names = [str(c) for c in probabilities.columns]
    colours = regime_colours(names)
    regime = most_probable_regime(probabilities).reindex(r.index)
    runs = regime_runs(regime.astype(object), end=x1)
    refits = [t for t in (pd.Timestamp(d) for d in refit_dates) if x0 <= t <= x1]
    legend = [benchmark_name, strategy_name, *names]
    legend += ["no regime yet"] if not runs else []
    legend += [f"model refit ({len(refits)}, ticks)"] if refits else []
    chart = _chart("Cumulative return, shaded by the most probable regime (filtered)", 274.0, x0, x1,
                   "regime-cumulative", legend)
    x = date_num(r.index)
    cum_s = np.cumprod(1.0 + r.to_numpy()) - 1.0
    cum_b = np.cumprod(1.0 + b.to_numpy()) - 1.0
    chart.fit_y(cum_s, cum_b, include=[0.0])
    for name in names:  # one rectangle per contiguous run of a regime
        for n, s, e in runs:
            if str(n) == name:
                a, z = date_num(pd.DatetimeIndex([s, e]))
                chart.span(float(a), float(z), colours[name], 0.22)
    chart.hline(0.0, "#888888", 0.6)
    chart.line(x, cum_b, "#555555", benchmark_name, 1.1)
    chart.line(x, cum_s, "#0b3c8c", strategy_name, 1.4)
    for name in names:
        chart.legend.append((name, colours[name], "box"))
    if not runs:
        chart.legend.append(("no regime yet", "#ffffff", "box"))
    if refits:
        chart.ticks_at_bottom(date_num(pd.DatetimeIndex(refits)).tolist())
        chart.legend.append((f"model refit ({len(refits)}, ticks)", "#333333", "line"))
    ticks, fmt = _pct_ticks(chart)
    return chart.svg(yfmt=fmt, yticks=ticks, ylabel="Cumulative return")


def _stacked_svg(frame: pd.DataFrame, colours: dict[str, str], title: str, ylabel: str, x0: pd.Timestamp,
                 x1: pd.Timestamp, step_post: bool, ident: str) -> str:
    labels = [str(c) for c in frame.columns]
    chart = _chart(title, 209.0, x0, x1, ident, labels if not frame.empty else [])
    top = max(1.0, float(frame.sum(axis=1).max())) if not frame.empty else 1.0
    chart.y0, chart.y1 = 0.0, top
    if frame.empty:
        chart.parts.append(chart.text(chart.left + chart.pw / 2, chart.top + chart.ph / 2, "no data",
                                      colour="#777777"))
    else:
        sampled = frame.iloc[sample_positions(len(frame), MAX_AREA_POINTS)]
        chart.stack(date_num(sampled.index), [sampled[c].to_numpy(dtype=float) for c in frame.columns],
                    [colours[c] for c in labels], labels, 0.85, step_post=step_post)
    ticks, fmt = _pct_ticks(chart)
    return chart.svg(yfmt=fmt, yticks=ticks, ylabel=ylabel)


def probabilities_svg(probabilities: pd.DataFrame, x0: pd.Timestamp, x1: pd.Timestamp) -> str:
    p = probabilities.sort_index().dropna(how="all").fillna(0.0)
    p = p.loc[(p.index >= x0) & (p.index <= x1)]
    p.columns = [str(c) for c in p.columns]
    return _stacked_svg(p, regime_colours(list(p.columns)), "Filtered regime probabilities", "Probability",
                        x0, x1, False, "regime-probabilities")


def weights_svg(weights: pd.DataFrame, x0: pd.Timestamp, x1: pd.Timestamp) -> str:
    w = weights.sort_index()
    w.columns = [str(c) for c in w.columns]
    w = w.loc[w.index <= x1].ffill().fillna(0.0).clip(lower=0.0)
    before, after = w.loc[w.index <= x0], w.loc[w.index > x0]
    if not before.empty:  # the target in force at the start of the run
        after = pd.concat([before.iloc[[-1]].set_axis([x0]), after])
    w = after
    if not w.empty:  # a step chart only needs the rows where a target changes
        keep = np.r_[True, (w.to_numpy()[1:] != w.to_numpy()[:-1]).any(axis=1)]
        w = w.loc[keep]
        if w.index[-1] < x1:  # targets hold until the end of the run
            w = pd.concat([w, w.iloc[[-1]].set_axis([x1])])
    return _stacked_svg(w, sleeve_colours(list(w.columns)), "Target weights per sleeve", "Weight", x0, x1, True,
                        "regime-weights")
