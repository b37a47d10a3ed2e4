"""reports/: headline metrics, per-regime and stress tables, regime figures and the tearsheet HTML."""

from __future__ import annotations

import dataclasses
import html as html_lib
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from regimeshift.reports.inputs import ReportData
from regimeshift.reports.metrics import performance_metrics, regime_table, stress_table
from regimeshift.reports.regime_svg import regime_runs
from regimeshift.reports.tearsheet import build_regime_section, write_tearsheet

from tests.conftest import requires_shared

REGIMES = ["abundant", "tightening", "crunch"]
SLEEVES = ["growth", "value", "bonds", "gold", "cash"]
TRANSMAT = np.array([[0.98, 0.015, 0.005], [0.03, 0.95, 0.02], [0.02, 0.05, 0.93]])
XSS_TITLE = "<script>alert(1)</script>"
XSS_BENCH = "<i>SPY</i>"
STRATEGY = "Strategy"


def make_report_data(
    *,
    years: int = 5,
    seed: int = 11,
    end: str = "2026-02-27",
    title: str = "synthetic run",
    benchmark_name: str = "SPY",
    warnings: tuple[str, ...] = ("Costs are OFF", "Same-bar execution"),
) -> ReportData:
    """Seeded synthetic run: sticky 3-regime path, regime-dependent returns, weights, sleeve returns."""
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range(end=end, periods=252 * years)
    n = len(idx)
    state = np.zeros(n, dtype=int)
    for t in range(1, n):
        state[t] = rng.choice(3, p=TRANSMAT[state[t - 1]])
    bench = rng.normal(np.array([6e-4, 1e-4, -1e-3])[state], np.array([0.008, 0.012, 0.025])[state])
    strat = 0.6 * bench + rng.normal(1e-4, 0.004, n)
    probs = rng.dirichlet(np.ones(3), n) * 0.3
    probs[np.arange(n), state] += 0.7
    probabilities = pd.DataFrame(probs, index=idx, columns=REGIMES)
    probabilities.iloc[:60] = np.nan  # before the first fit
    refits = tuple(idx[60::21])
    targets = np.array([[0.5, 0.3, 0.1, 0.05, 0.05], [0.25, 0.25, 0.3, 0.1, 0.1], [0.0, 0.1, 0.4, 0.3, 0.2]])
    weights = pd.DataFrame(targets[state], index=idx, columns=SLEEVES).iloc[::5]
    sleeve_returns = pd.DataFrame(rng.normal(0, 0.01, (n, 4)), index=idx, columns=SLEEVES[:4])
    returns, benchmark = pd.Series(strat, index=idx), pd.Series(bench, index=idx)
    metrics = {
        "strategy": performance_metrics(returns),
        "benchmark": performance_metrics(benchmark),
        "n_refits": len(refits),
        "n_nonconverged": 1,
    }
    return ReportData(
        title=title,
        returns=returns,
        benchmark=benchmark,
        benchmark_name=benchmark_name,
        probabilities=probabilities,
        weights=weights,
        refit_dates=refits,
        transmat=pd.DataFrame(TRANSMAT, index=REGIMES, columns=REGIMES),
        metrics=metrics,
        config_summary={"Strategy": "regime rotation", "Sleeves": ", ".join(SLEEVES), "Costs": "5 bp",
                        "Execution": "next open", "Seed": str(seed)},
        warnings=warnings,
        sleeve_returns=sleeve_returns,
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[ReportData, Path, str]:
    data = make_report_data(title=XSS_TITLE, benchmark_name=XSS_BENCH)
    out_dir = tmp_path_factory.mktemp("tearsheet")
    path = write_tearsheet(data, out_dir / "tearsheet.html")
    return data, path, path.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------------- tearsheet
def test_tearsheet_returns_the_path_it_wrote(report):
    _, path, _ = report
    assert path.name == "tearsheet.html" and path.stat().st_size > 0


def test_tearsheet_leaves_no_temporary_files(report):
    _, path, _ = report
    assert [p.name for p in path.parent.iterdir()] == ["tearsheet.html"]


def test_tearsheet_has_regime_story_section(report):
    html = report[2]
    assert 'id="regime-story"' in html
    assert "Regime story" in html


def test_tearsheet_has_quantstats_metrics_table(report):
    html = report[2]
    assert "Key Performance Metrics" in html
    assert "Cumulative Return" in html
    assert "Sharpe" in html


def test_regime_section_comes_before_quantstats_content(report):
    html = report[2]
    assert html.index('id="regime-story"') < html.index("Key Performance Metrics")


def test_tearsheet_has_transition_matrix_with_expected_durations(report):
    html = report[2]
    assert "Transition matrix" in html
    assert "Expected duration" in html
    assert "<td>50.0</td>" in html  # 1 / (1 - 0.98)


def test_tearsheet_has_one_banner_per_warning(report):
    data, _, html = report
    assert html.count('<div class="warning-banner">') == len(data.warnings)
    assert "Costs are OFF" in html


def test_tearsheet_has_three_regime_figures(report):
    html = report[2]
    for fig in ("fig-cumulative", "fig-probabilities", "fig-weights"):
        assert re.search(rf'<figure id="{fig}">\s*<svg', html)


def test_tearsheet_has_stress_section_with_2026_shock_line(report):
    html = report[2]
    section = html[html.index('<section id="stress-scenarios">'):]
    assert "2022 tightening" in section
    assert "2026-02-12 sell-off day" in section
    assert "2026-02-12 shock" in section


def test_tearsheet_loads_nothing_from_the_network(report):
    html = report[2]
    remote = re.findall(r"""\b(?:src|href)\s*=\s*["']?\s*https?://""", html, flags=re.I)
    assert remote == []


def test_tearsheet_escapes_the_title(report):
    html = report[2]
    assert XSS_TITLE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_tearsheet_escapes_the_benchmark_name(report):
    html = report[2]
    assert XSS_BENCH not in html
    assert XSS_BENCH.upper() not in html
    assert "&lt;i&gt;SPY&lt;/i&gt;" in html


def test_tearsheet_shows_one_sharpe_the_runs_and_drops_quantstats_zero_rate_ratios(report):
    data, _, html = report
    row = re.search(r"<tr><td>Sharpe \(excess\)</td><td>([-\d.]+)</td>", html)
    assert row, "the comparison table's Sharpe row not found"
    assert row.group(1) == f"{data.metrics['strategy']['sharpe']:.2f}"
    assert not re.search(r"<tr><td>\s*(Sharpe|Sortino|Smart Sharpe|Omega|Risk-Free Rate)\s*</td>", html)


def test_regime_section_for_20_years_is_small(tmp_path):
    data = make_report_data(years=20, seed=3)
    section = build_regime_section(data)
    assert len(section.encode()) < 1_500_000


# ------------------------------------------------------------------------------------------------- metrics
def _constant(days: int = 756, r: float = 0.001) -> pd.Series:
    return pd.Series(r, index=pd.bdate_range("2020-01-01", periods=days))


def test_performance_metrics_constant_returns_give_exact_cagr():
    m = performance_metrics(_constant())
    assert m["cagr"] == pytest.approx(1.001**252 - 1, rel=1e-12)


def test_performance_metrics_constant_returns_have_no_drawdown():
    assert performance_metrics(_constant())["max_drawdown"] == 0.0


def test_performance_metrics_returns_the_headline_floats():
    m = performance_metrics(_constant())
    assert set(m) == {"cagr", "sharpe", "sortino", "psr", "max_drawdown", "volatility", "calmar"}
    assert all(isinstance(v, float) for v in m.values())


@pytest.fixture
def tiny():
    idx = pd.bdate_range("2024-01-01", periods=6)
    returns = pd.Series([0.01, -0.02, 0.03, 0.0, 0.01, -0.01], index=idx)
    benchmark = pd.Series([0.02, 0.0, -0.01, 0.01, -0.03, 0.0], index=idx)
    regime = pd.Series(["a", "a", "b", "b", "a", "b"], index=idx)
    return returns, benchmark, regime


def test_regime_table_counts_days_and_share(tiny):
    t = regime_table(*tiny)
    assert list(t.index) == ["a", "b"]
    assert t.loc["a", "days"] == 3 and t.loc["b", "days"] == 3
    assert t.loc["a", "share"] == pytest.approx(0.5)


def test_regime_table_annualises_the_regime_days_only(tiny):
    t = regime_table(*tiny)
    assert t.loc["a", "strategy_ann_return"] == pytest.approx((1.01 * 0.98 * 1.01) ** (252 / 3) - 1)
    x = np.array([0.01, -0.02, 0.01])
    assert t.loc["a", "strategy_volatility"] == pytest.approx(x.std(ddof=1) * math.sqrt(252))
    assert t.loc["a", "strategy_sharpe"] == pytest.approx(x.mean() / x.std(ddof=1) * math.sqrt(252))


def test_regime_table_max_drawdown_is_within_the_regime(tiny):
    t = regime_table(*tiny)
    assert t.loc["a", "strategy_max_drawdown"] == pytest.approx(0.98 - 1)  # 1.01 -> 0.9898
    assert t.loc["b", "strategy_max_drawdown"] == pytest.approx(0.99 - 1)  # 1.03 -> 1.03 -> 1.0197
    assert t.loc["b", "benchmark_max_drawdown"] == pytest.approx(0.99 - 1)  # -1 % then +1 %, 0 %


def test_regime_table_keeps_requested_order_and_empty_regimes(tiny):
    t = regime_table(*tiny, order=["b", "a", "crunch"])
    assert list(t.index) == ["b", "a", "crunch"]
    assert t.loc["crunch", "days"] == 0 and math.isnan(t.loc["crunch", "strategy_ann_return"])


def test_regime_table_ignores_days_without_a_regime(tiny):
    returns, benchmark, regime = tiny
    t = regime_table(returns, benchmark, regime.iloc[2:])  # first two days unlabelled
    assert t.loc["a", "days"] == 1
    assert t["share"].sum() == pytest.approx(1.0)


def _year_2020():
    idx = pd.bdate_range("2020-01-01", "2020-12-31")
    return pd.Series(0.001, index=idx), pd.Series(-0.001, index=idx)


def test_stress_table_skips_windows_without_data():
    t = stress_table(*_year_2020())
    assert list(t.index) == ["Covid crash"]


def test_stress_table_skips_windows_only_partly_covered():
    returns, benchmark = _year_2020()
    t = stress_table(returns, benchmark, {"straddles start": ("2019-12-01", "2020-01-31"),
                                          "inside": ("2020-03-02", "2020-03-06")})
    assert list(t.index) == ["inside"]


def test_stress_table_compounds_window_returns():
    t = stress_table(*_year_2020(), windows={"week": ("2020-03-02", "2020-03-06")})
    assert t.loc["week", "days"] == 5
    assert t.loc["week", "strategy_return"] == pytest.approx(1.001**5 - 1)
    assert t.loc["week", "strategy_max_drawdown"] == 0.0
    assert t.loc["week", "benchmark_max_drawdown"] == pytest.approx(0.999**5 - 1)


# ------------------------------------------------------------------------------------------------- plots
def test_regime_runs_merges_contiguous_days():
    idx = pd.bdate_range("2024-01-01", periods=6)
    runs = regime_runs(pd.Series(["a", "a", "b", "b", "b", "a"], index=idx))
    assert [(name, start) for name, start, _ in runs] == [("a", idx[0]), ("b", idx[2]), ("a", idx[5])]
    assert runs[0][2] == idx[2]  # a run ends where the next starts


# ------------------------------------------------------------------------------------------------- QuantStats defects
def _tables(page: str) -> list[tuple[list[str], list[list[str]]]]:
    """(header cells, body rows) of every table on the page, text unescaped."""
    out = []
    for table in re.findall(r"<table\b[^>]*>(.*?)</table>", page, flags=re.S):
        head = [html_lib.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<th\b[^>]*>(.*?)</th>", table, re.S)]
        body = table[table.index("<tbody>"):] if "<tbody>" in table else table
        rows = [[html_lib.unescape(c) for c in re.findall(r"<td\b[^>]*>(.*?)</td>", row, re.S)]
                for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
        out.append((head, rows))
    return out


def _eoy_table(page: str) -> tuple[list[str], list[list[str]]]:
    section = page[page.index("EOY Returns vs Benchmark</h3>"):]
    return _tables(section)[0]


def test_cagr_label_has_a_plain_percent_sign_not_the_small_one_fonts_lack(report):
    page = report[2]
    assert "\ufe6a" not in page
    assert "<tr><td>CAGR%</td>" in page


def test_every_table_with_both_puts_the_strategy_before_the_benchmark(report):
    data, _, page = report
    both = [head for head, _ in _tables(page) if STRATEGY in head and data.benchmark_name in head]
    # per-regime, stress, QuantStats' metrics and EOY tables (the comparison table's strategy column is its first)
    assert len(both) == 4
    assert all(head.index(STRATEGY) < head.index(data.benchmark_name) for head in both), both


def test_quantstats_metrics_columns_are_strategy_then_benchmark_with_the_values_moved_along(report):
    data, _, page = report
    row = re.search(r"<tr><td>Cumulative Return</td><td>([-\d.]+)%</td><td>([-\d.]+)%</td></tr>", page)
    total = [float((1 + r).prod() - 1) for r in (data.returns, data.benchmark)]
    assert [float(x) for x in row.groups()] == pytest.approx([100 * t for t in total], abs=0.006)


def test_eoy_table_drops_the_multiplier_column(report):
    data, _, page = report
    head, _ = _eoy_table(page)
    assert head == ["Year", STRATEGY, data.benchmark_name, "Won"]
    assert "Multiplier" not in page


def test_eoy_table_labels_the_years_the_data_covers_only_in_part(report):
    data, _, page = report
    _, rows = _eoy_table(page)
    assert (data.returns.index[0], data.returns.index[-1]) == (pd.Timestamp("2021-05-03"), pd.Timestamp("2026-02-27"))
    assert [r[0] for r in rows] == ["2021 (3 May - 31 Dec)", "2022", "2023", "2024", "2025", "2026 (1 Jan - 27 Feb)"]


def test_eoy_won_column_says_whether_the_strategy_beat_the_benchmark_that_year(report):
    data, _, page = report
    _, rows = _eoy_table(page)
    for year_label, strat, bench, won in rows:
        year = int(year_label[:4])
        s = float((1 + data.returns[data.returns.index.year == year]).prod() - 1)
        b = float((1 + data.benchmark[data.benchmark.index.year == year]).prod() - 1)
        assert float(strat) == pytest.approx(100 * s, abs=0.006) and float(bench) == pytest.approx(100 * b, abs=0.006)
        assert won == ("+" if s > b else "-")


def _heatmap_cells(page: str) -> list[float]:
    """The numbers written in the monthly heatmap's cells (each cell's value is a text with two decimals)."""
    start = page.index('<div id="monthly_heatmap">')
    figure = page[start: page.index("</svg>", start)]
    return [float(x) for x in re.findall(r">(-?\d+\.\d\d)</text>", figure)]


def test_monthly_heatmap_leaves_the_months_without_data_blank(report):
    data, _, page = report
    monthly = (1 + data.returns).groupby(data.returns.index.to_period("M")).prod() - 1
    # May 2021 .. Feb 2026: 58 months with data; Jan-Apr 2021 and Mar-Dec 2026 have no value at all
    assert len(monthly) == 58
    assert _heatmap_cells(page) == pytest.approx(list(100 * monthly.to_numpy()), abs=0.006)


def test_regime_figures_use_the_one_regime_palette(report):
    from regimeshift.core.palette import regime_colours

    page = report[2]
    figure = page[page.index('<figure id="fig-probabilities">'):]
    figure = figure[: figure.index("</figure>")]
    for colour in regime_colours(REGIMES).values():
        assert f'fill="{colour}"' in figure, colour


# ------------------------------------------------------------------------------------------------- QuantStats part
@pytest.fixture(scope="module")
def qs_inputs():
    # QuantStats restyles matplotlib when first imported; imported here, outside the rc_context either page is
    # drawn in, so both pages draw with its style (the product imports it before its first figure as well)
    import quantstats  # noqa: F401

    from regimeshift.reports.qs_report import QSInputs
    from regimeshift.reports.tearsheet import align_inputs

    data = make_report_data(years=2, seed=5, title=XSS_TITLE, benchmark_name=XSS_BENCH)
    returns, benchmark, _ = align_inputs(data)
    return QSInputs(returns, benchmark, data.title, data.benchmark_name)


@pytest.fixture(scope="module")
def qs_page_in_process(qs_inputs) -> str:
    from regimeshift.reports.qs_report import render_page

    from regimeshift.report_stage import reproducible_svg

    with reproducible_svg():
        return render_page(qs_inputs, workers=1)


def test_assembled_quantstats_page_is_byte_identical_to_quantstats_reports_html(qs_inputs, qs_page_in_process,
                                                                               monkeypatch):
    """Same QuantStats calls, same template filling; the reference runs html() on matplotlib's own SVG canvas."""
    from regimeshift.reports import _svg_backend
    from regimeshift.reports.qs_report import BACKEND, plain_html

    from regimeshift.report_stage import reproducible_svg

    monkeypatch.setattr(_svg_backend, "SKIP_REDRAWS", False)  # no skipped draws: matplotlib's SVG canvas as is
    with reproducible_svg():
        reference = plain_html(qs_inputs, backend=BACKEND)
    assert qs_page_in_process == reference


def test_quantstats_pieces_rendered_in_worker_processes_give_the_same_bytes(qs_inputs, qs_page_in_process):
    from regimeshift.reports.qs_report import render_page

    from regimeshift.report_stage import reproducible_svg

    with reproducible_svg():
        assert render_page(qs_inputs, workers=2) == qs_page_in_process


def test_unknown_quantstats_layout_falls_back_to_quantstats_reports_html(qs_inputs, monkeypatch):
    from regimeshift.reports import qs_report

    monkeypatch.setattr(qs_report, "TEMPLATE_KEYS", frozenset({"not_in_this_template"}))
    page = qs_report.render_page(qs_inputs, workers=1)
    assert "Key Performance Metrics" in page and "{{" not in page


@pytest.mark.parametrize("years, seed", [(2, 5), (18, 3), (1, 2)])
def test_quantstats_tables_computed_here_equal_quantstats_own(years, seed):
    """The page's metrics, EOY and worst-drawdown tables come from reports.qs_tables, not QuantStats: the same
    figures as QuantStats' reports.metrics / stats.compare / drawdown_details, to the byte, once the page's fixes
    (dropped rows, column order) are applied to both."""
    from regimeshift.reports.qs_fixes import fix_quantstats_page
    from regimeshift.reports.qs_report import QSInputs, native_pieces, quiet, render_piece
    from regimeshift.reports.tearsheet import align_inputs

    returns, benchmark, _ = align_inputs(make_report_data(years=years, seed=seed))
    inputs = QSInputs(returns, benchmark, "t", "SPY")
    mine = native_pieces(inputs, skip=frozenset(FIGURE_KEYS))
    with quiet():
        theirs = {**render_piece("metrics", inputs), **render_piece("eoy", inputs), **render_piece("dd_info", inputs)}

    def fixed(table: str) -> str:
        return fix_quantstats_page('<div id="right">' + table + "</div>")

    assert fixed(mine["metrics"]) == fixed(theirs["metrics"])
    assert mine["eoy_table"] == theirs["eoy_table"] and mine["eoy_title"] == theirs["eoy_title"]
    assert mine["dd_info"] == theirs["dd_info"]


@pytest.mark.parametrize("case", ["never_recovers", "flat_benchmark", "mostly_flat_strategy"])
def test_quantstats_tables_computed_here_equal_quantstats_own_on_awkward_series(case):
    from regimeshift.reports.qs_fixes import fix_quantstats_page
    from regimeshift.reports.qs_report import QSInputs, native_pieces, quiet, render_piece

    rng = np.random.default_rng(1)
    n = 800
    r, b = rng.normal(0.0005, 0.01, n), rng.normal(0.0003, 0.012, n)
    if case == "never_recovers":  # below water from the first day to the last: no drawdown row of its own
        r = rng.normal(-0.002, 0.01, n)
    elif case == "flat_benchmark":
        b = np.zeros(n)
    else:
        r[rng.random(n) < 0.5] = 0.0
    idx = pd.bdate_range("2015-03-02", periods=n)
    inputs = QSInputs(pd.Series(r, idx), pd.Series(b, idx), "t", "SPY")
    mine = native_pieces(inputs, skip=frozenset(FIGURE_KEYS))
    with quiet():
        theirs = {**render_piece("metrics", inputs), **render_piece("dd_info", inputs)}
    assert fix_quantstats_page(mine["metrics"]) == fix_quantstats_page(theirs["metrics"])
    assert mine["dd_info"] == theirs["dd_info"]


FIGURE_KEYS = ("returns", "log_returns", "vol_returns", "monthly_dist", "daily_returns", "rolling_beta",
               "rolling_vol", "rolling_sharpe", "rolling_sortino", "dd_periods", "dd_plot", "monthly_heatmap",
               "returns_dist")


def test_every_quantstats_figure_is_drawn_once_and_names_its_basis(report):
    page = report[2]
    for key in FIGURE_KEYS[1:]:  # (QuantStats' template puts the first figure in a <div> without an id)
        start = page.index(f'<div id="{key}">')
        assert page.count(f'<div id="{key}">') == 1 and "<svg" in page[start: start + 300], key
    titles = re.findall(r'font-weight="bold">([^<]*)</text>', page)
    # the rolling ratios over the run's rate (no rate in this ReportData: a 0% rate), windows in trading days
    assert "Rolling Sharpe (126 trading days, over a 0% rate)" in titles
    assert "Rolling Sortino (126 trading days, over a 0% rate)" in titles
    assert "Rolling Volatility (126 trading days, annualised x sqrt(252))" in titles
    assert "Distribution of Monthly Returns (calendar months, compounded)" in titles
    assert "Cumulative Returns vs Benchmark (compounded daily)" in titles


def test_rolling_ratios_are_over_the_runs_rate_when_it_has_one():
    from regimeshift.reports.qs_figures import FigureInputs, rolling_sharpe

    data = make_report_data(years=2, seed=5)
    rf = pd.Series(0.0001, index=data.returns.index)
    svg = rolling_sharpe(FigureInputs(data.returns, data.benchmark.reindex(data.returns.index).fillna(0.0), "SPY",
                                      risk_free=rf, risk_free_label="IRX"))
    assert "Rolling Sharpe (126 trading days, excess over IRX)" in svg


def test_a_line_keeps_every_pixel_columns_lowest_and_highest_point():
    from regimeshift.reports.svg_chart import thin

    rng = np.random.default_rng(0)
    x = np.arange(10_000, dtype=float)
    y = rng.normal(size=x.size)
    px = x / 20.0  # 20 points per pixel column
    tx, ty = thin(x, y, px)
    assert len(tx) < len(x) / 4
    cols = np.floor(px).astype(int)
    kept = np.floor(tx / 20.0).astype(int)
    for c in (0, 17, 499):
        assert ty[kept == c].min() == y[cols == c].min() and ty[kept == c].max() == y[cols == c].max()
    assert tx[0] == x[0] and tx[-1] == x[-1]


def test_an_unknown_quantstats_template_falls_back_to_quantstats_drawing_the_page(qs_inputs, monkeypatch):
    from regimeshift.reports import qs_report, tearsheet

    monkeypatch.setattr(qs_report, "TEMPLATE_KEYS", frozenset({"not_in_this_template"}))
    with pytest.raises(qs_report.UnsupportedQuantStats):
        qs_report.native_page(qs_inputs)
    page = tearsheet.quantstats_page(qs_inputs, workers=1)
    assert "Key Performance Metrics" in page and "{{" not in page


def test_tearsheet_leaves_the_pyplot_backend_as_it_was(tmp_path):
    import matplotlib

    before = matplotlib.get_backend()
    write_tearsheet(make_report_data(years=1, seed=2), tmp_path / "t.html", workers=1)
    assert matplotlib.get_backend() == before


def test_the_tearsheet_is_drawn_in_the_calling_process_without_quantstats_or_matplotlib(tmp_path):
    """Importing QuantStats costs ~1.2 s and a forked worker more than it saves: a run's page needs neither
    (nor matplotlib: every figure is written as SVG directly)."""
    import subprocess
    import sys

    from tests.conftest import REPO

    heavy = ("quantstats", "matplotlib", "seaborn", "scipy.stats")
    code = (
        "import multiprocessing, sys\n"
        "from tests.test_reports import make_report_data\n"
        "from regimeshift.reports.tearsheet import write_tearsheet\n"
        "data = make_report_data(years=2, seed=1)\n"
        "before = set(sys.modules)\n"
        f"write_tearsheet(data, {str(tmp_path / 't.html')!r})\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules and m not in before),"
        " len(multiprocessing.active_children()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "0"], out.stdout + out.stderr
    assert "findfont" not in out.stderr


def test_report_workers_follow_the_environment(monkeypatch):
    from regimeshift.reports.qs_report import WORKERS_ENV, worker_count

    monkeypatch.setenv(WORKERS_ENV, "1")
    assert worker_count() == 1
    assert worker_count(1) == 1


def test_tearsheet_is_byte_deterministic_across_processes(tmp_path):
    from regimeshift.report_stage import reproducible_svg

    data = make_report_data(years=1, seed=4)
    with reproducible_svg():
        a = write_tearsheet(data, tmp_path / "a.html", workers=2).read_bytes()
        b = write_tearsheet(data, tmp_path / "b.html", workers=1).read_bytes()
    assert a == b


# ------------------------------------------------------------------------------------------------- headline formats
COSTS = {"turnover": 3.9819, "n_trades": 1526, "n_rebalances": 153, "commission_paid": 41630.4, "slippage_paid": 41629.9,
         "costs_total": 83260.3, "cost_drag": 0.0491, "cost_drag_annual": 0.003982, "interest_earned": 3234.46,
         "n_orders": 1526, "n_rejected_orders": 0, "n_partial_orders": 2.0, "fill_price": "next_open"}


def _execution_rows(html: str) -> dict[str, str]:
    table = html[html.index("<h3>Strategy execution</h3>"):]
    table = table[: table.index("</table>")]
    return dict(re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", table))


@pytest.fixture(scope="module")
def headline() -> dict[str, str]:
    data = make_report_data(years=1)
    metrics = {**data.metrics, "initial_cash": 1_000_000.0, "strategy": {**data.metrics["strategy"], **COSTS},
               "benchmark": {"symbol": "SPY", **data.metrics["benchmark"]}}
    return _execution_rows(build_regime_section(dataclasses.replace(data, metrics=metrics)))


@pytest.mark.parametrize(
    ("label", "shown"),
    [("Commission paid", "41,630"), ("Slippage paid", "41,630"), ("Costs (total)", "83,260"),
     ("Interest earned", "3,234"), ("Initial capital", "1,000,000")],
)
def test_money_is_shown_in_whole_units_with_thousands_separators(headline, label, shown):
    assert headline[label] == shown


def test_cost_drag_is_shown_as_a_percent_and_turnover_as_times_a_year(headline):
    assert headline["Cost drag (ann.)"] == "0.4%"
    assert headline["Cost drag (share of profit)"] == "4.9%"
    assert headline["Turnover (ann.)"] == "3.98x"  # as the comparison table prints it


@pytest.mark.parametrize(
    ("label", "shown"),
    [("Trades (fills)", "1,526"), ("Rebalances", "153"), ("Rejected orders", "0"), ("Partially filled orders", "2")],
)
def test_counts_are_shown_as_whole_numbers(headline, label, shown):
    assert headline[label] == shown


def test_trades_and_orders_are_one_row_not_two(headline):
    assert "Orders" not in headline and "Trades" not in headline


def test_text_metrics_stay_out_of_the_execution_table(headline):
    # the fill price is in the Run table's Execution row
    assert "next_open" not in str(headline) and "Symbol" not in headline and "Fill price" not in headline


def test_small_amounts_keep_their_cents_and_missing_ones_show_a_dash():
    from regimeshift.reports.tearsheet import format_metric

    assert [format_metric("slippage_paid", x) for x in (12.345, -0.001, 0.0, None, math.nan)] == [
        "12.35", "0.00", "0.00", "–", "–"]
    assert format_metric("costs_total", -1234567.8) == "-1,234,568"


# ------------------------------------------------------------------------------------------------- header, from a run
HEADER_CONFIG_EXTRA = """
[execution]
initial_cash = 250000.0
commission_bps = 0.0
slippage_bps = 0.0
timing = "same_bar"

[report]
stress_windows = { "my <window>" = ["2010-01-04", "2010-03-31"] }
"""


@pytest.fixture(scope="module")
def run_tearsheet(tmp_path_factory) -> str:
    """`regimeshift run` (small synthetic config, costs off, same-bar, one user stress window) with its tearsheet."""
    from click.testing import CliRunner

    from regimeshift.cli.app import main

    try:
        from tests.test_cli import SMALL
    except ImportError:  # pragma: no cover
        from test_cli import SMALL  # type: ignore[no-redef]
    base = tmp_path_factory.mktemp("header")
    cfg = base / "header.toml"
    cfg.write_text(SMALL + HEADER_CONFIG_EXTRA)
    res = CliRunner().invoke(main, ["run", str(cfg), "--out", str(base / "run")])
    assert res.exit_code == 0, res.stderr
    return (base / "run" / "tearsheet.html").read_text(encoding="utf-8")


def _config_rows(html: str) -> dict[str, str]:
    table = html[html.index('<table class="config">'):]
    table = table[: table.index("</table>")]
    return dict(re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", table))


def test_run_tearsheet_header_has_the_config_summary(run_tearsheet):
    rows = _config_rows(run_tearsheet)
    for key in ("Strategy", "Sleeves", "Benchmark", "Features", "Regime model", "Execution", "Seed / config hash"):
        assert key in rows, key


def test_run_tearsheet_header_has_data_range_and_refit_counts(run_tearsheet):
    rows = _config_rows(run_tearsheet)
    assert re.match(r"\d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d \([\d,]+ trading days\)", rows["Data range"])
    assert int(rows["Model refits"]) > 0
    assert rows["Non-converged refits"].isdigit()


def test_run_tearsheet_shows_the_configured_initial_capital(run_tearsheet):
    assert _execution_rows(run_tearsheet)["Initial capital"] == "250,000"


def test_run_tearsheet_warns_when_costs_are_off_and_execution_is_same_bar(run_tearsheet):
    banners = re.findall(r'<div class="warning-banner">(.*?)</div>', run_tearsheet)
    assert any("Costs are OFF" in b for b in banners)
    assert any("Same-bar execution" in b for b in banners)


def test_run_tearsheet_execution_row_says_what_the_orders_filled_at(run_tearsheet):
    assert _config_rows(run_tearsheet)["Execution"].startswith(
        "fills at same bar&#x27;s close (optimistic), rebalance monthly, commission 0 bp")


def _result_with(replay_result, **execution):  # type: ignore[no-untyped-def]
    """What run_warnings and config_summary read from a RunResult, around a given replay."""
    from types import SimpleNamespace

    from regimeshift.backtests.config import config_from_dict

    cfg = config_from_dict({"data": {"source": "synthetic"}, "execution": execution})
    returns = pd.DataFrame({"strategy": 0.0}, index=pd.bdate_range("2021-01-01", periods=3))
    refits = pd.DataFrame(index=pd.bdate_range("2021-01-01", periods=12, freq="BMS"))
    regimes = SimpleNamespace(n_nonconverged=0, n_refits=12, refits=refits)
    return SimpleNamespace(config=cfg, regimes=regimes, replay=replay_result, returns=returns)


def _partly_filled_replay():  # type: ignore[no-untyped-def]
    from regimeshift.backtests.config import ExecutionConfig
    from regimeshift.backtests.replay import replay

    idx = pd.bdate_range("2021-03-01", periods=6, name="date")
    prices = pd.DataFrame({"A": [10.0, 10.5, 11.0, 10.8, 11.2, 11.5]}, index=idx)
    targets = pd.DataFrame({"A": [0.5]}, index=idx[:1])

    def at_most_20_000(order, price, ago):  # type: ignore[no-untyped-def]  # a volume filler
        return min(abs(order.executed.remsize), 20_000)

    return replay(prices, targets, ExecutionConfig(), filler=at_most_20_000)


def test_partially_filled_orders_are_a_warning():
    from regimeshift.report_stage import run_warnings

    rep = _partly_filled_replay()
    # one buy of floor(995,000 * 0.5 / 10.5) = 47,380 shares, filled 20,000 + 20,000 + 7,380 over three bars
    assert rep.trades["size"].tolist() == [20_000.0, 20_000.0, 7_380.0] and rep.n_partial == 1
    assert run_warnings(_result_with(rep)) == ("1 order was partially filled (in more than one piece).",)


def test_no_partial_fills_no_warning():
    from regimeshift.backtests.replay import ReplayResult

    from regimeshift.report_stage import run_warnings

    rep = ReplayResult(value=pd.Series(dtype=float), cash=pd.Series(dtype=float), trades=pd.DataFrame(),
                       n_orders=3, n_rejected=0, seconds=0.0, n_partial=0)
    assert run_warnings(_result_with(rep)) == ()


@pytest.mark.parametrize(
    ("fill_price", "shown"),
    [("next_open", "fills at next bar's open (OHLC data), "),
     ("next_close", "fills at next bar's close (close-only data), ")],
)
def test_execution_row_names_the_fill_price_of_the_replay(fill_price, shown):
    from regimeshift.backtests.replay import ReplayResult

    from regimeshift.report_stage import config_summary

    rep = ReplayResult(value=pd.Series(dtype=float), cash=pd.Series(dtype=float), trades=pd.DataFrame(),
                       n_orders=0, n_rejected=0, seconds=0.0, fill_price=fill_price)
    assert config_summary(_result_with(rep))["Execution"].startswith(shown)


def test_run_tearsheet_has_the_stress_windows_of_the_config(run_tearsheet):
    section = run_tearsheet[run_tearsheet.index('<section id="stress-scenarios">'):]
    assert "<td>my &lt;window&gt;</td><td>2010-01-04 to 2010-03-31</td>" in section


def test_synthetic_run_shows_no_real_world_stress_windows(run_tearsheet):
    # 2008, Covid and 2022 are dates of the real market; on the synthetic calendar they name nothing
    section = run_tearsheet[run_tearsheet.index('<section id="stress-scenarios">'):]
    assert "2008 crisis" not in section and "Covid crash" not in section and "2022 tightening" not in section
    assert "2026-02-12 shock" not in section


# ------------------------------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def real_tearsheet(tmp_path_factory) -> str:
    """The shipped config on ../shared/data, once for the whole module."""
    from click.testing import CliRunner

    from regimeshift.cli.app import main
    from tests.conftest import HAS_SHARED, REPO, SHARED_DATA

    if not HAS_SHARED:
        pytest.skip(f"real data not found at {SHARED_DATA} (../shared/data beside the repo)")
    out = tmp_path_factory.mktemp("real") / "run"
    res = CliRunner().invoke(main, ["run", str(REPO / "backtests/configs/liquidity_rotation.toml"),
                                    "--data-dir", str(SHARED_DATA), "--out", str(out)])
    assert res.exit_code == 0, res.stderr
    return (out / "tearsheet.html").read_text(encoding="utf-8")


@requires_shared
@pytest.mark.realdata
@pytest.mark.parametrize("window", ["2008 crisis", "Covid crash", "2022 tightening", "2026-02-12 sell-off day"])
def test_real_data_tearsheet_has_the_stress_window(real_tearsheet, window):
    section = real_tearsheet[real_tearsheet.index('<section id="stress-scenarios">'):]
    section = section[: section.index("</section>")]
    assert f"<tr><td>{window}</td>" in section


@requires_shared
@pytest.mark.realdata
def test_real_data_tearsheet_has_the_one_day_shock_line(real_tearsheet):
    section = real_tearsheet[real_tearsheet.index('<section id="stress-scenarios">'):]
    line = re.search(r'<p class="shock">Current portfolio hit by the 2026-02-12 shock: <b>[+-]?[\d.]+%</b> in one day',
                     section[: section.index("</section>")])
    assert line, "one-day shock line missing"


def test_the_config_table_names_the_regime_model_family_and_its_smoothing():
    from regimeshift.backtests.config import RegimeConfig
    from regimeshift.report_stage import model_family_text, smoothing_text

    assert model_family_text(RegimeConfig(emission="gaussian")) == "GaussianHMM, full covariance"
    assert model_family_text(RegimeConfig()) == (  # the default, emission "auto"
        "HMM, Gaussian or Student-t (degrees of freedom per state) chosen at each cold fit by held-out likelihood, "
        "full covariance")
    assert model_family_text(RegimeConfig(emission="student_t")) == (
        "Student-t HMM (estimated degrees of freedom), full scatter")
    assert model_family_text(RegimeConfig(model="jump", jump_penalty=50.0)) == (
        "statistical jump model (discrete), penalty 50")
    walk = RegimeConfig(model="jump", jump_penalty="cv", penalty_cv="walk", penalty_grid=(0.0, 100.0))
    assert model_family_text(walk) == (
        "statistical jump model (discrete), penalty chosen each month by the 0/1 rule's validation Sharpe from 0, 100")
    assert model_family_text(RegimeConfig(model="gmmhmm", n_mix=3)) == "GMM-HMM (3 Gaussians per state, full covariance)"
    assert smoothing_text(RegimeConfig()) == ""
    assert smoothing_text(RegimeConfig(smooth_days=5)) == "; signal smoothed over 5 days"
    assert smoothing_text(RegimeConfig(smooth_days="cv", smooth_grid=(1, 5))) == (
        "; signal smoothed over k days, k chosen each month by the 0/1 rule's validation Sharpe from 1, 5")


@requires_shared
@pytest.mark.realdata
def test_real_data_heatmap_and_eoy_table_end_with_the_strategy_in_april_2026(real_tearsheet):
    # the prices run to 2026-07-31, the strategy to 2026-04-10: May-Dec 2026 are blank, not 0.00
    start = real_tearsheet.index('<div id="monthly_heatmap">')
    figure = real_tearsheet[start: real_tearsheet.index("</svg>", start)]
    assert figure.count(">2026</text>") == 1  # one row for 2026
    assert len(_heatmap_cells(real_tearsheet)) == 12 * (2026 - 2005) + 4  # Jan 2005 .. Apr 2026
    head, rows = _eoy_table(real_tearsheet)
    assert head == ["Year", STRATEGY, "SPY", "Won"]
    assert rows[0][0] == "2005" and rows[-1][0] == "2026 (2 Jan - 10 Apr)"
