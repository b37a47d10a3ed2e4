"""The walk-forward selection's out-of-sample track, daily, and every figure printed about it.

The yearly selection reads the monthly matrix (the rule: best Sharpe of monthly total returns up to each year
end), but the track it picks is re-screened day by day and its figures -- console, leaderboard,
walk_forward.csv, walk_forward_tearsheet.html -- all come from :func:`track_figures` on that daily track: the
run's definitions (reports/metrics.py, daily excess returns over the base config's risk-free rate). The
in-sample winner's "same days" figures come from the same function on the same days, so the two compare.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from regimeshift.core.atomic import atomic_write_text
from regimeshift.reports.comparison import format_cell
from regimeshift.reports.metrics import RiskFree, performance_metrics, sharpe_ratio
from regimeshift.sweep.spec import SweepSpec

HEADLINE = (("sharpe", "Sharpe (excess)"), ("sortino", "Sortino (excess)"), ("cagr", "CAGR"),
            ("max_drawdown", "Max drawdown"), ("volatility", "Volatility"))


@dataclass(frozen=True)
class WalkForwardTrack:
    track: pd.Series  # daily returns of the selection, each year the variant chosen at the previous year end
    benchmark: pd.Series  # the base config's benchmark on the same days
    benchmark_name: str
    winner: pd.Series | None  # the in-sample winner's daily returns on the same days (hindsight)
    winner_variant: int | None
    risk_free: RiskFree


def variant_returns(spec: SweepSpec, variant: int) -> tuple[pd.Series, object]:
    """A variant's daily returns re-screened (first day 0, like a run's), and its prepared setting."""
    from regimeshift.sweep.screen import daily_returns_of, screen_config

    v = spec.variants[int(variant)]
    assert v.config is not None
    prep, res = screen_config(v.config)
    return pd.Series(daily_returns_of(res.value), index=prep.index), prep


def walk_forward_daily(spec: SweepSpec, selection: pd.DataFrame) -> tuple[pd.Series, pd.Series, str]:
    """Daily returns of the walk-forward selection (each year the variant chosen at the previous year end,
    re-screened), and the base config's benchmark on the same days."""
    paths: dict[int, pd.Series] = {}
    parts = []
    bench_name = spec.base.data.benchmark
    bench = None
    for row in selection.itertuples():
        if int(row.variant) not in paths:
            paths[int(row.variant)], prep = variant_returns(spec, int(row.variant))
            if bench is None:
                bench = prep.market.prices[bench_name].reindex(prep.index).pct_change().fillna(0.0)  # type: ignore[attr-defined]
        r = paths[int(row.variant)]
        parts.append(r[r.index.year == row.year])
    track = pd.concat(parts).rename("walk_forward")
    assert bench is not None
    return track, bench.loc[track.index].rename(bench_name), bench_name


def daily_track(spec: SweepSpec, selection: pd.DataFrame, winner: int | None) -> WalkForwardTrack:
    """The selection's daily track, the benchmark and the in-sample winner on its days, and the base config's
    risk-free rate (resolved by pipeline.risk_free_stage, on the variants' trading calendar)."""
    from regimeshift.sweep.screen import prepared

    track, bench, name = walk_forward_daily(spec, selection)
    first = spec.variants[int(selection.iloc[0]["variant"])].config
    assert first is not None
    rf = prepared(first).risk_free(spec.base)[0]
    winner_r = None
    if winner is not None:
        winner_r = variant_returns(spec, winner)[0].reindex(track.index).rename(f"variant {winner}")
    return WalkForwardTrack(track, bench, name, winner_r, winner, rf)


def track_figures(returns: pd.Series, risk_free: RiskFree) -> dict[str, float]:
    """The headline figures of a daily track: reports.metrics.performance_metrics, the run's own."""
    return performance_metrics(returns, risk_free)


def figures_line(m: dict[str, float]) -> str:
    """"Sharpe 0.91, CAGR 9.84%, max drawdown -37.60%", formatted as every page formats them."""
    return (f"Sharpe {format_cell('sharpe', m['sharpe'])}, CAGR {format_cell('cagr', m['cagr'])}, "
            f"max drawdown {format_cell('max_drawdown', m['max_drawdown'])}")


def yearly_columns(selection: pd.DataFrame, wf: WalkForwardTrack) -> pd.DataFrame:
    """walk_forward.csv: the selection with, per held year, the days and the daily excess-return Sharpe of the
    track that year (column names say their basis)."""
    out = selection.copy()
    rf = pd.Series(wf.risk_free.on(pd.DatetimeIndex(wf.track.index)), index=wf.track.index)
    years = wf.track.index.year
    out["year_sharpe_daily_excess"] = [
        sharpe_ratio((wf.track[years == y] - rf[years == y]).to_numpy()) for y in out["year"]]
    out["days"] = [int((years == y).sum()) for y in out["year"]]
    return out


def summary_section(spec: SweepSpec, wf: WalkForwardTrack) -> str:
    """The figures the console prints about the track, at the top of its tearsheet, with their basis."""
    cols = [("Walk-forward selection (out of sample)", track_figures(wf.track, wf.risk_free))]
    if wf.winner is not None:
        cols.append((f"In-sample winner, variant {wf.winner_variant} (hindsight)",
                     track_figures(wf.winner, wf.risk_free)))
    cols.append((f"{wf.benchmark_name}", track_figures(wf.benchmark, wf.risk_free)))
    head = "".join(f"<th>{html.escape(title)}</th>" for title, _ in cols)
    rows = "".join(
        f'<tr data-key="{key}"><td>{html.escape(label)}</td>'
        + "".join(f"<td>{format_cell(key, m.get(key))}</td>" for _, m in cols) + "</tr>"
        for key, label in HEADLINE)
    span = f"{wf.track.index[0]:%Y-%m-%d} .. {wf.track.index[-1]:%Y-%m-%d}"
    return f"""<section id="walk-forward-summary" style="margin:0 0 24px;font-size:14px">
<h2 style="font-size:22px;margin:0 0 6px">{html.escape(spec.name)}: walk-forward selection, {span}</h2>
<p class="basis" style="color:#333">{html.escape(wf.risk_free.describe())}. Each year holds the variant with the
best Sharpe of monthly total returns up to the previous year end (the selection rule); every figure here is of
the daily track.</p>
<table style="border-collapse:collapse"><thead><tr><th></th>{head}</tr></thead><tbody>{rows}</tbody></table>
<p style="color:#555;font-size:12px">QuantStats' ratio rows below are left out (they are over a zero rate);
the table above has the track's.</p>
<hr></section>"""


def write_tearsheet(spec: SweepSpec, wf: WalkForwardTrack, path: Path, workers: int | None = 1) -> Path:
    """QuantStats' tearsheet of the daily track beside the benchmark, through the run tearsheet's page
    pipeline (the same QSInputs with the risk-free series, qs_fixes, offline), headed by the track's figures."""
    from regimeshift.reports.qs_report import QSInputs
    from regimeshift.reports.tearsheet import finish_quantstats_page, inject, quantstats_page

    title = f"{spec.name}: walk-forward selection (out of sample)"
    rf = pd.Series(wf.risk_free.on(pd.DatetimeIndex(wf.track.index)), index=wf.track.index)
    inputs = QSInputs(wf.track, wf.benchmark, title, wf.benchmark_name, risk_free=rf,
                      risk_free_label=wf.risk_free.label)
    page = quantstats_page(inputs, workers)
    # the run tearsheets' path: QuantStats' defects (the EOY bar chart, blank months, ...) fixed the same way
    page = inject(finish_quantstats_page(page, pd.DatetimeIndex(wf.track.index)), summary_section(spec, wf), title)
    return atomic_write_text(path, page)
