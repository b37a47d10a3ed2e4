"""The figures of QuantStats' tearsheet, drawn from the same series with ``reports.svg_chart`` (no matplotlib,
no QuantStats import).

Each figure shows what QuantStats' figure of the same name shows (same series, windows, compounding and
titles), and says its basis where QuantStats left it to the page header: the rolling ratios' rate, every
window's length in trading days, the frequency a distribution is taken at. Drawing them natively is what
brings the page from seconds to a few hundred milliseconds (``benchmarks/report_speed.py``).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from regimeshift.reports.svg_chart import Chart, coord, date_num, esc, nice_ticks, num_label, pct_label, tick_decimals

STRATEGY_COLOUR = "#348dc1"  # QuantStats' colours: strategy blue, benchmark yellow, accents red and green
BENCHMARK_COLOUR = "#fedd78"
RED = "#af4b64"
GREEN = "#4fa487"
GREY = "#808080"
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass(frozen=True)
class FigureInputs:
    """Strategy and benchmark daily returns on the same dates (no NaN), the daily risk-free rate on those dates
    (None: ratios over a zero rate) and the names to show."""

    returns: pd.Series
    benchmark: pd.Series
    benchmark_name: str
    strategy_name: str = "Strategy"
    risk_free: pd.Series | None = None
    risk_free_label: str | None = None
    periods_per_year: int = 252
    drawdowns: pd.DataFrame | None = None  # the strategy's drawdown table (qs_tables.drawdown_details), if known

    @property
    def half_year(self) -> int:
        return int(math.ceil(self.periods_per_year / 2))


def _pct_axis(values: np.ndarray, chart: Chart, n: int = 5) -> tuple[np.ndarray, Callable[[float], str]]:
    ticks = nice_ticks(chart.y0, chart.y1, n)
    return ticks, pct_label(tick_decimals(ticks, 100))


def _cumulative(r: pd.Series) -> np.ndarray:
    return np.cumprod(1.0 + r.to_numpy(dtype=float)) - 1.0


def _time_chart(fi: FigureInputs, title: str, height: float, ident: str) -> tuple[Chart, np.ndarray]:
    x = date_num(fi.returns.index)
    chart = Chart(height=height, title=title, ident=ident)
    chart.set_x(x[0], x[-1])
    return chart, x


def cumulative_returns(fi: FigureInputs, ident: str = "returns", height: float = 360.0) -> str:
    """QuantStats' "Cumulative Returns vs Benchmark": growth of 1 compounded daily, as a return."""
    chart, x = _time_chart(fi, "Cumulative Returns vs Benchmark (compounded daily)", height, ident)
    s, b = _cumulative(fi.returns), _cumulative(fi.benchmark)
    chart.fit_y(s, b, include=[0.0])
    chart.hline(0.0, "#000000", 0.8)
    chart.line(x, b, BENCHMARK_COLOUR, fi.benchmark_name, 1.4)
    chart.line(x, s, STRATEGY_COLOUR, fi.strategy_name, 1.4)
    ticks, fmt = _pct_axis(s, chart)
    return chart.svg(yfmt=fmt, yticks=ticks)


def log_returns(fi: FigureInputs, ident: str = "log_returns") -> str:
    """Cumulative returns on a log scale (equal vertical distances are equal growth rates)."""
    chart, x = _time_chart(fi, "Cumulative Returns vs Benchmark (Log Scaled)", 288.0, ident)
    s, b = np.log10(1.0 + _cumulative(fi.returns)), np.log10(1.0 + _cumulative(fi.benchmark))
    chart.fit_y(s, b, include=[0.0])
    chart.hline(0.0, "#000000", 0.8)
    chart.line(x, b, BENCHMARK_COLOUR, fi.benchmark_name, 1.4)
    chart.line(x, s, STRATEGY_COLOUR, fi.strategy_name, 1.4)
    # ticks at round growth multiples (1x, 2x, 5x, 10x ...), labelled as the cumulative return they are
    lo, hi = chart.y0, chart.y1
    mults = [m * 10 ** k for k in range(-3, 5) for m in (1, 2, 5)]
    ticks = np.array([math.log10(m) for m in mults if lo <= math.log10(m) <= hi])
    if len(ticks) < 3:
        ticks = nice_ticks(lo, hi)
    labels = [pct_label(0)(10 ** t - 1.0) for t in ticks]
    return chart.svg(yticks=ticks, ylabels=labels)


def volatility_matched(fi: FigureInputs, ident: str = "vol_returns") -> str:
    """The strategy's daily returns scaled to the benchmark's volatility, compounded (QuantStats' match_volatility)."""
    r, b = fi.returns.to_numpy(float), fi.benchmark.to_numpy(float)
    sd_r, sd_b = np.std(r, ddof=1), np.std(b, ddof=1)
    scaled = r / sd_r * sd_b if sd_r > 0 else r
    chart, x = _time_chart(fi, "Cumulative Returns vs Benchmark (Volatility Matched)", 288.0, ident)
    s, bb = np.cumprod(1.0 + scaled) - 1.0, np.cumprod(1.0 + b) - 1.0
    chart.fit_y(s, bb, include=[0.0])
    chart.hline(0.0, "#000000", 0.8)
    chart.line(x, bb, BENCHMARK_COLOUR, fi.benchmark_name, 1.4)
    chart.line(x, s, STRATEGY_COLOUR, f"{fi.strategy_name} (scaled to {fi.benchmark_name}'s volatility)", 1.4)
    ticks, fmt = _pct_axis(s, chart)
    return chart.svg(yfmt=fmt, yticks=ticks)


def compounded_by(r: pd.Series, freq: str) -> pd.Series:
    """Returns compounded over calendar periods ("W" weeks ending Friday, "ME" months, "QE" quarters, "YE" years),
    only the periods with data."""
    idx = pd.DatetimeIndex(r.index)
    if freq == "W":
        key = idx.to_period("W-FRI")
    elif freq == "ME":
        key = idx.to_period("M")
    elif freq == "QE":
        key = idx.to_period("Q")
    else:
        key = idx.to_period("Y")
    return (1.0 + r).groupby(key).prod() - 1.0


def monthly_distribution(fi: FigureInputs, ident: str = "monthly_dist") -> str:
    """Histogram of monthly (compounded) returns, strategy over benchmark, with each one's average."""
    s, b = compounded_by(fi.returns, "ME").to_numpy(), compounded_by(fi.benchmark, "ME").to_numpy()
    both = np.r_[s, b]
    lo, hi = float(both.min()), float(both.max())
    edges = np.linspace(lo, hi if hi > lo else lo + 1e-3, 21)
    hs, _ = np.histogram(s, edges)
    hb, _ = np.histogram(b, edges)
    chart = Chart(width=504.0, height=288.0, title="Distribution of Monthly Returns (calendar months, compounded)",
                  ident=ident)
    chart.set_x(edges[0], edges[-1])
    chart.set_y(0.0, float(max(hs.max(), hb.max(), 1)), pad=0.05)
    chart.y0 = 0.0
    chart.bars(edges[:-1], edges[1:], hb, BENCHMARK_COLOUR, 0.6, fi.benchmark_name)
    chart.bars(edges[:-1], edges[1:], hs, STRATEGY_COLOUR, 0.55, fi.strategy_name)
    chart.vline(float(b.mean()), "#c9a227", 1.2, "4,3")
    chart.vline(float(s.mean()), RED, 1.2, "4,3")
    chart.legend.append((f"{fi.benchmark_name} average", "#c9a227", "line"))
    chart.legend.append((f"{fi.strategy_name} average", RED, "line"))
    xt = nice_ticks(edges[0], edges[-1], 6)
    fmt = pct_label(tick_decimals(xt, 100))
    xticks = [(float(t), fmt(t)) for t in xt if edges[0] <= t <= edges[-1]]
    counts = nice_ticks(0.0, chart.y1, 4)
    counts = counts[counts == np.round(counts)]
    return chart.svg(xaxis=xticks, yticks=counts, yfmt=num_label(0), ylabel="Months")


def daily_returns(fi: FigureInputs, ident: str = "daily_returns") -> str:
    chart, x = _time_chart(fi, "Daily Returns", 216.0, ident)
    r = fi.returns.to_numpy(float)
    chart.fit_y(r, include=[0.0])
    chart.hline(0.0, "#000000", 0.8)
    chart.line(x, r, STRATEGY_COLOUR, fi.strategy_name, 0.8)
    ticks, fmt = _pct_axis(r, chart)
    return chart.svg(yfmt=fmt, yticks=ticks)


def rolling_beta(fi: FigureInputs, ident: str = "rolling_beta") -> str:
    """Beta to the benchmark over the last half year and year of trading days (covariance / variance)."""
    r, b = fi.returns, fi.benchmark
    chart, x = _time_chart(fi, f"Rolling Beta to {fi.benchmark_name} ({fi.half_year} and {fi.periods_per_year} "
                               "trading days)", 216.0, ident)
    half = (r.rolling(fi.half_year).cov(b) / b.rolling(fi.half_year).var()).to_numpy(float)
    year = (r.rolling(fi.periods_per_year).cov(b) / b.rolling(fi.periods_per_year).var()).to_numpy(float)
    chart.fit_y(half, year, include=[0.0])
    chart.hline(float(np.nanmean(half)) if np.isfinite(half).any() else math.nan, RED, 1.0, "4,3")
    chart.line(x, half, STRATEGY_COLOUR, f"{fi.half_year} days", 1.2)
    chart.line(x, year, GREY, f"{fi.periods_per_year} days", 1.2, opacity=0.8)
    chart.legend.append(("Average (" + str(fi.half_year) + " days)", RED, "line"))
    return chart.svg()


def rolling_volatility(fi: FigureInputs, ident: str = "rolling_vol") -> str:
    w, n = fi.half_year, fi.periods_per_year
    chart, x = _time_chart(fi, f"Rolling Volatility ({w} trading days, annualised x sqrt({n}))", 216.0, ident)
    s = (fi.returns.rolling(w).std() * math.sqrt(n)).to_numpy(float)
    b = (fi.benchmark.rolling(w).std() * math.sqrt(n)).to_numpy(float)
    chart.fit_y(s, b, include=[0.0])
    chart.hline(float(np.nanmean(s)) if np.isfinite(s).any() else math.nan, RED, 1.0, "4,3")
    chart.line(x, b, BENCHMARK_COLOUR, fi.benchmark_name, 1.2)
    chart.line(x, s, STRATEGY_COLOUR, fi.strategy_name, 1.2)
    ticks, fmt = _pct_axis(s, chart)
    return chart.svg(yfmt=fmt, yticks=ticks)


def _excess(fi: FigureInputs) -> pd.Series:
    if fi.risk_free is None:
        return fi.returns
    return fi.returns - fi.risk_free.reindex(fi.returns.index).fillna(0.0)


def _basis(fi: FigureInputs) -> str:
    return f"excess over {fi.risk_free_label}" if fi.risk_free_label else "over a 0% rate"


def rolling_sharpe(fi: FigureInputs, ident: str = "rolling_sharpe") -> str:
    """Mean over standard deviation of daily excess returns over the window, times sqrt(periods a year)."""
    w, n = fi.half_year, fi.periods_per_year
    ex = _excess(fi)
    val = (ex.rolling(w).mean() / ex.rolling(w).std() * math.sqrt(n)).to_numpy(float)
    return _rolling_ratio_chart(fi, f"Rolling Sharpe ({w} trading days, {_basis(fi)})", val, ident)


def _rolling_ratio_chart(fi: FigureInputs, title: str, val: np.ndarray, ident: str) -> str:
    """A rolling ratio's line with its zero line and its average dashed (QuantStats' layout for both ratios)."""
    chart, x = _time_chart(fi, title, 216.0, ident)
    chart.fit_y(val, include=[0.0])
    chart.hline(0.0, "#000000", 0.8)
    chart.hline(float(np.nanmean(val)) if np.isfinite(val).any() else math.nan, RED, 1.0, "4,3")
    chart.line(x, val, STRATEGY_COLOUR, fi.strategy_name, 1.2)
    chart.legend.append(("Average", RED, "line"))
    return chart.svg()


def rolling_sortino(fi: FigureInputs, ident: str = "rolling_sortino") -> str:
    """Mean daily excess return over the root mean square of the negative ones, over the window, annualised."""
    w, n = fi.half_year, fi.periods_per_year
    ex = _excess(fi)
    downside = (ex.clip(upper=0.0) ** 2).rolling(w).sum() / w
    val = (ex.rolling(w).mean() / np.sqrt(downside) * math.sqrt(n)).replace([np.inf, -np.inf], np.nan)
    val = val.to_numpy(float)
    return _rolling_ratio_chart(fi, f"Rolling Sortino ({w} trading days, {_basis(fi)})", val, ident)


def drawdown_series(r: pd.Series) -> pd.Series:
    """Loss from the running peak of the compounded value (0 at a new high), as the drawdown table measures it."""
    from regimeshift.reports.qs_tables import drawdown_series as table_drawdowns  # noqa: PLC0415

    return table_drawdowns(pd.DataFrame({"r": r.astype(float)}))["r"]


def worst_drawdown_periods(fi: FigureInputs, ident: str = "dd_periods", periods: int = 5) -> str:
    """Cumulative returns with the longest drawdown periods shaded (QuantStats' "Worst 5 Drawdown Periods")."""
    from regimeshift.reports.qs_tables import drawdown_details  # noqa: PLC0415  (the table's drawdowns, shaded)

    table = fi.drawdowns if fi.drawdowns is not None else drawdown_details(drawdown_series(fi.returns))
    table = table.sort_values("days", ascending=False, kind="mergesort").head(periods)
    chart, x = _time_chart(fi, f"{fi.strategy_name} - Worst {periods} Drawdown Periods (longest, calendar days)",
                           288.0, ident)
    s = _cumulative(fi.returns)
    chart.fit_y(s, include=[0.0])
    for row in table.itertuples():
        a, z = date_num(pd.DatetimeIndex([row.start, row.end]))
        chart.span(float(a), float(z), RED, 0.15)
    chart.hline(0.0, "#000000", 0.8)
    chart.line(x, s, STRATEGY_COLOUR, fi.strategy_name, 1.4)
    chart.legend.append(("Drawdown period", RED, "box"))
    ticks, fmt = _pct_axis(s, chart)
    return chart.svg(yfmt=fmt, yticks=ticks)


def underwater(fi: FigureInputs, ident: str = "dd_plot") -> str:
    dd = drawdown_series(fi.returns).to_numpy(float)
    chart, x = _time_chart(fi, "Underwater Plot (drawdown from the running peak)", 216.0, ident)
    chart.fit_y(dd, include=[0.0])
    chart.y1 = max(chart.y1, 0.0)
    chart.area(x, dd, RED, 0.0, 0.35)
    chart.line(x, dd, RED, None, 0.9)
    chart.hline(float(dd.mean()), GREY, 1.0, "4,3", label="Average")
    chart.hline(0.0, "#000000", 0.8)
    ticks, fmt = _pct_axis(dd, chart)
    return chart.svg(yfmt=fmt, yticks=ticks)


def _heat(v: float, vmax: float) -> str:
    """Red (loss) - pale yellow (0) - green (gain), as a hex colour."""
    t = max(-1.0, min(1.0, v / vmax)) if vmax > 0 else 0.0
    mid, red, green = (255, 255, 191), (215, 48, 39), (26, 152, 80)
    end = green if t >= 0 else red
    a = abs(t)
    rgb = tuple(round(m + (e - m) * a) for m, e in zip(mid, end))
    return "#%02x%02x%02x" % rgb


def monthly_heatmap(fi: FigureInputs, ident: str = "monthly_heatmap") -> str:
    """Year x month table of compounded monthly returns in %; months without data are left blank."""
    r = fi.returns
    monthly = compounded_by(r, "ME")
    years = list(range(monthly.index.min().year, monthly.index.max().year + 1))
    values = {(p.year, p.month): float(v) for p, v in monthly.items()}
    vmax = max((abs(v) for v in values.values()), default=0.0)
    cell_h = 16.0
    top, left, bottom = 40.0, 44.0, 24.0
    width = 576.0
    height = top + bottom + cell_h * len(years)
    cw = (width - left - 10.0) / 12
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{coord(width)}pt" height="{coord(height)}pt" '
           f'viewBox="0 0 {coord(width)} {coord(height)}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif">',
           '<rect width="100%" height="100%" fill="#ffffff"/>',
           f'<text x="{coord(left)}" y="16" font-size="12" font-weight="bold" fill="#333333">'
           f'{esc(fi.strategy_name)} - Monthly Returns (%, compounded)</text>']
    cells, labels = [], []
    for i, yr in enumerate(years):
        y = top + i * cell_h
        for m in range(12):
            x = left + m * cw
            v = values.get((yr, m + 1))
            fill = "none" if v is None else _heat(v, vmax)
            cells.append(f'<path d="M{coord(x)},{coord(y)}h{coord(cw)}v{coord(cell_h)}h{coord(-cw)}Z" fill="{fill}" '
                         f'stroke="#ffffff" stroke-width="0.5"/>')
            if v is not None:
                labels.append(f'<text x="{coord(x + cw / 2)}" y="{coord(y + cell_h * 0.7)}" font-size="8.5" '
                              f'text-anchor="middle" fill="#222222">{100 * v:.2f}</text>')
        labels.append(f'<g id="ytick_{i + 1}"><g id="text_y{i + 1}"><text x="{coord(left - 5)}" '
                      f'y="{coord(y + cell_h * 0.7)}" font-size="9" text-anchor="end" fill="#333333">{yr}</text></g></g>')
    heads = "".join(f'<g id="xtick_{m + 1}"><g id="text_x{m + 1}"><text x="{coord(left + (m + 0.5) * cw)}" '
                    f'y="{coord(top - 5)}" font-size="9" text-anchor="middle" fill="#333333">{name}</text></g></g>'
                    for m, name in enumerate(MONTHS))
    out.append('<g id="QuadMesh_1">' + "".join(cells) + "</g>")
    out.append('<g id="yaxis_1">' + "".join(labels) + "</g>")
    out.append('<g id="xaxis_1">' + heads + "</g>")
    out.append("</svg>")
    return "".join(out)


def return_quantiles(fi: FigureInputs, ident: str = "returns_dist") -> str:
    """Box plots of the strategy's returns per day, week (to Friday), month, quarter and year: quartiles as the
    box, the median as its line, whiskers to the furthest value within 1.5 IQR, points beyond them."""
    groups = [("Daily", fi.returns), ("Weekly", compounded_by(fi.returns, "W")),
              ("Monthly", compounded_by(fi.returns, "ME")), ("Quarterly", compounded_by(fi.returns, "QE")),
              ("Yearly", compounded_by(fi.returns, "YE"))]
    colours = ("#fedd78", "#348dc1", "#af4b64", "#4fa487", "#9b59b6")
    chart = Chart(height=288.0, title=f"{fi.strategy_name} - Return Quantiles", ident=ident)
    allv = np.concatenate([g.to_numpy(float) for _, g in groups])
    chart.set_x(0.0, float(len(groups)))
    chart.fit_y(allv, include=[0.0])
    chart.hline(0.0, "#000000", 0.6)
    for k, ((name, g), colour) in enumerate(zip(groups, colours)):
        v = g.to_numpy(float)
        v = v[np.isfinite(v)]
        if not v.size:
            continue
        q1, med, q3 = np.percentile(v, [25, 50, 75])
        iqr = q3 - q1
        inside = v[(v >= q1 - 1.5 * iqr) & (v <= q3 + 1.5 * iqr)]
        lo, hi = float(inside.min()), float(inside.max())
        xa, xb = chart.px(k + 0.2), chart.px(k + 0.8)
        xm = chart.px(k + 0.5)
        py = chart.py
        chart.parts.append(
            f'<line x1="{coord(xm)}" x2="{coord(xm)}" y1="{coord(py(lo))}" y2="{coord(py(hi))}" stroke="#444444"/>'
            f'<rect x="{coord(xa)}" y="{coord(py(q3))}" width="{coord(xb - xa)}" height="{coord(max(py(q1) - py(q3), 0.5))}" '
            f'fill="{colour}" stroke="#444444" stroke-width="0.8"/>'
            f'<line x1="{coord(xa)}" x2="{coord(xb)}" y1="{coord(py(med))}" y2="{coord(py(med))}" stroke="#222222" '
            f'stroke-width="1.2"/>')
        out = v[(v < lo) | (v > hi)]
        if out.size:
            ys = np.unique(np.round(py(out), 1))
            chart.parts.append('<g fill="none" stroke="#444444" stroke-width="0.6">' + "".join(
                f'<circle cx="{coord(xm)}" cy="{coord(y)}" r="1.6"/>' for y in ys.tolist()) + "</g>")
    ticks, fmt = _pct_axis(allv, chart)
    return chart.svg(xaxis=[(k + 0.5, name) for k, (name, _) in enumerate(groups)], yfmt=fmt, yticks=ticks)


FIGURES: dict[str, Callable[[FigureInputs], str]] = {
    "returns": cumulative_returns,
    "log_returns": log_returns,
    "vol_returns": volatility_matched,
    "monthly_dist": monthly_distribution,
    "daily_returns": daily_returns,
    "rolling_beta": rolling_beta,
    "rolling_vol": rolling_volatility,
    "rolling_sharpe": rolling_sharpe,
    "rolling_sortino": rolling_sortino,
    "dd_periods": worst_drawdown_periods,
    "dd_plot": underwater,
    "monthly_heatmap": monthly_heatmap,
    "returns_dist": return_quantiles,
}


def draw_all(fi: FigureInputs) -> dict[str, str]:
    """Every figure of the QuantStats page, by its template placeholder."""
    return {key: draw(fi) for key, draw in FIGURES.items()}
