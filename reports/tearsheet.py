"""One HTML file: the regime story on top, the QuantStats tearsheet below, opening offline."""

from __future__ import annotations

import html
import logging
import math
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from regimeshift.core.atomic import atomic_write_text
from regimeshift.reports import regime_svg
from regimeshift.reports.qs_fixes import DROPPED_PIECES, fix_quantstats_page
from regimeshift.reports.inputs import ReportData
from regimeshift.reports.comparison import comparison_rows
from regimeshift.reports.metrics import (
    DEFAULT_STRESS_WINDOWS,
    most_probable_regime,
    regime_table,
    shock_loss,
    stress_table,
)
from regimeshift.reports.qs_report import (
    QSInputs,
    UnsupportedQuantStats,
    native_page,
    plain_html,
    quiet,
    render_page,
)

log = logging.getLogger(__name__)

METRIC_LABELS = {"cagr": "CAGR", "sharpe": "Sharpe", "sortino": "Sortino", "max_drawdown": "Max drawdown",
                 "volatility": "Volatility (ann.)", "turnover": "Turnover (ann.)", "n_trades": "Trades",
                 "n_rebalances": "Rebalances", "commission_paid": "Commission paid", "slippage_paid": "Slippage paid",
                 "costs_total": "Costs (total)", "cost_drag": "Cost drag (share of profit)",
                 "cost_drag_annual": "Cost drag (ann.)", "interest_earned": "Interest earned", "n_orders": "Orders",
                 "n_rejected_orders": "Rejected orders", "n_partial_orders": "Partially filled orders"}

STRATEGY_NAME = "Strategy"
PCT_KEYS = {"cagr", "max_drawdown", "volatility", "total_return", "cumulative_return", "win_rate", "exposure", "cost_drag", "cost_drag_annual", "avg_cash"}
TIMES_KEYS = {"turnover", "annual_turnover"}  # traded value / average value a year, as the comparison prints it
PROBABILITY_KEYS = {"psr", "dsr", "pbo"}
# Amounts in the run's currency (whatever initial_cash is in, so no symbol) and counts of things.
MONEY_KEYS = {"commission_paid", "slippage_paid", "costs_total", "interest_earned", "final_value", "initial_cash"}
COUNT_KEYS = {"n_trades", "n_rebalances", "n_orders", "n_rejected_orders", "n_partial_orders", "n_days"}

# Remote resources the QuantStats template links (favicon, project link); the page must open offline.
_REMOTE = r"""["']?\s*(?:https?:)?//"""
_RE_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*" + _REMOTE + r"[^>]*>\s*", re.I)
_RE_REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*" + _REMOTE + r"[^>]*>.*?</script>\s*", re.I | re.S)
_RE_REMOTE_ANCHOR = re.compile(r"<a\b[^>]*\bhref\s*=\s*" + _REMOTE + r"[^>]*>(.*?)</a>", re.I | re.S)
_RE_REMOTE_ATTR = re.compile(r"""\s(?:src|href|xlink:href)\s*=\s*(["'])\s*(?:https?:)?//.*?\1""", re.I | re.S)
_RE_CSS_URL = re.compile(r"""url\(\s*["']?\s*(?:https?:)?//[^)]*\)""", re.I)
_RE_TITLE = re.compile(r"<title>.*?</title>", re.I | re.S)
_RE_CONTAINER = re.compile(r"""<div\s+class=["']container["']\s*>""", re.I)
_RE_BODY = re.compile(r"<body\b[^>]*>", re.I)

CSS = """
<style>
#regime-story{margin:0 0 8px}
#regime-story h2{font-size:24px;font-weight:700;margin:0 0 2px}
#regime-story h3{margin:18px 0 8px}
#regime-story .run-title{font-size:15px;color:#333;margin:0 0 12px}
#regime-story .warning-banner{background:#fff4ce;border:1px solid #e3b400;border-left:6px solid #d98e00;
  color:#4a3600;padding:7px 12px;margin:0 0 8px;font-weight:700}
#regime-story .cols{display:flex;gap:28px;align-items:flex-start}
#regime-story .cols>div{flex:1 1 0;min-width:0}
#regime-story table{margin:0 0 18px;width:100%}
#regime-story table.config td:first-of-type{color:#555;white-space:nowrap;padding-right:14px}
#regime-story table.config td:last-of-type{text-align:left}
#regime-story th.group{text-align:center;border-bottom:1px solid #ccc}
#regime-story figure{margin:0 0 10px}
#regime-story figure svg{width:100%;height:auto;display:block}
#regime-story .note{color:#666;font-size:12px;margin:-10px 0 16px}
#regime-story .shock{font-size:14px;margin:0 0 16px}
#regime-story .timing{font-size:14px;margin:-8px 0 16px;font-weight:600}
#regime-story hr{margin:20px 0 30px}
</style>
"""


# ----------------------------------------------------------------------------------------------- formatting
def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _is_missing(x: Any) -> bool:
    try:
        return x is None or (isinstance(x, (float, np.floating)) and math.isnan(x))
    except TypeError:
        return False


def _pct(x: Any, decimals: int = 1) -> str:
    if _is_missing(x):
        return "–"
    if isinstance(x, (float, np.floating)) and math.isinf(x):
        return "∞"
    text = f"{float(x) * 100:.{decimals}f}"
    if float(text) == 0.0:
        text = text.lstrip("-")  # no "-0.0%"
    return f"{text}%"


def _num(x: Any, decimals: int = 2) -> str:
    if _is_missing(x):
        return "–"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    if isinstance(x, (float, np.floating)):
        return "∞" if math.isinf(x) else f"{float(x):,.{decimals}f}"
    return str(x)


def _money(x: Any) -> str:
    """Thousands separated; whole units at portfolio scale, cents only where they are visible (< 100)."""
    if _is_missing(x):
        return "–"
    v = float(x)
    if math.isinf(v):
        return "∞"
    text = f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"
    return text.lstrip("-") if not any(c in "123456789" for c in text) else text  # no "-0.00"


def _count(x: Any) -> str:
    if _is_missing(x):
        return "–"
    v = float(x)
    return "∞" if math.isinf(v) else f"{int(round(v)):,}"


def format_probability(x: Any) -> str:
    """A probability with the digits that tell values apart near 1 (0.980 and 0.9994 must not both read 1.00)."""
    if _is_missing(x):
        return "–"
    v = float(x)
    if v > 0.999:
        return "> 0.999"
    if v < 0.001:
        return "< 0.001"
    return f"{v:.3f}"


def format_metric(key: str, x: Any) -> str:
    """A headline metric as the tearsheet shows it: percent, money, count, times a year or a 2-decimal number."""
    if key in PROBABILITY_KEYS:
        return format_probability(x)
    if key in TIMES_KEYS:
        return "–" if _is_missing(x) else f"{float(x):.2f}x"
    if key in PCT_KEYS:
        return _pct(x)
    if key in MONEY_KEYS:
        return _money(x)
    if key in COUNT_KEYS:
        return _count(x)
    return _num(x)


def _date(t: Any) -> str:
    return pd.Timestamp(t).strftime("%Y-%m-%d")


def _table(header_rows: Sequence[Sequence[tuple[str, int]]], rows: Sequence[Sequence[str]],
           cls: str = "", escape_body: bool = True) -> str:
    """Plain HTML table. header_rows: rows of (text, colspan); all text is escaped."""
    out = [f'<table class="{cls}">' if cls else "<table>"]
    if header_rows:
        out.append("<thead>")
        for hr in header_rows:
            cells = "".join(
                f'<th colspan="{span}" class="group">{_esc(text)}</th>' if span > 1 else f"<th>{_esc(text)}</th>"
                for text, span in hr
            )
            out.append(f"<tr>{cells}</tr>")
        out.append("</thead>")
    out.append("<tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{_esc(c) if escape_body else c}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------- sections
def align_inputs(data: ReportData) -> tuple[pd.Series, pd.Series, int]:
    """Strategy returns without NaN, benchmark read on exactly those dates (missing days -> 0, counted)."""
    returns = pd.Series(data.returns, dtype=float).dropna().sort_index()
    if returns.empty:
        raise ValueError("ReportData.returns is empty")
    if not isinstance(returns.index, pd.DatetimeIndex):
        raise TypeError("ReportData.returns needs a DatetimeIndex")
    bench = pd.Series(data.benchmark, dtype=float)
    bench = bench[~bench.index.duplicated(keep="last")].reindex(returns.index)
    n_missing = int(bench.isna().sum())
    return returns.rename(STRATEGY_NAME), bench.fillna(0.0).rename(data.benchmark_name), n_missing


def _header_html(data: ReportData, returns: pd.Series) -> str:
    cfg_rows = [(k, v) for k, v in data.config_summary.items()]
    probs = data.probabilities.dropna(how="all")
    cfg_rows.append(("Data range", f"{_date(returns.index[0])} to {_date(returns.index[-1])} "
                                   f"({len(returns):,} trading days)"))
    if not probs.empty:
        cfg_rows.append(("Regimes from", f"{_date(probs.index[0])} (first day with a fitted model; earlier days have no regime)"))
    cfg_rows.append(("Model refits", _num(len(data.refit_dates))))
    ncv = data.metrics.get("n_nonconverged") if isinstance(data.metrics, Mapping) else None
    cfg_rows.append(("Non-converged refits", "n/a" if ncv is None else _num(ncv)))
    left = "<h3>Run</h3>" + _table([], [(k, v) for k, v in cfg_rows], cls="config")

    metrics = data.metrics if isinstance(data.metrics, Mapping) else {}
    right = _comparison_html(metrics) + _execution_html(metrics)
    return f'<div class="cols"><div>{left}</div><div>{right}</div></div>'


def _comparison_html(metrics: Mapping[str, Any]) -> str:
    """The strategy beside its static twin, equal weight, 60/40 and the benchmark held, on the run's basis, then
    the value of timing in one sentence (reports/comparison.py, reports/timing.py)."""
    titles, rows = comparison_rows(metrics)
    if not titles:
        return ""
    table = _table([[("", 1), *((t, 1) for t in titles)]], [(label, *cells) for label, cells in rows],
                   cls="comparison")
    parts = ['<h3 id="comparison-title">Strategy beside the same sleeves held</h3>', table]
    if metrics.get("basis"):
        parts.append(f'<p class="note" id="basis">{_esc(metrics["basis"])}. All five replayed with the run\'s '
                     "execution and costs; the static twin holds the strategy's average weights, rebalanced on "
                     "its calendar.</p>")
    timing = metrics.get("timing")
    if isinstance(timing, Mapping) and timing.get("sentence"):
        parts.append(f'<p class="timing" id="value-of-timing">{_esc(timing["sentence"])}</p>')
    return "\n".join(parts)


EXECUTION_ROWS = (("initial_cash", "Initial capital"), ("turnover", "Turnover (ann.)"), ("n_trades", "Trades (fills)"),
                  ("n_rebalances", "Rebalances"), ("commission_paid", "Commission paid"),
                  ("slippage_paid", "Slippage paid"), ("costs_total", "Costs (total)"),
                  ("cost_drag", "Cost drag (share of profit)"), ("cost_drag_annual", "Cost drag (ann.)"),
                  ("interest_earned", "Interest earned"), ("n_rejected_orders", "Rejected orders"),
                  ("n_partial_orders", "Partially filled orders"), ("psr", "Probabilistic Sharpe (> 0)"),
                  ("calmar", "Calmar (CAGR / max drawdown)"))


# metrics.json "trades": the fills as FIFO round trips (round_trips.csv), profit and loss after costs
TRADE_ROWS = (("count", "Round trips (FIFO)", _count), ("win_rate", "Round trips won", lambda x: _pct(x, 1)),
              ("avg_win", "Average win", _money), ("avg_loss", "Average loss", _money),
              ("profit_factor", "Profit factor (wins / losses)", _num),
              ("avg_holding_days", "Average holding (calendar days)", lambda x: _num(x, 0)),
              ("largest_loss", "Largest loss", _money))


def _execution_html(metrics: Mapping[str, Any]) -> str:
    """The strategy's own execution and cost figures (one row each; the benchmarks' are in metrics.json)."""
    strat = metrics.get("strategy")
    if not isinstance(strat, Mapping):
        return ""
    values = {**strat, "initial_cash": metrics.get("initial_cash")}
    rows = [(label, format_metric(key, values.get(key))) for key, label in EXECUTION_ROWS
            if key in values and values.get(key) is not None]
    trades = metrics.get("trades")
    if isinstance(trades, Mapping) and trades.get("count"):
        rows += [(label, fmt(trades.get(key))) for key, label, fmt in TRADE_ROWS]
    return "<h3>Strategy execution</h3>" + _table([[("Metric", 1), (STRATEGY_NAME, 1)]], rows)


def _regime_table_html(data: ReportData, returns: pd.Series, benchmark: pd.Series) -> str:
    names = [str(c) for c in data.probabilities.columns]
    probs = data.probabilities.copy()
    probs.columns = names
    regime = most_probable_regime(probs)
    table = regime_table(returns, benchmark, regime, order=names, risk_free=data.risk_free)
    rows = []
    for name, r in table.iterrows():
        rows.append((name, _num(int(r["days"])), _pct(r["share"]),
                     _pct(r["strategy_ann_return"]), _pct(r["strategy_volatility"]), _num(r["strategy_sharpe"]),
                     _pct(r["strategy_max_drawdown"]),
                     _pct(r["benchmark_ann_return"]), _pct(r["benchmark_volatility"]), _num(r["benchmark_sharpe"]),
                     _pct(r["benchmark_max_drawdown"])))
    stat = [("Ann. return", 1), ("Volatility", 1), ("Sharpe (excess)", 1), ("Max DD", 1)]
    head = [[("", 3), (STRATEGY_NAME, 4), (data.benchmark_name, 4)],
            [("Regime", 1), ("Days", 1), ("Share", 1), *stat, *stat]]
    return ("<h3>Performance by regime</h3>" + _table(head, rows)
            + '<p class="note">Regime = most probable filtered regime of the day; days before the first fit are '
              "left out. Returns are annualised over the regime's days only; max drawdown compounds those days "
              "as if held only in that regime. Sharpe on the run's basis (above), over that regime's days.</p>")


def _transmat_html(data: ReportData) -> str:
    tm = data.transmat
    if tm is None or tm.empty:
        return "<h3>Transition matrix</h3><p class=\"note\">No fitted model.</p>"
    names = [str(c) for c in tm.columns]
    rows = []
    for i, (name, row) in enumerate(tm.iterrows()):
        p_ii = float(tm.iloc[i, i]) if i < tm.shape[1] else math.nan
        dur = math.inf if p_ii >= 1.0 else 1.0 / (1.0 - p_ii)
        rows.append((str(name), *(f"{float(v):.3f}" for v in row), _num(dur, 1)))
    last = f" (last fit: {_date(max(data.refit_dates))})" if data.refit_dates else ""
    head = [[("From \\ to", 1), *((n, 1) for n in names), ("Expected duration (days)", 1)]]
    return (f"<h3>Transition matrix{_esc(last)}</h3>" + _table(head, rows)
            + '<p class="note">Daily transition probabilities of the last fitted model; expected duration '
              "= 1 / (1 − p<sub>ii</sub>) trading days.</p>")


def _stress_html(data: ReportData, returns: pd.Series, benchmark: pd.Series) -> str:
    windows = dict(DEFAULT_STRESS_WINDOWS) if data.default_stress_windows else {}
    if data.stress_windows:
        windows.update(data.stress_windows)
    table = stress_table(returns, benchmark, windows)
    parts = ['<section id="stress-scenarios">', "<h3>Stress scenarios</h3>"]
    if table.empty:
        parts.append('<p class="note" style="margin-top:0">None of the stress windows lies inside the data range.</p>')
    else:
        rows = [(name, f"{_date(r['start'])} to {_date(r['end'])}", _num(int(r["days"])),
                 _pct(r["strategy_return"]), _pct(r["strategy_max_drawdown"]),
                 _pct(r["benchmark_return"]), _pct(r["benchmark_max_drawdown"]))
                for name, r in table.iterrows()]
        head = [[("", 3), (STRATEGY_NAME, 2), (data.benchmark_name, 2)],
                [("Window", 1), ("Dates", 1), ("Days", 1), ("Return", 1), ("Max DD", 1), ("Return", 1),
                 ("Max DD", 1)]]
        parts.append(_table(head, rows))
    if data.default_stress_windows and data.weights is not None and not data.weights.dropna(how="all").empty:
        last = data.weights.dropna(how="all").sort_index().iloc[-1]
        shock = shock_loss(last, data.sleeve_returns, data.shock_date) if data.shock_date else None
        if shock is not None:
            loss, assumed = shock
            held = ", ".join(f"{k} {_pct(v, 0)}" for k, v in last.items() if v)
            extra = f" Sleeves without a return that day counted as 0: {', '.join(map(str, assumed))}." if assumed else ""
            as_of = _date(data.weights.dropna(how="all").index.max())
            sign = "+" if loss > 0 else ""
            parts.append(
                f'<p class="shock">Current portfolio hit by the {_esc(data.shock_date)} shock: <b>{sign}{_esc(_pct(loss, 2))}</b>'
                f" in one day (last target weights, {_esc(as_of)}: {_esc(held)}; applied to the sleeve returns of "
                f"{_esc(data.shock_date)}).{_esc(extra)}</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _members_html(data: ReportData) -> str:
    """Each sleeve's rule and members (their weights at the last decision): the weights figure draws sleeves, so
    sixty members stay readable here rather than as sixty lines."""
    if data.members is None or data.members.empty:
        return ""
    cols = list(data.members.columns)
    rows = [[_esc(v) for v in row] for row in data.members.itertuples(index=False)]
    head = "".join(f"<th>{_esc(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in r) + "</tr>" for r in rows)
    return (f'<h3 id="members-title">Sleeve members</h3><table id="members-table" class="members">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def build_regime_section(data: ReportData, returns: pd.Series | None = None,
                         benchmark: pd.Series | None = None) -> str:
    """The `<section id="regime-story">` HTML (with its CSS); user strings escaped."""
    n_missing = 0
    if returns is None or benchmark is None:
        returns, benchmark, n_missing = align_inputs(data)
    x0, x1 = returns.index[0], returns.index[-1]
    banners = list(data.warnings)
    if n_missing:
        banners.append(f"Benchmark has no return on {n_missing} strategy date(s); counted as 0")
    with _quiet():
        fig1 = regime_svg.cumulative_regime_svg(returns, benchmark, data.probabilities, data.refit_dates,
                                                benchmark_name=data.benchmark_name, strategy_name=STRATEGY_NAME)
        fig2 = regime_svg.probabilities_svg(data.probabilities, x0, x1)
        fig3 = regime_svg.weights_svg(data.weights, x0, x1)
        regimes = _regime_table_html(data, returns, benchmark)
        stress = _stress_html(data, returns, benchmark)
    parts = [
        CSS,
        '<section id="regime-story">',
        "<h2>Regime story</h2>",
        f'<p class="run-title">{_esc(data.title)}</p>',
        *(f'<div class="warning-banner">&#9888; {_esc(w)}</div>' for w in banners),
        _header_html(data, returns),
        f'<figure id="fig-cumulative">{fig1}</figure>',
        f'<figure id="fig-probabilities">{fig2}</figure>',
        f'<figure id="fig-weights">{fig3}</figure>',
        _members_html(data),
        regimes,
        _transmat_html(data),
        stress,
        "<hr>",
        "</section>",
    ]
    return "\n".join(parts)


# ----------------------------------------------------------------------------------------------- QuantStats
_quiet = quiet  # QuantStats/matplotlib/pandas chatter muted; exceptions still propagate


def quantstats_html(returns: pd.Series, benchmark: pd.Series, title: str, benchmark_name: str) -> str:
    """Plain ``quantstats.reports.html`` for already aligned series, in-process on the current backend.

    The reference the assembled page is checked against, and what ``benchmarks/report_speed.py`` compares with;
    the tearsheet itself uses ``reports.qs_report`` (same QuantStats calls, spread over the cores).
    """
    return plain_html(QSInputs(returns, benchmark, title, benchmark_name))


def make_offline(page: str) -> str:
    """Drop everything that would load from the network, and the template's undefined onload handler."""
    page = _RE_REMOTE_LINK.sub("", page)
    page = _RE_REMOTE_SCRIPT.sub("", page)
    page = _RE_REMOTE_ANCHOR.sub(r"\1", page)
    page = _RE_REMOTE_ATTR.sub("", page)
    page = _RE_CSS_URL.sub("none", page)
    if "function save" not in page:
        page = re.sub(r"""\sonload\s*=\s*(["'])\s*save\(\)\s*;?\s*\1""", "", page, flags=re.I)
    return page


def finish_quantstats_page(page: str, dates: pd.DatetimeIndex) -> str:
    """QuantStats' assembled page as every tearsheet shows it: its defects fixed (``reports.qs_fixes``; `dates`
    are the strategy's return dates) and nothing loaded from the network."""
    return make_offline(fix_quantstats_page(page, dates))


def quantstats_page(inputs: QSInputs, workers: int | None = None) -> str:
    """QuantStats' tearsheet page for `inputs` as every page of ours shows it, not yet finished
    (``finish_quantstats_page``): computed and drawn in this process (``qs_report.native_page``), or, if the
    installed QuantStats' template is not the one filled there, through QuantStats itself (``render_page``,
    on `workers` processes)."""
    try:
        return native_page(inputs, skip=DROPPED_PIECES)
    except UnsupportedQuantStats as err:
        log.warning("%s: drawing the page through QuantStats (slower)", err)
        return render_page(inputs, workers, skip=DROPPED_PIECES)


def write_quantstats_tearsheet(inputs: QSInputs, path: Path, workers: int | None = None) -> Path:
    """QuantStats' tearsheet alone (no regime story), finished like a run's, written atomically to `path`."""
    page = finish_quantstats_page(quantstats_page(inputs, workers), pd.DatetimeIndex(inputs.returns.index))
    return atomic_write_text(Path(path), page)


def inject(page: str, section: str, title: str) -> str:
    page = _RE_TITLE.sub(lambda _: f"<title>{_esc(title)} – regimeshift tearsheet</title>", page, count=1)
    for rx in (_RE_CONTAINER, _RE_BODY):
        m = rx.search(page)
        if m:
            return page[: m.end()] + "\n" + section + "\n" + page[m.end():]
    return section + page


def versions_footer(versions: Any) -> str:
    """Small print at the foot of the page: the Python and library versions that produced it (metrics.json)."""
    if not isinstance(versions, Mapping) or not versions:
        return ""
    text = " · ".join(f"{_esc(name)} {_esc(v)}" for name, v in versions.items())
    return (f'<footer id="versions" style="font-size:11px;color:#777;margin:2em 0 1em;text-align:center">'
            f"Produced with {text}</footer>")


def add_footer(page: str, footer: str) -> str:
    """``footer`` just before the page's last ``</body>`` (at its end when it has none)."""
    at = page.lower().rfind("</body>")
    return page + footer if at < 0 else page[:at] + footer + "\n" + page[at:]


def write_tearsheet(data: ReportData, path: Path, workers: int | None = None) -> Path:
    """Write the tearsheet HTML to `path` atomically and return the path.

    Everything is drawn in this process (``quantstats_page``): at ~0.5 s for 20 years of daily data, forked
    workers would cost more than they save. `workers` only matters when the installed QuantStats has to draw
    its part itself (a template this version does not know).
    """
    path = Path(path)
    t0 = time.perf_counter()
    returns, benchmark, _ = align_inputs(data)
    rf = data.risk_free
    inputs = QSInputs(returns, benchmark, data.title, data.benchmark_name,
                      risk_free=None if rf is None else pd.Series(rf.on(returns.index), index=returns.index),
                      risk_free_label=None if rf is None else rf.label)
    section = build_regime_section(data)
    t1 = time.perf_counter()
    page = quantstats_page(inputs, workers)
    t2 = time.perf_counter()
    page = inject(finish_quantstats_page(page, returns.index), section, data.title)
    page = add_footer(page, versions_footer(data.metrics.get("versions") if isinstance(data.metrics, Mapping) else None))
    atomic_write_text(path, page)
    log.info("tearsheet %s: %.2fs (regime section %.2fs, QuantStats' tables and figures %.2fs), %d kB",
             path, time.perf_counter() - t0, t1 - t0, t2 - t1, len(page.encode()) // 1024)
    return path
