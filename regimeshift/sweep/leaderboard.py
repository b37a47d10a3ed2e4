"""The leaderboard: every variant's metrics and deflated Sharpe ratio, the sweep's PBO, the walk-forward
selection track, and three pictures -- written as leaderboard.csv and an offline leaderboard.html.

Every figure is on one basis, the run's (reports/metrics.py): daily returns, ratios on daily excess returns over
the base config's risk-free rate; the page prints that sentence. Only the overfitting machinery reads monthly
returns (CSCV's blocks and the yearly selection rule), and where it prints a figure it says so."""
from __future__ import annotations

import html
import io
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from regimeshift.reports.metrics import RiskFree
from regimeshift.reports.overfitting import deflated_sharpe, pbo_cscv
from regimeshift.reports.tearsheet import format_probability

LOWER_IS_WORSE = True  # every ranking metric is "higher is better" (max_drawdown is a negative fraction)
METRIC_COLUMNS = ["sharpe", "timing_sharpe", "twin_sharpe", "timing_cagr", "timing_max_drawdown", "cagr", "sortino",
                  "calmar", "max_drawdown", "volatility", "total_return", "turnover", "n_orders", "costs",
                  "final_value"]
PERCENT_COLUMNS = ("cagr", "max_drawdown", "volatility", "total_return")
POINTS_COLUMNS = ("timing_cagr", "timing_max_drawdown")  # differences of percentages: signed points
MAX_LABELS = 20  # top-N rank labels drawn in the risk scatter


def build_table(rows: Iterable[dict[str, Any]], metric: str,
                swept: Sequence[str]) -> tuple[pd.DataFrame, dict[int, tuple[str, int]]]:
    """One row per variant in rank order (impossible and failed variants last, with their reason), from the
    store's ``board_rows`` stream; and the calendar (first month, months) of each screened variant's monthly
    returns, for :func:`monthly_matrix`. Built column by column: one summary row per variant is all it holds."""
    hidden = ["_sr", "_skew", "_kurt", "_n"]
    cols: dict[str, list[Any]] = {c: [] for c in ["variant", "key", "status", *swept, *METRIC_COLUMNS, *hidden,
                                                   "normalized", "reason"]}
    spans: dict[int, tuple[str, int]] = {}
    rates: list[Any] = []
    for v in rows:
        r = v["result"]
        status = "impossible" if not v["possible"] else (r["status"] if r else "pending")
        cols["variant"].append(v["index"])
        cols["key"].append(v["key"])
        cols["status"].append(status)
        for k in swept:
            val = v["params"].get(k)
            cols[k].append(val if not isinstance(val, (list, dict)) else str(val))
        m = r["metrics"] if r else {}
        for c in METRIC_COLUMNS:
            cols[c].append(m.get(c, math.nan))
        for c, name in zip(hidden, ("daily_sr", "daily_skew", "daily_kurtosis", "daily_n_obs")):
            cols[c].append(m.get(name, math.nan))
        cols["normalized"].append(v["normalized"])
        cols["reason"].append(v["reason"] or (r.get("reason", "") if r else ""))
        if status == "ok" and r["n_months"] is not None:
            spans[v["index"]] = (m["start"][:7], r["n_months"])
        if status == "ok" and m.get("risk_free") not in rates:
            rates.append(m.get("risk_free"))
    table = pd.DataFrame(cols)
    ok = table["status"] == "ok"
    n_trials = int(ok.sum())
    var_sr = float(np.var(table.loc[ok, "_sr"], ddof=1)) if n_trials > 1 else 0.0
    table["dsr"] = [
        deflated_sharpe(sr, int(n), sk, ku, n_trials, var_sr) if st == "ok" else math.nan
        for sr, n, sk, ku, st in zip(table["_sr"], table["_n"], table["_skew"], table["_kurt"], table["status"])
    ]
    table = table.drop(columns=hidden)
    key = table[metric].where(ok, -np.inf).fillna(-np.inf)
    order = np.lexsort((table["variant"].to_numpy(), -key.to_numpy()))
    table = table.iloc[order].reset_index(drop=True)
    table.insert(0, "rank", np.where(table["status"] == "ok", np.arange(1, len(table) + 1), 0))
    table.attrs["risk_free"] = rates  # the rates the screened variants' ratios are over (one, by spec.py's check)
    return table, spans


def risk_free_of(value: str | float | None) -> RiskFree:
    """The RiskFree a stored ``risk_free`` value (metrics.json's form: a series name or an annual rate) stands
    for, to print its basis sentence."""
    if isinstance(value, str):
        return RiskFree(value, 0.0)
    return RiskFree.annual(float(value or 0.0))


def monthly_matrix(spans: dict[int, tuple[str, int]],
                   columns: Callable[[set[int]], Iterable[tuple[int, np.ndarray]]]) -> tuple[pd.DataFrame, list[int]]:
    """Month x variant returns of the screened variants sharing the commonest calendar (``spans``), filled
    column by column from ``columns(indexes)`` (the store's ``monthly_columns``) into one preallocated array."""
    if not spans:
        return pd.DataFrame(), []
    counts: dict[tuple[str, int], int] = {}
    for span in spans.values():
        counts[span] = counts.get(span, 0) + 1
    common = max(counts, key=lambda k: (counts[k], k))
    keep = [k for k, span in spans.items() if span == common]
    where = {k: j for j, k in enumerate(keep)}
    data = np.empty((common[1], len(keep)))
    for index, values in columns(set(keep)):
        data[:, where[index]] = values
    idx = pd.date_range(pd.Timestamp(common[0] + "-01") + pd.offsets.MonthEnd(0), periods=common[1], freq="ME")
    return pd.DataFrame(data, index=idx, columns=keep, copy=False), keep  # pandas 3 would copy it by default


def pbo_of(monthly: pd.DataFrame, n_blocks: int = 16) -> dict[str, Any]:
    if monthly.shape[1] < 2 or monthly.shape[0] < 4:
        return {"pbo": math.nan, "n_splits": 0, "n_blocks": 0, "note": "needs >= 2 screened variants"}
    res = pbo_cscv(monthly.to_numpy(), n_blocks=min(n_blocks, monthly.shape[0] // 2 * 2))
    return {"pbo": res.pbo, "n_splits": res.n_splits, "n_blocks": res.n_blocks,
            "median_logit": float(np.median(res.logits))}


def _sharpe_m(r: pd.Series | pd.DataFrame) -> Any:
    sd = r.std(ddof=1)
    return r.mean() / sd * math.sqrt(12)


def walk_forward_selection(monthly: pd.DataFrame, min_months: int = 12) -> pd.DataFrame:
    """At each year end, the variant with the best Sharpe ratio of its monthly total returns up to then
    (>= ``min_months``, x sqrt(12): the selection rule, on the matrix CSCV also reads) is held for the next year.
    One row per traded year: year, chosen variant, that selection figure, its total return that year, months."""
    rows = []
    years = sorted(set(monthly.index.year))
    for y in years:
        past = monthly.loc[monthly.index.year < y]
        if len(past) < min_months:
            continue
        sr = _sharpe_m(past).fillna(-np.inf)
        best = int(sr.index[int(np.argmax(sr.to_numpy()))])
        nxt = monthly.loc[monthly.index.year == y, best]
        rows.append({"year": y, "variant": best, SELECTION_COLUMN: float(sr[best]),
                     "year_return": float(np.prod(1.0 + nxt) - 1.0), "months": len(nxt)})
    return pd.DataFrame(rows, columns=["year", "variant", SELECTION_COLUMN, "year_return", "months"])


SELECTION_COLUMN = "selected_on_sharpe_monthly_total"


def stitched_track(monthly: pd.DataFrame, selection: pd.DataFrame) -> pd.Series:
    """The selection's monthly total returns (what CSCV's matrix holds); the figures printed come from the daily
    track (sweep/walk_forward.py)."""
    parts = [monthly.loc[monthly.index.year == row.year, row.variant] for row in selection.itertuples()]
    return pd.concat(parts).rename("walk_forward") if parts else pd.Series(dtype=float, name="walk_forward")


# -- pictures ---------------------------------------------------------------------------------------------------
def svg_text(fig: Figure) -> str:
    import matplotlib as mpl

    buf = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": "regimeshift", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})  # same sweep, same bytes
    text = buf.getvalue()
    return text[text.index("<svg"):]


def new_figure(w: float = 5.0, h: float = 3.4) -> tuple[Figure, Any]:
    fig = Figure(figsize=(w, h))
    FigureCanvasSVG(fig)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.16, right=0.97, bottom=0.17, top=0.9)
    return fig, ax


def param_plots(table: pd.DataFrame, swept: Sequence[str], metric: str) -> list[str]:
    """Metric against each swept parameter (every variant a dot, the mean per value a line for numbers)."""
    ok = table[table["status"] == "ok"]
    out = []
    for key in swept:
        fig, ax = new_figure()
        col = ok[key]
        numeric = pd.to_numeric(col, errors="coerce")
        if numeric.notna().all() and col.map(lambda x: not isinstance(x, bool)).all():
            ax.scatter(numeric, ok[metric], s=8, alpha=0.5, color="#1f77b4")
            groups = numeric if numeric.nunique() <= 12 else pd.cut(numeric, 10).map(lambda iv: iv.mid).astype(float)
            means = ok.groupby(groups)[metric].mean()  # many distinct values (random draws): 10 bins
            ax.plot(means.index, means.to_numpy(), color="#d62828", lw=1.5, label="mean")
            ax.legend(fontsize=7, frameon=False)
        else:
            cats = sorted(col.astype(str).unique())
            pos = {c: i for i, c in enumerate(cats)}
            ax.scatter(col.astype(str).map(pos), ok[metric], s=8, alpha=0.5, color="#1f77b4")
            ax.set_xticks(range(len(cats)), [c[:18] for c in cats], fontsize=7)
        ax.set_xlabel(key, fontsize=8)
        ax.set_ylabel(metric, fontsize=8)
        ax.set_title(f"{metric} vs {key}", fontsize=9)
        out.append(svg_text(fig))
    return out


def _axis(col: pd.Series) -> pd.Series:
    """A heatmap axis: the values themselves, or 8 bins of a parameter with many numeric values."""
    numeric = pd.to_numeric(col, errors="coerce")
    if col.nunique() > 12 and numeric.notna().all():
        return pd.cut(numeric, 8, precision=3).astype(str)
    return col.astype(str)


def heatmap(table: pd.DataFrame, keys: Sequence[str], metric: str) -> str | None:
    """Mean metric over the first two swept parameters."""
    if len(keys) < 2:
        return None
    ok = table[table["status"] == "ok"]
    a, b = keys[0], keys[1]
    pivot = ok.assign(**{a: _axis(ok[a]), b: _axis(ok[b])}).pivot_table(
        index=a, columns=b, values=metric, aggfunc="mean", observed=True)
    if pivot.empty:
        return None
    fig, ax = new_figure(5.5, 4.0)
    im = ax.imshow(pivot.to_numpy(dtype=float), cmap="viridis", aspect="auto", origin="lower")
    ax.set_xticks(range(pivot.shape[1]), [str(c)[:10] for c in pivot.columns], fontsize=7)
    ax.set_yticks(range(pivot.shape[0]), [str(c)[:10] for c in pivot.index], fontsize=7)
    if pivot.size <= 100:
        for (i, j), val in np.ndenumerate(pivot.to_numpy(dtype=float)):
            if np.isfinite(val):
                ax.text(j, i, f"{val:.2f}", ha="center", va="center", fontsize=6, color="white")
    ax.set_xlabel(b, fontsize=8)
    ax.set_ylabel(a, fontsize=8)
    ax.set_title(f"mean {metric}", fontsize=9)
    fig.colorbar(im, ax=ax)
    return svg_text(fig)


def spread_labels(y: Sequence[float], gap: float, low: float = 0.0, high: float = 1.0) -> list[float]:
    """Label heights near ``y`` (same order) at least ``gap`` apart inside [low, high] (room permitting:
    ``(len(y) - 1) * gap <= high - low``): sorted, each pushed up past its lower neighbour, then, if the stack
    overran the top, pushed down from the top the same way (deterministic; a 1-D repel)."""
    order = sorted(range(len(y)), key=lambda i: (y[i], i))
    placed: list[float] = []
    for i in order:
        want = min(max(float(y[i]), low), high)
        placed.append(max(want, placed[-1] + gap) if placed else want)
    if placed and placed[-1] > high:
        placed[-1] = high
        for k in range(len(placed) - 2, -1, -1):
            placed[k] = min(placed[k], placed[k + 1] - gap)
    out = [0.0] * len(y)
    for i, p in zip(order, placed):
        out[i] = p
    return out


def risk_scatter(table: pd.DataFrame, top: int) -> str:
    """Sharpe against max drawdown for every screened variant, the top N marked; their rank labels sit in a
    column right of the axes at heights spread apart, each joined to its point by a line, so none overlaps
    another whatever the points' positions (each label is an SVG group ``toplabel_<rank>``)."""
    ok = table[table["status"] == "ok"]
    fig, ax = new_figure(5.5, 3.8)
    fig.subplots_adjust(right=0.86)
    ax.scatter(100 * ok["max_drawdown"], ok["sharpe"], s=8, alpha=0.5, color="#7f7f7f", label="variants")
    best = ok.head(top)
    best = best[np.isfinite(best["max_drawdown"].astype(float)) & np.isfinite(best["sharpe"].astype(float))]
    if len(best):
        ax.scatter(100 * best["max_drawdown"], best["sharpe"], s=40, facecolors="none", edgecolors="#d62828",
                   label=f"top {len(best)}")
        lo, hi = ax.get_ylim()
        ys = [(float(v) - lo) / (hi - lo) if hi > lo else 0.5 for v in best["sharpe"]]
        labelled = best.head(MAX_LABELS)  # beyond that the labels could only get too small to read
        gap = 0.075 if len(labelled) <= 12 else 1.0 / len(labelled)  # 7 (5) pt text on a ~200 pt high axes
        for row, y in zip(labelled.itertuples(), spread_labels(ys[: len(labelled)], gap)):
            ann = ax.annotate(str(row.rank), xy=(100 * row.max_drawdown, row.sharpe), xycoords="data",
                              xytext=(1.03, y), textcoords="axes fraction", fontsize=7 if len(labelled) <= 12 else 5,
                              va="center", ha="left", color="#d62828",
                              arrowprops={"arrowstyle": "-", "color": "#d62828", "lw": 0.5, "alpha": 0.6,
                                          "shrinkA": 0, "shrinkB": 3})
            ann.set_gid(f"toplabel_{row.rank}")
    ax.set_xlabel("max drawdown (%)", fontsize=8)
    ax.set_ylabel("Sharpe (daily excess returns)", fontsize=8)
    ax.set_title("Sharpe vs max drawdown", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return svg_text(fig)


# -- page -------------------------------------------------------------------------------------------------------
def _fmt(key: str, x: Any) -> str:
    if isinstance(x, float):
        if not math.isfinite(x):
            return "n/a"
        if key == "dsr":
            return format_probability(x)  # 0.980 and 0.9994 must not both read 1.00
        if key in PERCENT_COLUMNS:
            return f"{100 * x:.2f}%"
        if key in POINTS_COLUMNS:
            return f"{100 * x:+.2f} pts"
        if key == "timing_sharpe":
            return f"{x:+.2f}"
        if key in ("costs", "final_value"):
            return f"{x:,.0f}"
        return f"{x:.4g}" if key not in ("sharpe", "twin_sharpe", "sortino", "calmar", "turnover") else f"{x:.2f}"
    return html.escape(str(x))


COLUMN_NOTES = {
    "sharpe": "daily excess returns, x sqrt(252)",
    "sortino": "daily excess returns, x sqrt(252)",
    "twin_sharpe": "the variant's static twin (its average weights held, same execution)",
    "timing_sharpe": "value of timing: sharpe minus twin_sharpe",
    "timing_cagr": "CAGR minus the static twin's",
    "timing_max_drawdown": "max drawdown minus the static twin's (positive: shallower)",
    "dsr": "deflated Sharpe: P[true Sharpe > expected best of the unskilled trials], daily excess returns",
}


def _links(links: Sequence[tuple[str, str]]) -> str:
    if not links:
        return ""
    items = "".join(f'<li><a href="{html.escape(href)}">{html.escape(text)}</a></li>' for text, href in links)
    return f'<section id="links"><h2>Tearsheets</h2><ul>{items}</ul></section>'


def render_html(name: str, table: pd.DataFrame, summary: dict[str, Any], pictures: dict[str, list[str]],
                max_rows: int = 200, links: Sequence[tuple[str, str]] = (),
                row_links: dict[int, str] | None = None) -> str:
    """A self-contained page: no script, no remote resource. ``links``: (text, relative href) of the top N's
    and the walk-forward tearsheets; ``row_links``: variant -> its tearsheet, linked from its row. The table
    scrolls sideways in its own box with the variant column fixed, so every column is reachable at any width."""
    shown = table.head(max_rows)
    cols = ["variant", *[c for c in shown.columns if c not in ("key", "variant", "dsr")]]
    if "dsr" in shown.columns:  # beside the Sharpe it deflates, not after the reasons
        cols.insert(cols.index("sharpe") + 1 if "sharpe" in cols else len(cols), "dsr")
    row_links = row_links or {}

    def head(c: str) -> str:
        note = COLUMN_NOTES.get(c)
        return f'<th title="{html.escape(note)}">{html.escape(c)}</th>' if note else f"<th>{html.escape(c)}</th>"

    def cell(c: str, row: Any) -> str:
        text = _fmt(c, row[c])
        if c == "variant" and int(row[c]) in row_links:
            text = f'<a href="{html.escape(row_links[int(row[c])])}">{text}</a>'
        return f"<td>{text}</td>"

    body = "".join("<tr>" + "".join(cell(c, row) for c in cols) + "</tr>" for _, row in shown.iterrows())
    facts = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in summary.items()
                    if not k.startswith("_"))
    figs = "".join(
        f'<section id="{html.escape(sec)}"><h2>{html.escape(sec.replace("-", " "))}</h2>'
        + "".join(f"<figure>{svg}</figure>" for svg in svgs) + "</section>"
        for sec, svgs in pictures.items() if svgs
    )
    notes = "".join(f"<li><b>{html.escape(c)}</b>: {html.escape(n)}</li>" for c, n in COLUMN_NOTES.items()
                    if c in cols)
    more = f"<p>Showing the first {max_rows} of {len(table)} rows; leaderboard.csv has all.</p>" if len(table) > max_rows else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sweep {html.escape(name)}</title>
<link rel="icon" href="data:,">
<style>
body {{ font-family: sans-serif; margin: 1.5em; color: #222; max-width: 1400px; }}
table {{ border-collapse: separate; border-spacing: 0; font-size: 12px; }}
td, th {{ border: 1px solid #ccc; padding: 2px 6px; text-align: right; white-space: nowrap; background: #fff; }}
#summary th {{ text-align: left; }}
#summary td {{ white-space: normal; text-align: left; }}
.scroll {{ overflow-x: auto; max-width: 100%; }}
#leaderboard th:first-child, #leaderboard td:first-child {{ position: sticky; left: 0; z-index: 1;
  background: #f4f4f4; }}
#leaderboard thead th {{ background: #f4f4f4; }}
.basis {{ font-size: 13px; color: #333; }}
.notes {{ font-size: 12px; color: #555; }}
figure {{ display: inline-block; margin: 0.5em; }}
figure svg {{ max-width: 560px; height: auto; }}
</style></head><body>
<h1>Sweep: {html.escape(name)}</h1>
<table id="summary">{facts}</table>
{_links(links)}
<h2>Leaderboard</h2>
<p class="basis">{html.escape(str(summary.get("basis", "")))}</p>{more}
<div class="scroll"><table id="leaderboard"><thead><tr>{"".join(head(c) for c in cols)}</tr></thead><tbody>{body}</tbody></table></div>
<ul class="notes">{notes}</ul>
{figs}
</body></html>
"""
