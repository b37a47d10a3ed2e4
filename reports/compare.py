"""Finished runs side by side: ``regimeshift runs`` lists them, ``regimeshift compare`` writes one offline page.

A run folder is what ``regimeshift run`` writes (``regimeshift/outputs.py``); this module reads only
``metrics.json`` (headline numbers, regime switches and shares), ``returns.csv`` (equity and drawdown curves),
``regimes.csv`` (the regime strip: the most probable regime per day; optional, older folders may lack it) and
``config.toml`` (what changed between runs, the regime model family). A folder without a readable ``metrics.json`` is not a run:
``RunFolderError``, which the CLI prints as one ``error: ...`` line (exit 2) before anything is written.
The page has no scripts and loads nothing; every user string (run and folder names, config keys and values,
regime and benchmark names) is HTML-escaped, and the same runs give the same bytes.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from regimeshift.core.errors import ConfigError, RegimeshiftError  # noqa: F401
from regimeshift.core.toml_files import read_toml
from regimeshift.reports.run_index import (  # noqa: F401  (re-exported: the compare page reads runs the same way)
    RunFolderError,
    RunSummary,
    format_cell,
    as_number,
    one_line,
    format_runs,
    list_runs,
    read_metrics,
)

PAGE_TITLE = "regimeshift run comparison"
MISSING = object()  # a config key one run has and another has not
RUN_COLOURS = ["#0b3c8c", "#d62828", "#2e9e4f", "#f0a202", "#7b2cbf", "#17becf", "#8c564b", "#e377c2",
               "#555555", "#bcbd22"]

# (key in metrics["strategy"], label, kind) for the headline table; kind: pct, ratio or count
HEADLINE = [
    ("cagr", "CAGR", "pct"),
    ("sharpe", "Sharpe (excess)", "ratio"),
    ("sortino", "Sortino (excess)", "ratio"),
    ("max_drawdown", "Max drawdown", "pct"),
    ("volatility", "Volatility (ann.)", "pct"),
    ("turnover", "Turnover (x/yr)", "ratio"),
    ("n_trades", "Trades", "count"),
    ("cost_drag_annual", "Cost drag (ann.)", "pct"),
]
BENCHMARK_HEADLINE = HEADLINE[:5]
TIMING_HEADLINE = [("sharpe_diff", "Sharpe (excess)", "ratio"), ("cagr_diff", "CAGR", "pct"),
                   ("max_drawdown_diff", "Max drawdown", "pct")]


def risk_free_label(metrics: Mapping[str, Any]) -> str:
    """What a run's ratios are measured over: its metrics.json ``risk_free``; runs written before the basis was
    recorded measured them over a zero rate."""
    rf = metrics.get("risk_free", None)
    if rf is None:
        return "0 (run predates the recorded basis)"
    if isinstance(rf, str):
        return rf
    value = as_number(rf)
    return "a zero rate" if not value else f"{100 * value:g}% a year"


def basis_note(runs: Sequence[Any]) -> str:
    """The basis sentence under the headline table, and a warning when the runs' rates differ."""
    labels = {risk_free_label(r.metrics) for r in runs}
    basis = next((str(r.metrics["basis"]) for r in runs if r.metrics.get("basis")), "")
    note = _esc(basis) + "." if basis else ""
    if len(labels) > 1:
        note += (" <b>These runs measure their ratios over different rates ("
                 + _esc(", ".join(sorted(labels))) + "): their Sharpe and Sortino are not comparable.</b>")
    return f'<p class="note" id="basis">{note}</p>' if note else ""
# (key in metrics.json, label, kind): how each run's regimes behaved -- the trading a regime model causes
REGIME_HEADLINE = [
    ("regime_switches_per_year", "Regime switches / yr", "ratio"),
    ("n_refits", "Refits", "count"),
]


def _read_returns(folder: Path) -> pd.DataFrame:
    path = folder / "returns.csv"
    if not path.is_file():
        raise RunFolderError(f"{folder}: incomplete run folder (no returns.csv)")
    try:
        frame = pd.read_csv(path, index_col="date", parse_dates=["date"])
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise RunFolderError(f"{path}: not readable ({one_line(err)})") from None
    missing = [c for c in ("strategy", "benchmark") if c not in frame.columns]
    if missing:
        raise RunFolderError(f"{path}: expected columns date, strategy, benchmark (missing {', '.join(missing)})")
    if not isinstance(frame.index, pd.DatetimeIndex) or frame.index.hasnans:
        raise RunFolderError(f"{path}: column 'date' must hold dates (YYYY-MM-DD)")
    out = frame[["strategy", "benchmark"]].apply(pd.to_numeric, errors="coerce")
    if out["strategy"].notna().sum() == 0:
        raise RunFolderError(f"{path}: no numeric strategy returns")
    return out.sort_index()


def _read_regimes(folder: Path) -> pd.Series | None:
    """The most probable regime per day (``regimes.csv``'s ``regime`` column); None when the folder has none."""
    path = folder / "regimes.csv"
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path, index_col="date", parse_dates=["date"], usecols=["date", "regime"])
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise RunFolderError(f"{path}: not readable (expected columns date, regime; {one_line(err)})") from None
    if not isinstance(frame.index, pd.DatetimeIndex) or frame.index.hasnans:
        raise RunFolderError(f"{path}: column 'date' must hold dates (YYYY-MM-DD)")
    return frame["regime"].astype(object).sort_index()


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / "config.toml"
    if not path.is_file():
        raise RunFolderError(f"{folder}: incomplete run folder (no config.toml)")
    try:
        return read_toml(path)
    except (OSError, ConfigError) as err:
        raise RunFolderError(f"{path}: not readable TOML ({one_line(err)})") from None


@dataclass(frozen=True)
class Run:
    label: str  # folder name (the path as given when two folders share a name)
    folder: Path
    metrics: Mapping[str, Any]
    returns: pd.DataFrame  # date x (strategy, benchmark), daily simple returns
    config: Mapping[str, Any]
    regimes: pd.Series | None = None  # most probable regime per day (None: no regimes.csv)

    @property
    def regime_model(self) -> str:
        """The regime model family (``regimes.model``; "hmm" before it was a setting)."""
        r = self.config.get("regimes")
        return str(r.get("model", "hmm")) if isinstance(r, Mapping) else "hmm"


def load_runs(folders: Sequence[Path]) -> list[Run]:
    """Read every folder (all of them, before anything is written); RunFolderError on the first bad one."""
    folders = [Path(f) for f in folders]
    if len(folders) < 2:
        raise RunFolderError(f"compare needs at least two run folders (got {len(folders)})")
    names = [f.resolve().name or str(f) for f in folders]
    labels = [str(f) if names.count(n) > 1 else n for f, n in zip(folders, names, strict=True)]
    if len(set(labels)) != len(labels):
        raise RunFolderError(f"the same run folder is given twice: {', '.join(sorted({x for x in labels if labels.count(x) > 1}))}")
    runs = []
    for label, folder in zip(labels, folders, strict=True):
        metrics = read_metrics(folder)
        runs.append(Run(label, folder, metrics, _read_returns(folder), _read_config(folder), _read_regimes(folder)))
    return runs


# ----------------------------------------------------------------------------------------------- formatting
def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _delta(x: Any, base: Any, kind: str) -> str:
    x, base = as_number(x), as_number(base)
    if x is None or base is None:
        return ""
    d = x - base
    if kind == "pct":
        text = f"{100 * d:+.2f} pp"
    elif kind == "count":
        text = f"{int(round(d)):+,}"
    else:
        text = f"{d:+.2f}"
    if text.lstrip("+-").rstrip(" p") in ("0", "0.00"):
        return ""
    return f' <span class="delta">({_esc(text)})</span>'


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """HTML table; `head` is escaped here, row cells must already be HTML."""
    out = [f'<table class="{cls}">' if cls else "<table>", "<thead><tr>"]
    out += [f"<th>{_esc(h)}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


# ----------------------------------------------------------------------------------------------- config diff
def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted keys -> leaf values (lists stay values); empty tables are kept as {} so their absence shows."""
    if isinstance(obj, Mapping):
        if not obj and prefix:
            return {prefix: {}}
        out: dict[str, Any] = {}
        for key, value in obj.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: obj}


def config_differences(configs: Sequence[Mapping[str, Any]]) -> tuple[list[tuple[str, list[Any]]], int]:
    """(key, value per config or MISSING) for every dotted key whose values differ; and the count of equal keys."""
    flat = [flatten(c) for c in configs]
    keys: dict[str, None] = {}
    for f in flat:
        keys.update(dict.fromkeys(f))
    diffs, same = [], 0
    for key in keys:
        values = [f.get(key, MISSING) for f in flat]
        if all(v is not MISSING for v in values) and all(v == values[0] for v in values[1:]):
            same += 1
        else:
            diffs.append((key, values))
    return diffs, same


def _config_value(v: Any) -> str:
    if v is MISSING:
        return '<span class="missing">(not set)</span>'
    if isinstance(v, str):
        return _esc(json.dumps(v, ensure_ascii=False))
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple, dict)):
        return _esc(json.dumps(v, ensure_ascii=False))
    return _esc(v)


# ----------------------------------------------------------------------------------------------- figures
def _curves_svg(runs: Sequence[Run], drawdown: bool) -> str:
    import matplotlib.dates as mdates  # noqa: PLC0415  (matplotlib only when a page is drawn)
    from matplotlib.ticker import PercentFormatter  # noqa: PLC0415
    from regimeshift.reports import plots  # noqa: PLC0415

    x0 = min(r.returns.index[0] for r in runs)
    x1 = max(r.returns.index[-1] for r in runs)
    with plots.plot_style():
        fig, ax = plots.new_figure(3.6 if not drawdown else 2.9)
        benchmarks_drawn: list[pd.Series] = []
        for i, run in enumerate(runs):
            colour = RUN_COLOURS[i % len(RUN_COLOURS)]
            for column in ("benchmark", "strategy"):
                r = run.returns[column].dropna()
                if r.empty:
                    continue
                wealth = (1.0 + r).cumprod()
                y = wealth / wealth.cummax() - 1.0 if drawdown else wealth - 1.0
                if column == "benchmark":
                    symbol = str(run.metrics.get("benchmark", {}).get("symbol", "benchmark"))
                    if any(r.equals(drawn) for drawn in benchmarks_drawn):
                        continue  # the same benchmark returns on the same dates: draw them once
                    benchmarks_drawn.append(r)
                    # Line2D keyword properties of mixed types, passed straight to Axes.plot
                    style: dict[str, Any] = {"color": "#888888" if i == 0 else colour, "linewidth": 0.9,
                             "linestyle": "--", "alpha": 0.8, "zorder": 2,
                             "label": plots.mpl_text(f"{symbol} (benchmark of {run.label})")}
                else:
                    style = {"color": colour, "linewidth": 1.3, "zorder": 3, "label": plots.mpl_text(run.label)}
                pos = plots.sample_positions(len(y))
                ax.plot(mdates.date2num(y.index[pos]), y.to_numpy()[pos], **style)
        ax.axhline(0.0, color="#888888", linewidth=0.6, zorder=1)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylabel("Drawdown" if drawdown else "Cumulative return")
        title = "Drawdown from the running peak" if drawdown else "Cumulative return (each run over its own dates)"
        ax.set_title(title, loc="left", pad=24)
        plots.date_axis(ax, x0, x1)
        plots.legend_above(ax, ncol=min(4, max(1, len(ax.get_legend_handles_labels()[0]))))
        return plots.to_svg(fig)


def _regime_strip_svg(runs: Sequence[Run]) -> str:
    """One strip per run: its most probable regime each day, so when each model calls a change lines up."""
    import matplotlib.dates as mdates  # noqa: PLC0415
    from matplotlib.collections import PolyCollection  # noqa: PLC0415
    from matplotlib.patches import Patch  # noqa: PLC0415
    from regimeshift.reports import plots  # noqa: PLC0415

    shown = [r for r in runs if r.regimes is not None and not r.regimes.dropna().empty]
    names: dict[str, None] = {}
    for run in shown:
        names.update(dict.fromkeys(str(v) for v in run.regimes.dropna()))  # type: ignore[union-attr]
    colours = plots.regime_colours(list(names))
    x0 = min(r.regimes.index[0] for r in shown)  # type: ignore[union-attr]
    x1 = max(r.regimes.index[-1] for r in shown)  # type: ignore[union-attr]
    with plots.plot_style():
        fig, ax = plots.new_figure(1.5 + 0.6 * len(shown))
        for row, run in enumerate(shown):
            y0, y1 = len(shown) - row - 0.95, len(shown) - row - 0.45  # the first run on top, its label above it
            # the label inside the plot, not as a tick label: run names are longer than the figure's left margin
            ax.text(0.0, y1 + 0.05, plots.mpl_text(f"{run.label} ({run.regime_model})"),
                    transform=ax.get_yaxis_transform(), ha="left", va="bottom", fontsize=8.5)
            spans = plots.regime_runs(run.regimes.astype(object), end=run.regimes.index[-1])  # type: ignore[union-attr]
            for name in names:
                verts = [[(a, y0), (a, y1), (z, y1), (z, y0)]
                         for a, z in ((mdates.date2num(b), mdates.date2num(e)) for n, b, e in spans if str(n) == name)]
                if verts:
                    ax.add_collection(PolyCollection(verts, facecolors=colours[name], linewidths=0), autolim=False)
        ax.set_ylim(0.0, len(shown))
        ax.set_yticks([])
        ax.set_title("Most probable regime each day (filtered, out of sample)", loc="left", pad=24)
        plots.date_axis(ax, x0, x1)
        ax.grid(False)
        plots.legend_above(ax, [Patch(facecolor=colours[n], label=plots.mpl_text(n)) for n in names],
                            ncol=max(1, len(names)))
        return plots.to_svg(fig)


def _regime_strips(runs: Sequence[Run]) -> str:
    missing = [r.label for r in runs if r.regimes is None or r.regimes.dropna().empty]
    note = (f'<p class="note">No regimes.csv in {_esc(", ".join(missing))}.</p>' if missing else "")
    if len(missing) == len(runs):
        return note
    return f'<figure id="fig-regimes">{_regime_strip_svg(runs)}</figure>' + note


# ----------------------------------------------------------------------------------------------- the page
CSS = """
<style>
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#222;margin:0;background:#fff}
.container{max-width:1040px;margin:0 auto;padding:24px 20px 60px}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:19px;margin:30px 0 10px;border-bottom:1px solid #ddd;padding-bottom:4px}
p.note{color:#666;font-size:13px;margin:4px 0 12px}
table{border-collapse:collapse;font-size:13.5px;margin:0 0 8px;width:100%}
th,td{padding:5px 9px;border-bottom:1px solid #eee;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
thead th{border-bottom:2px solid #ccc;background:#fafafa}
table.config th,table.config td{text-align:left;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;
  word-break:break-all}
tr.section td{background:#f4f4f4;font-weight:700;text-align:left}
.delta{color:#777;font-size:11.5px;white-space:nowrap}
.missing{color:#999;font-style:italic}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.bar{display:flex;height:16px;min-width:220px;border:1px solid #ddd}
.bar span{display:block;height:100%}
figure{margin:6px 0 14px}
figure svg{width:100%;height:auto;display:block}
</style>
"""


def _runs_table(runs: Sequence[Run]) -> str:
    rows = []
    for i, run in enumerate(runs):
        m = run.metrics
        swatch = f'<span class="swatch" style="background:{RUN_COLOURS[i % len(RUN_COLOURS)]}"></span>'
        strategy = run.config.get("strategy", {}).get("name", "") if isinstance(run.config.get("strategy"), Mapping) else ""
        dates = f"{m.get('start', '?')} to {m.get('end', '?')}"
        refits = f"{m.get('n_refits', '?')} ({m.get('n_nonconverged', '?')} not converged)"
        rows.append((swatch + _esc(run.label), _esc(run.folder), _esc(m.get("config_hash", "?")), _esc(strategy),
                     _esc(dates), _esc(format_cell(m.get("n_days"), "count")), _esc(refits)))
    return _table(["Run", "Folder", "Config hash", "Strategy", "Dates", "Days", "Refits"], rows)


def _metrics_table(runs: Sequence[Run]) -> str:
    def block(get: Any, spec: Sequence[tuple[str, str, str]]) -> list[str]:
        rows = []
        for key, label, kind in spec:
            base = get(runs[0]).get(key)
            cells = [_esc(label)] + [_esc(format_cell(get(r).get(key), kind)) + (_delta(get(r).get(key), base, kind) if i else "")
                                     for i, r in enumerate(runs)]
            rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        return rows

    def strategy(run: Run) -> Mapping[str, Any]:
        return run.metrics["strategy"]

    def benchmark(run: Run) -> Mapping[str, Any]:
        b = run.metrics.get("benchmark")
        return b if isinstance(b, Mapping) else {}

    def top(run: Run) -> Mapping[str, Any]:
        return run.metrics

    def twin(run: Run) -> Mapping[str, Any]:
        t = (run.metrics.get("benchmarks") or {}).get("static_twin")
        return t if isinstance(t, Mapping) else {}

    def timing(run: Run) -> Mapping[str, Any]:
        t = run.metrics.get("timing")
        return t if isinstance(t, Mapping) else {}

    def with_ci(run: Run, key: str, kind: str) -> str:
        t = timing(run)
        value, ci = as_number(t.get(key)), t.get(f"{key}_ci")
        if value is None:
            return "n/a"
        scale, unit = (100.0, " pp") if kind == "pct" else (1.0, "")
        text = f"{scale * value:+.2f}{unit}"
        if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(as_number(c) is not None for c in ci):
            text += f" [{scale * as_number(ci[0]):+.2f}, {scale * as_number(ci[1]):+.2f}]"  # type: ignore[operator]
        return _esc(text)

    n = len(runs) + 1
    body = ["<tr><td>Ratios over</td>" + "".join(f"<td>{_esc(risk_free_label(r.metrics))}</td>" for r in runs)
            + "</tr>",
            f'<tr class="section"><td colspan="{n}">Strategy</td></tr>', *block(strategy, HEADLINE),
            f'<tr class="section"><td colspan="{n}">Static twin (the strategy\'s average weights held)</td></tr>',
            *block(twin, BENCHMARK_HEADLINE),
            f'<tr class="section"><td colspan="{n}">Value of timing (strategy minus twin, interval)</td></tr>',
            *("<tr><td>" + _esc(label) + "</td>" + "".join(f"<td>{with_ci(r, key, kind)}</td>" for r in runs) + "</tr>"
              for key, label, kind in TIMING_HEADLINE),
            f'<tr class="section"><td colspan="{n}">Regimes</td></tr>',
            "<tr><td>Model</td>" + "".join(f"<td>{_esc(r.regime_model)}</td>" for r in runs) + "</tr>",
            *block(top, REGIME_HEADLINE),
            f'<tr class="section"><td colspan="{n}">Benchmark</td></tr>',
            "<tr><td>Symbol</td>" + "".join(f"<td>{_esc(benchmark(r).get('symbol', '?'))}</td>" for r in runs) + "</tr>",
            *block(benchmark, BENCHMARK_HEADLINE)]
    head = "<thead><tr><th>Metric</th>" + "".join(f"<th>{_esc(r.label)}</th>" for r in runs) + "</tr></thead>"
    return f"<table>{head}<tbody>{''.join(body)}</tbody></table>"


def _regime_shares(runs: Sequence[Run]) -> str:
    from regimeshift.reports.plots import regime_colours  # noqa: PLC0415

    names: dict[str, None] = {}
    shares = []
    for run in runs:
        s = run.metrics.get("regime_shares")
        s = {str(k): as_number(v) for k, v in s.items()} if isinstance(s, Mapping) else {}
        names.update(dict.fromkeys(s))
        shares.append(s)
    if not names:
        return '<p class="note">No regime shares in these runs\' metrics.json.</p>'
    colours = regime_colours(list(names))
    rows = []
    for run, s in zip(runs, shares, strict=True):
        bar = "".join(f'<span style="width:{100 * (s.get(k) or 0):.2f}%;background:{colours[k]}" '
                      f'title="{_esc(k)} {_esc(format_cell(s.get(k), "pct"))}"></span>' for k in names)
        rows.append((_esc(run.label), *(_esc(format_cell(s.get(k), "pct")) for k in names), f'<div class="bar">{bar}</div>'))
    head = ["Run", *names, "Share of days"]
    legend = " ".join(f'<span class="swatch" style="background:{colours[k]}"></span>{_esc(k)}' for k in names)
    return _table(head, rows) + f'<p class="note">{legend} &mdash; most probable filtered regime per day.</p>'


def _config_section(runs: Sequence[Run]) -> str:
    diffs, same = config_differences([r.config for r in runs])
    if not diffs:
        return f'<p class="note">The resolved configs (config.toml) are identical ({same} keys).</p>'
    rows = [(_esc(key), *(_config_value(v) for v in values)) for key, values in diffs]
    return (_table(["Key", *(r.label for r in runs)], rows, cls="config")
            + f'<p class="note">{len(diffs)} key(s) differ, {same} are the same in every config.toml.</p>')


def compare_page(runs: Sequence[Run]) -> str:
    """The whole page (no scripts, nothing remote)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_esc(PAGE_TITLE)}: {_esc(' vs '.join(r.label for r in runs))}</title>",
        CSS,
        '</head><body><div class="container">',
        f"<h1>Run comparison</h1><p class=\"note\">{len(runs)} runs; differences are shown against the first, "
        f"{_esc(runs[0].label)}.</p>",
        _runs_table(runs),
        '<h2 id="metrics">Headline metrics</h2>',
        _metrics_table(runs),
        basis_note(runs),
        '<h2 id="equity">Equity and drawdowns</h2>',
        f'<figure id="fig-equity">{_curves_svg(runs, drawdown=False)}</figure>',
        f'<figure id="fig-drawdown">{_curves_svg(runs, drawdown=True)}</figure>',
        '<h2 id="regimes">Regimes</h2>',
        _regime_strips(runs),
        _regime_shares(runs),
        '<h2 id="config">Config differences</h2>',
        _config_section(runs),
        "</div></body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_compare(folders: Sequence[Path], out: Path) -> Path:
    """Read every run, then write the comparison page to `out` atomically; RunFolderError on bad input."""
    out = Path(out)
    if out.is_dir():
        raise RunFolderError(f"{out}: is a folder (--out takes the HTML file to write)")
    runs = load_runs(folders)
    page = compare_page(runs)
    from regimeshift.core.atomic import atomic_write_text  # noqa: PLC0415

    try:
        atomic_write_text(out, page)
    except OSError as err:
        if err.errno is None:
            raise RunFolderError(f"{out}: cannot write ({one_line(err)})") from None
        # named after `out`, not the temporary file beside it; the command line's OSError handler tells the
        # machine refusing (read-only, permission, disk full: exit 3) from a path that is not a folder (exit 2)
        raise OSError(err.errno, err.strerror or str(err), str(out)) from None
    return out


__all__ = ["RunFolderError", "compare_page", "config_differences", "flatten", "format_runs", "list_runs",
           "load_runs", "read_metrics", "write_compare"]
