"""Conclusions a reader can trust (issue 19): every ratio on excess returns over one stated rate, the static twin
and the other references beside the strategy, and the value of timing with its interval."""
from __future__ import annotations

import html as html_lib
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w

import regimeshift as rs
from regimeshift.backtests.config import config_from_dict
from regimeshift.backtests.replay import replay_arrays
from regimeshift.core.errors import ConfigError
from regimeshift.reports.comparison import comparison_rows
from regimeshift.reports.metrics import RiskFree, performance_metrics
from regimeshift.reports.timing import timing_value
from tests.conftest import small_synthetic_config
from tests.test_failures import TINY, _env, run_cli


@pytest.fixture(scope="module")
def run_2pct(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A small synthetic run measured over a 2% constant rate, written with its tearsheet."""
    raw = small_synthetic_config().model_dump()
    raw["report"]["risk_free"] = 0.02
    raw["report"]["timing_resamples"] = 400
    result = rs.run(config_from_dict(raw))
    out = result.write(tmp_path_factory.mktemp("conclusions") / "run", report=True)
    return result, out


# -- one definition of every ratio ------------------------------------------------------------------------------
def test_sharpe_is_the_mean_excess_return_over_its_sample_deviation_times_root_252():
    idx = pd.bdate_range("2020-01-01", periods=500)
    r = pd.Series(np.random.default_rng(3).normal(4e-4, 0.01, 500), index=idx)
    rf = RiskFree.annual(0.03)
    x = r.to_numpy() - 0.03 / 252
    m = performance_metrics(r, rf)
    assert m["sharpe"] == pytest.approx(x.mean() / x.std(ddof=1) * math.sqrt(252), rel=1e-12)
    assert m["sortino"] == pytest.approx(x.mean() / math.sqrt((np.minimum(x, 0) ** 2).mean()) * math.sqrt(252),
                                         rel=1e-12)
    assert m["cagr"] == pytest.approx(np.prod(1 + r.to_numpy()) ** (252 / 500) - 1, rel=1e-12)  # total, not excess


def test_a_book_that_earns_exactly_the_risk_free_series_has_no_excess_return():
    idx = pd.bdate_range("2020-01-01", periods=300)
    daily = pd.Series(np.linspace(0.01, 0.05, 300) / 252, index=idx)
    m = performance_metrics(daily, RiskFree("TBILL", daily))
    assert math.isnan(m["sharpe"])  # zero excess, zero spread: no ratio, not a huge one
    assert m["cagr"] > 0


def test_metrics_json_records_the_rate_and_the_basis_and_every_ratio_uses_it(run_2pct):
    result, out = run_2pct
    m = json.loads((out / "metrics.json").read_text())
    assert m["risk_free"] == 0.02
    assert "daily excess returns over 2% a year" in m["basis"] and "sqrt(252)" in m["basis"]
    r = pd.read_csv(out / "returns.csv", index_col=0, parse_dates=True)["strategy"]
    x = r.to_numpy() - 0.02 / 252
    assert m["strategy"]["sharpe"] == pytest.approx(x.mean() / x.std(ddof=1) * math.sqrt(252), rel=1e-9)
    zero = performance_metrics(r)["sharpe"]
    assert m["strategy"]["sharpe"] < zero  # a positive rate lowers every Sharpe


def test_the_default_rate_is_the_cash_rate_the_replay_pays(shared_data: Path):
    cfg = rs.load_config(Path(__file__).parents[1] / "backtests" / "configs" / "liquidity_rotation.toml")
    raw = cfg.model_dump()
    raw["data"]["start"], raw["data"]["end"] = "2019-01-02", "2020-12-31"
    raw["report"]["timing_resamples"] = 200
    result = rs.run(config_from_dict(raw), data_dir=shared_data)
    m = result.metrics
    assert m["risk_free"] == "IRX" and "over IRX" in m["basis"]
    # an independent reading: IRX % a year / 100 / 252, the value known at the previous close
    irx = result.pipeline.market.macro["IRX"].reindex(result.returns.index).ffill() / 100 / 252
    rf = np.r_[0.0, irx.to_numpy()[:-1]]
    x = result.returns["strategy"].to_numpy() - rf
    assert m["strategy"]["sharpe"] == pytest.approx(x.mean() / x.std(ddof=1) * math.sqrt(252), rel=1e-9)


# -- the static twin and the references beside the strategy -----------------------------------------------------
def test_the_static_twin_holds_the_strategys_average_weights_on_its_calendar(run_2pct):
    result, out = run_2pct
    cfg = result.config
    w = pd.read_csv(out / "weights.csv", index_col=0, parse_dates=True)
    avg = w.mean()
    symbols = {sym: avg[sleeve] * share / sum(members.values())
               for sleeve, members in cfg.sleeves.items() for sym, share in members.items()}
    prices = result.pipeline.market.prices.loc[w.index]
    calendar = prices.index.to_series().groupby([prices.index.year, prices.index.month]).head(1).index
    twin = replay_arrays(prices, pd.DataFrame([symbols] * len(calendar), index=calendar), cfg.execution)
    np.testing.assert_allclose(result.benchmarks["static_twin"].to_numpy(), twin.returns.to_numpy(),
                               rtol=1e-10, atol=1e-14)
    m = json.loads((out / "metrics.json").read_text())
    assert m["benchmarks"]["static_twin"]["sharpe"] == pytest.approx(
        performance_metrics(twin.returns, RiskFree.annual(0.02))["sharpe"], rel=1e-9)


def test_static_twin_and_equal_weight_report_the_same_keys_as_the_strategy(run_2pct):
    m = json.loads((run_2pct[1] / "metrics.json").read_text())
    for name in ("static_twin", "equal_weight", "sixty_forty", "buy_hold"):
        assert set(m["benchmarks"][name]) == set(m["strategy"]), name


# -- the value of timing ----------------------------------------------------------------------------------------
def test_timing_is_strategy_minus_twin_with_an_interval_around_it(run_2pct):
    result, out = run_2pct
    m = json.loads((out / "metrics.json").read_text())
    t, s, twin = m["timing"], m["strategy"], m["benchmarks"]["static_twin"]
    assert t["sharpe_diff"] == pytest.approx(s["sharpe"] - twin["sharpe"], rel=1e-9, abs=1e-12)
    assert t["cagr_diff"] == pytest.approx(s["cagr"] - twin["cagr"], rel=1e-9, abs=1e-12)
    assert t["max_drawdown_diff"] == pytest.approx(s["max_drawdown"] - twin["max_drawdown"], rel=1e-9, abs=1e-12)
    for key in ("sharpe_diff_ci", "cagr_diff_ci", "max_drawdown_diff_ci"):
        lo, hi = t[key]
        assert lo < hi
    assert t["confidence"] == 0.9 and t["n_boot"] == 400 and t["block_length"] >= 1
    assert t["sentence"].startswith("Regime timing changed Sharpe by ")


def test_the_timing_interval_is_seeded():
    idx = pd.bdate_range("2015-01-01", periods=800)
    rng = np.random.default_rng(0)
    a, b = pd.Series(rng.normal(5e-4, 0.01, 800), index=idx), pd.Series(rng.normal(3e-4, 0.01, 800), index=idx)
    one, two = timing_value(a, b, seed=5, n_boot=300), timing_value(a, b, seed=5, n_boot=300)
    assert one == two
    assert timing_value(a, b, seed=6, n_boot=300).sharpe_diff_ci != one.sharpe_diff_ci


@pytest.mark.parametrize("block", [1.0, 2.5, 20.0, 400.0])  # scored day by day below RUNS_FROM, by runs above
def test_every_resample_is_scored_by_the_metrics_definitions_on_its_days(block: float):
    from regimeshift.reports.metrics import cagr_of, max_drawdown_of, sharpe_ratio
    from regimeshift.reports.timing import ResampleScorer, stationary_draws, stationary_indices

    rng = np.random.default_rng(3)
    n = 700
    a, b = rng.normal(5e-4, 0.012, n), rng.normal(2e-4, 0.008, n)
    a[100], b[n - 1] = -0.25, 0.3  # a crash and a jump: the paths have to compound through them
    rf = np.full(n, 1e-4)
    got = ResampleScorer(np.stack([a, b]), rf, block)(*stationary_draws(np.random.default_rng(9), n, block, 12))
    for i, days in enumerate(stationary_indices(np.random.default_rng(9), n, block, 12)):
        for j, r in enumerate((a[days], b[days])):
            want = (sharpe_ratio(r - rf[days]), cagr_of(r), max_drawdown_of(r))
            assert got[i, j] == pytest.approx(want, rel=1e-10, abs=1e-13)


def test_a_strategy_equal_to_its_twin_gains_nothing_from_timing():
    idx = pd.bdate_range("2015-01-01", periods=600)
    a = pd.Series(np.random.default_rng(1).normal(4e-4, 0.01, 600), index=idx)
    t = timing_value(a, a.copy(), seed=0, n_boot=200)
    assert t.sharpe_diff == 0 and t.sharpe_diff_ci == (0.0, 0.0) and t.max_drawdown_diff_ci == (0.0, 0.0)


# -- what the page shows is what metrics.json says ---------------------------------------------------------------
def _table_after(page: str, heading_id: str) -> list[list[str]]:
    start = page.index(f'id="{heading_id}"')
    table = page[page.index("<table", start): page.index("</table>", start)]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    return [[html_lib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
            for r in rows]


def test_every_figure_of_the_comparison_table_equals_metrics_json(run_2pct):
    _, out = run_2pct
    m = json.loads((out / "metrics.json").read_text())
    page = (out / "tearsheet.html").read_text()
    shown = _table_after(page, "comparison-title")
    titles, rows = comparison_rows(m)
    assert shown[0] == ["", *titles]
    assert titles == ["Strategy", "Static twin", "Equal weight", "60/40", "MARKET held"]
    assert shown[1:] == [[label, *cells] for label, cells in rows]
    # and the formatted cells are the numbers themselves, to their printed digits
    sharpe = dict((r[0], r[1:]) for r in shown[1:])["Sharpe (excess)"]
    expected = [m["strategy"]["sharpe"], *(m["benchmarks"][k]["sharpe"]
                                           for k in ("static_twin", "equal_weight", "sixty_forty", "buy_hold"))]
    assert [float(c) for c in sharpe] == [round(v, 2) for v in expected]


def test_the_page_states_the_basis_and_the_value_of_timing(run_2pct):
    _, out = run_2pct
    m = json.loads((out / "metrics.json").read_text())
    page = html_lib.unescape((out / "tearsheet.html").read_text())
    assert m["basis"] in page and m["timing"]["sentence"] in page
    assert "Ratios over: 2% a year" in page  # QuantStats' header no longer says RF: 0.0%


def test_the_console_prints_the_comparison_the_basis_and_the_timing(tmp_path: Path):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(tomli_w.dumps({**TINY, "report": {"risk_free": 0.01, "timing_resamples": 200}}))
    ran = run_cli(["run", str(cfg), "--out", str(tmp_path / "out"), "--no-report"], tmp_path, _env(tmp_path / "c"))
    assert ran.rc == 0, ran.stderr
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert "Static twin" in ran.stdout and "Equal weight" in ran.stdout
    sharpe_line = next(line for line in ran.stdout.splitlines() if line.startswith("Sharpe (excess)"))
    assert sharpe_line.split()[2] == f"{m['strategy']['sharpe']:.2f}"
    assert f"basis: {m['basis']}" in ran.stdout
    assert f"value of timing: {m['timing']['sentence']}" in ran.stdout


# -- bad input ---------------------------------------------------------------------------------------------------
def test_an_unknown_risk_free_series_is_one_config_error_naming_it(tmp_path: Path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(tomli_w.dumps({**TINY, "report": {"risk_free": "TBILL3M"}}))
    ran = run_cli(["run", str(cfg), "--out", str(tmp_path / "out"), "--no-report"], tmp_path, _env(tmp_path / "c"))
    assert ran.rc == 2
    assert ran.stderr.count("\n") == 1 and "report.risk_free" in ran.stderr and "TBILL3M" in ran.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", [1.5, -0.01, ""])
def test_a_risk_free_rate_outside_0_to_1_or_empty_is_refused(value: float | str):
    raw = small_synthetic_config().model_dump()
    raw["report"]["risk_free"] = value
    with pytest.raises(ConfigError, match="report.risk_free"):
        config_from_dict(raw)


def test_a_risk_free_series_that_does_not_cover_the_run_is_one_error_naming_it():
    import dataclasses

    from regimeshift.data.synthetic import generate_market
    from regimeshift.pipeline import risk_free_stage

    m = generate_market(seed=1, years=2)
    macro = m.macro.assign(TBILL=3.0)
    macro.iloc[:30, macro.columns.get_loc("TBILL")] = np.nan  # the rate starts six weeks into the run
    market = dataclasses.replace(m, macro=macro)
    raw = small_synthetic_config().model_dump()
    raw["data"]["macro"] = [*raw["data"]["macro"], "TBILL"]
    raw["report"]["risk_free"] = "TBILL"
    with pytest.raises(ConfigError) as err:
        risk_free_stage(config_from_dict(raw), market, m.prices.index)
    text = str(err.value)
    assert text.startswith("report.risk_free: series 'TBILL' does not cover the run")
    assert str(m.prices.index[30].date()) in text and "\n" not in text
