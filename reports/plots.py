"""Regime figures as matplotlib Figures (no pyplot, no global figure state), for notebooks (``RunResult.plot()``)
and the comparison pages: (1) cumulative return of strategy and benchmark over the most probable regime, refit
dates as ticks; (2) stacked filtered regime probabilities. The tearsheet draws the same figures without
matplotlib (``reports.regime_svg``), in milliseconds.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter
from regimeshift.core.compat import quiet_matplotlib_fonts
from regimeshift.core.palette import KNOWN_REGIME_COLOURS, regime_colours  # noqa: F401  (re-exported)
from regimeshift.reports.metrics import most_probable_regime
# one definition of the regime runs for both drawings (the tearsheet's SVG, the notebook's Figure)
from regimeshift.reports.regime_svg import regime_runs

MAX_POINTS = 2000  # per line; 20 years of daily data is ~5,000 rows
MAX_AREA_POINTS = 1000  # per stacked layer (the plot is ~900 px wide)
FIG_WIDTH = 10.0  # inches; the page is 960 px wide and the SVG is scaled to 100 %
MARGIN_IN = {"left": 0.85, "right": 0.15, "bottom": 0.55, "top": 0.62}  # inches, same for every figure

_RC = {
    "svg.fonttype": "path",  # no dependence on the viewer's fonts
    "svg.hashsalt": "regimeshift",  # deterministic ids
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "axes.edgecolor": "#888888",
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@contextlib.contextmanager
def plot_style():
    """Matplotlib defaults + our few settings, whatever global styles other libraries (QuantStats) applied."""
    with mpl.rc_context():
        mpl.rcdefaults()
        mpl.rcParams.update(_RC)
        yield


def mpl_text(s: str) -> str:
    """User text for matplotlib: a lone '$' would start mathtext and fail."""
    return str(s).replace("$", r"\$")


def sample_positions(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    if n <= max_points:
        return np.arange(n)
    step = int(np.ceil(n / max_points))
    return np.unique(np.r_[np.arange(0, n, step), n - 1])


def new_figure(height: float) -> tuple[Figure, Axes]:
    quiet_matplotlib_fonts()
    fig = Figure(figsize=(FIG_WIDTH, height))
    FigureCanvasSVG(fig)
    ax = fig.add_subplot()
    m = MARGIN_IN
    fig.subplots_adjust(left=m["left"] / FIG_WIDTH, right=1 - m["right"] / FIG_WIDTH,
                        bottom=m["bottom"] / height, top=1 - m["top"] / height)
    return fig, ax


def date_axis(ax, x0: pd.Timestamp, x1: pd.Timestamp) -> None:
    locator = mdates.AutoDateLocator(minticks=5, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlim(mdates.date2num(x0), mdates.date2num(x1))
    ax.set_xlabel("Date")
    ax.grid(True, axis="y", color="#dddddd", linewidth=0.6)


def legend_above(ax, handles=None, ncol: int = 6) -> None:
    kw = {} if handles is None else {"handles": handles}
    ax.legend(**kw, loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=ncol, frameon=False, fontsize=8.5,
              borderaxespad=0.0, handlelength=1.6, columnspacing=1.2)


def to_svg(fig: Figure) -> str:
    """Render to an SVG string suitable for inlining in HTML (no XML prolog / DOCTYPE)."""
    buf = io.StringIO()
    with plot_style():
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buf.getvalue()
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def cumulative_regime_figure(
    returns: pd.Series,
    benchmark: pd.Series,
    probabilities: pd.DataFrame,
    refit_dates: Sequence[pd.Timestamp] = (),
    benchmark_name: str = "Benchmark",
    strategy_name: str = "Strategy",
    height: float = 3.8,
) -> Figure:
    """Cumulative return of strategy and benchmark, shaded by the most probable regime, refits ticked."""
    r = pd.Series(returns, dtype=float).dropna().sort_index()
    b = pd.Series(benchmark, dtype=float).reindex(r.index).fillna(0.0)
    x0, x1 = r.index[0], r.index[-1]
    with plot_style():
        fig, ax = new_figure(height)
        pos = sample_positions(len(r))
        dates = mdates.date2num(r.index[pos])
        cum_s = ((1.0 + r).cumprod() - 1.0).to_numpy()[pos]
        cum_b = ((1.0 + b).cumprod() - 1.0).to_numpy()[pos]
        ax.plot(dates, cum_b, color="#555555", linewidth=1.1, label=mpl_text(benchmark_name), zorder=3)
        ax.plot(dates, cum_s, color="#0b3c8c", linewidth=1.4, label=mpl_text(strategy_name), zorder=4)
        ax.axhline(0.0, color="#888888", linewidth=0.6, zorder=2)
        ax.margins(x=0)
        ax.set_ylim(*ax.get_ylim())  # freeze before adding the axis-fraction artists

        names = [str(c) for c in probabilities.columns]
        colours = regime_colours(names)
        regime = most_probable_regime(probabilities).reindex(r.index)
        xform = ax.get_xaxis_transform()  # x in data, y in axes fraction
        handles = list(ax.get_legend_handles_labels()[0])
        runs = regime_runs(regime.astype(object), end=x1)
        for name in names:
            spans = [(mdates.date2num(s), mdates.date2num(e)) for n, s, e in runs if str(n) == name]
            if spans:  # one collection per regime, one rectangle per contiguous run
                verts = [[(a, 0.0), (a, 1.0), (z, 1.0), (z, 0.0)] for a, z in spans]
                ax.add_collection(PolyCollection(verts, transform=xform, facecolors=colours[name], alpha=0.22,
                                                 linewidths=0, zorder=1), autolim=False)
            handles.append(Patch(facecolor=colours[name], alpha=0.35, label=mpl_text(name)))
        if not runs:
            handles.append(Patch(facecolor="white", edgecolor="#999999", label="no regime yet"))

        refits = [t for t in (pd.Timestamp(d) for d in refit_dates) if x0 <= t <= x1]
        if refits:
            xs = mdates.date2num(pd.DatetimeIndex(refits))
            segs = [[(x, 0.0), (x, 0.04)] for x in xs]
            ax.add_collection(LineCollection(segs, transform=xform, colors="#333333", linewidths=0.5, alpha=0.8, zorder=5),
                              autolim=False)
            handles.append(Line2D([], [], color="#333333", linewidth=0.9, label=f"model refit ({len(refits)}, ticks)"))

        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylabel("Cumulative return")
        ax.set_title("Cumulative return, shaded by the most probable regime (filtered)", loc="left", pad=24)
        date_axis(ax, x0, x1)
        legend_above(ax, handles, ncol=min(len(handles), 7))
        return fig


def _stacked_figure(frame: pd.DataFrame, colours: dict[str, str], title: str, ylabel: str,
                    x0: pd.Timestamp, x1: pd.Timestamp, step: str | None) -> Figure:
    with plot_style():
        fig, ax = new_figure(2.9)
        if not frame.empty:
            pos = sample_positions(len(frame), MAX_AREA_POINTS)
            sampled = frame.iloc[pos]
            ys = [sampled[c].to_numpy(dtype=float) for c in frame.columns]
            ax.stackplot(mdates.date2num(sampled.index), *ys, labels=[mpl_text(c) for c in frame.columns],
                         colors=[colours[str(c)] for c in frame.columns], alpha=0.85, linewidth=0, step=step)
        else:
            ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="#777777")
        ax.set_axisbelow(True)
        ax.set_ylim(0.0, max(1.0, float(frame.sum(axis=1).max()) if not frame.empty else 1.0))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylabel(ylabel)
        ax.set_title(title, loc="left", pad=24)
        date_axis(ax, x0, x1)
        if not frame.empty:
            legend_above(ax, ncol=max(1, len(frame.columns)))
        return fig


def _probability_frame(probabilities: pd.DataFrame, x0: pd.Timestamp, x1: pd.Timestamp) -> pd.DataFrame:
    p = probabilities.sort_index().dropna(how="all").fillna(0.0)
    p = p.loc[(p.index >= x0) & (p.index <= x1)]
    p.columns = [str(c) for c in p.columns]
    return p


def probabilities_figure(probabilities: pd.DataFrame, x0: pd.Timestamp, x1: pd.Timestamp) -> Figure:
    """The filtered regime probabilities, stacked (the tearsheet's second figure), as a matplotlib Figure."""
    p = _probability_frame(probabilities, x0, x1)
    return _stacked_figure(p, regime_colours(list(p.columns)), "Filtered regime probabilities",
                           "Probability", x0, x1, step=None)
