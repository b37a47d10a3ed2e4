"""`regimeshift sweep`: bad input stops before any work, variants share regime fits, results survive kill -9 and
resume to the same leaderboard, and the page renders offline."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from regimeshift.cli.app import main
from regimeshift.core.errors import ConfigError
from regimeshift.sweep.run import run_sweep
from regimeshift.sweep.spec import load_spec

from tests.conftest import small_synthetic_toml

GRID = """
[grid]
"strategy.weights.tightening.value" = [0.2, 0.4, 0.6]
"execution.rebalance" = ["monthly", "weekly"]
"strategy.weights.abundant.growth" = [0.7, 0.9]
"""


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One regime cache for the module: the synthetic fit is done once."""
    path = tmp_path_factory.mktemp("rscache")
    old = os.environ.get("REGIMESHIFT_CACHE")
    os.environ["REGIMESHIFT_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("REGIMESHIFT_CACHE", None)
    else:
        os.environ["REGIMESHIFT_CACHE"] = old


def _write(folder: Path, body: str, base_years: float = 6.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "base.toml").write_text(small_synthetic_toml(base_years))
    path = folder / "SWEEP.toml"
    path.write_text('base = "base.toml"\n' + body)
    return path


# -- bad input: one line, exit 2, nothing written -----------------------------------------------------------------
BAD = {
    'colour = "red"\n' + GRID: "SWEEP.toml: colour: unknown key",
    "[grid]\n": "SWEEP.toml: grid: empty",
    '[grid]\n"execution.nonsense" = [1, 2]\n': "SWEEP.toml: execution.nonsense: not a key of the base config",
    '[grid]\n"execution.rebalance" = []\n': "SWEEP.toml: grid.execution.rebalance: empty list",
    '[grid]\n"execution.commission_bps" = ["cheap"]\n': "SWEEP.toml: execution.commission_bps: expected a number",
    '[grid]\n"execution.rebalance" = ["hourly"]\n': "SWEEP.toml: execution.rebalance: Input should be",
    '[grid]\n"execution.fractional" = [1]\n': "SWEEP.toml: execution.fractional: expected true or false",
    '[random]\nn = 0\n"execution.commission_bps" = {low = 1, high = 2}\n': "SWEEP.toml: random.n: expected a whole number",
    '[random]\nn = 3\n"execution.commission_bps" = {low = 5, high = 2}\n': "SWEEP.toml: random.execution.commission_bps",
    'metric = "luck"\n' + GRID: "SWEEP.toml: metric: expected one of",
    # the leaderboard ranks every variant over one rate
    '[grid]\n"report.risk_free" = [0.0, 0.02]\n': "SWEEP.toml: report.risk_free: every variant is measured over one rate",
    '[grid]\n"data.cash_rate" = ["VOLINDEX"]\n': "SWEEP.toml: data.cash_rate: swept while the ratios' rate follows it",
}


@pytest.mark.parametrize("body,message", list(BAD.items()), ids=list(BAD.values()))
def test_bad_input_is_one_line_and_exit_2_before_any_work(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path, body)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["sweep", str(path), "--out", str(out)])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + message), lines
    assert not out.exists()


def test_weights_above_one_are_normalised_or_rejected_as_impossible_variants(tmp_path: Path) -> None:
    body = '[grid]\n"strategy.weights.abundant.growth" = [0.5, 0.95]\n'
    spec = load_spec(_write(tmp_path / "n", 'weights = "normalize"\n' + body))
    assert [v.config is not None for v in spec.variants] == [True, True]
    row = spec.variants[1].config.strategy.weights["abundant"]
    assert sum(row.values()) == pytest.approx(1.0) and spec.variants[1].normalized == ("abundant",)
    spec = load_spec(_write(tmp_path / "r", 'weights = "reject"\n' + body))
    assert spec.variants[0].config is not None and spec.variants[1].config is None
    assert "weights for abundant sum to 1.15" in spec.variants[1].reason  # default: 0.95 + value 0.1 + bonds 0.1


def test_grid_and_random_enumerate_deterministically(tmp_path: Path) -> None:
    body = GRID + '[random]\nn = 4\nseed = 3\n"execution.commission_bps" = {low = 1.0, high = 9.0}\n' \
        '"regimes.sticky" = {choices = [0.0, 5.0]}\n'
    a = load_spec(_write(tmp_path, body))
    b = load_spec(tmp_path / "SWEEP.toml")
    assert len(a.variants) == 12 * 4
    assert [v.key for v in a.variants] == [v.key for v in b.variants]
    assert len({v.key for v in a.variants}) == 48
    assert {v.params["regimes.sticky"] for v in a.variants} <= {0.0, 5.0}


def test_variants_are_made_lazily_a_ten_million_variant_grid_yields_its_first_at_once(tmp_path: Path) -> None:
    import tracemalloc

    ten = [round(0.01 * i, 2) for i in range(1, 11)]
    keys = ["execution.commission_bps", "execution.slippage_bps", "execution.min_commission",
            "execution.cash_buffer", "strategy.weights.abundant.growth", "strategy.weights.tightening.value",
            "strategy.weights.crunch.bonds"]
    spec = load_spec(_write(tmp_path, "[grid]\n" + "".join(f'"{k}" = {ten}\n' for k in keys)))
    tracemalloc.start()
    t0 = time.perf_counter()
    count = len(spec.variants)
    first = next(iter(spec.variants))
    last = spec.variants[-1]
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 10**7
    assert first.index == 0 and first.params == {k: 0.01 for k in keys} and first.config is not None
    assert last.index == 10**7 - 1 and last.params == {k: 0.1 for k in keys}
    # a list of 10^7 variants would take minutes and gigabytes; two variants take milliseconds and kilobytes
    assert peak < 2 * 2**20 and seconds < 5.0, (peak, seconds)


# -- a whole sweep ------------------------------------------------------------------------------------------------
def test_sweep_shares_fits_ranks_and_replays_the_top(tmp_path: Path, cache_dir: Path) -> None:
    spec = load_spec(_write(tmp_path, GRID))
    assert len({v.regime_key for v in spec.variants}) == 1  # weights and rebalance share one walk-forward fit
    out = run_sweep(spec, tmp_path / "out", workers=1, top=1, walk_forward="yearly", progress=False, report=False)
    from regimeshift.sweep.run import walk_forward_daily

    track, bench, _ = walk_forward_daily(spec, out.walk_forward)
    # the daily stitched track compounds to the monthly one the leaderboard reports, year by year
    for row in out.walk_forward.itertuples():
        year = track[track.index.year == row.year]
        assert float((1 + year).prod() - 1) == pytest.approx(row.year_return, rel=1e-9, abs=1e-12)
    assert bench.index.equals(track.index)
    table = out.table
    assert out.n_screened == 12 and (table["status"] == "ok").all()
    assert list(table["rank"]) == list(range(1, 13))
    assert table["sharpe"].is_monotonic_decreasing
    assert table["dsr"].between(0, 1).all()
    assert 0.0 <= out.summary["_pbo"]["pbo"] <= 1.0
    assert (tmp_path / "out" / "walk_forward.csv").is_file()
    # the top variant replayed in backtrader gives the screened numbers
    import json

    replayed = json.loads((out.top_dirs[0] / "metrics.json").read_text())["strategy"]
    assert replayed["sharpe"] == pytest.approx(table.iloc[0]["sharpe"], rel=1e-6)
    assert replayed["max_drawdown"] == pytest.approx(table.iloc[0]["max_drawdown"], rel=1e-6)
    # a rerun screens nothing and writes the same leaderboard
    first = (tmp_path / "out" / "leaderboard.csv").read_text()
    again = run_sweep(spec, tmp_path / "out", workers=1, top=0, walk_forward="yearly", progress=False)
    assert again.n_screened == 0
    assert (tmp_path / "out" / "leaderboard.csv").read_text() == first


def _cli(sweep: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "regimeshift.cli.app", "sweep", str(sweep), "--out", str(out), "--top", "0",
            "--workers", "1", "--no-progress"]


def _stored_rows(out: Path) -> int:
    """Rows in a sweep's results store so far (0 while it does not exist or is busy)."""
    try:
        with sqlite3.connect(f"file:{out / 'results.sqlite'}?mode=ro", uri=True, timeout=0.1) as db:
            return int(db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_kill_9_then_resume_gives_the_uninterrupted_leaderboard(tmp_path: Path, cache_dir: Path) -> None:
    body = GRID + '[random]\nn = 3\nseed = 1\n"execution.commission_bps" = {low = 1.0, high = 9.0}\n'
    sweep = _write(tmp_path, body)
    env = {**os.environ, "REGIMESHIFT_CACHE": str(cache_dir), "REGIMESHIFT_WORKERS": "1"}
    ref = tmp_path / "ref"
    subprocess.run(_cli(sweep, ref), env=env, check=True, capture_output=True, timeout=300)
    out = tmp_path / "killed"
    rng = random.Random(12)
    kills = 0
    for _ in range(2):  # kill mid-screening (after a random share of the first rows), then let the last run finish
        proc = subprocess.Popen(_cli(sweep, out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # a fixed sleep raced the sweep once its fits were cached (it finished before the kill): wait for the
        # store's first rows instead, bounded in time
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline and _stored_rows(out) < 1:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
    done = subprocess.run(_cli(sweep, out), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert kills >= 1
    with sqlite3.connect(out / "results.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 36
    a = pd.read_csv(ref / "leaderboard.csv")
    b = pd.read_csv(out / "leaderboard.csv")
    pd.testing.assert_frame_equal(a, b)


def test_impossible_variants_are_reported(tmp_path: Path, cache_dir: Path) -> None:
    sweep = _write(tmp_path, 'weights = "reject"\n[grid]\n"strategy.weights.abundant.growth" = [0.5, 0.95]\n')
    res = CliRunner().invoke(main, ["sweep", str(sweep), "--out", str(tmp_path / "o"), "--top", "0",
                                    "--workers", "1", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "1 impossible" in res.output
    assert "impossible variant 1: field 'strategy.weights'" in res.output
    table = pd.read_csv(tmp_path / "o" / "leaderboard.csv")
    assert list(table["status"]) == ["ok", "impossible"]


def test_a_setting_that_takes_a_word_or_a_number_sweeps_over_both(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, '[grid]\n"regimes.smooth_days" = [1, 5, "cv"]\n'))
    assert [v.config.regimes.smooth_days for v in spec.variants] == [1, 5, "cv"]
    with pytest.raises(ConfigError, match="regimes.smooth_days: expected a number, got 'weekly'"):
        load_spec(_write(tmp_path, '[grid]\n"regimes.smooth_days" = [1, "weekly"]\n'))


def test_a_sweep_over_smoothing_screens_every_variant_including_the_cross_validated_one(tmp_path: Path,
                                                                                        cache_dir: Path) -> None:
    spec = load_spec(_write(tmp_path, '[grid]\n"regimes.smooth_days" = [1, "cv"]\n'))
    out = run_sweep(spec, tmp_path / "out", workers=1, top=0, progress=False, report=False)
    assert out.n_screened == 2 and (out.table["status"] == "ok").all()


def test_load_spec_errors_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sweep file not found"):
        load_spec(tmp_path / "missing.toml")


def test_the_shipped_blend_shortcut_equals_the_allocation_stage(tmp_path: Path, cache_dir: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np
    from regimeshift.sweep import screen

    spec = load_spec(_write(tmp_path, GRID))
    fast = [screen.screen_config(v.config)[1].value for v in spec.variants[:4]]
    monkeypatch.setattr(screen, "_sleeve_targets", lambda *a: None)  # every strategy's route
    slow = [screen.screen_config(v.config)[1].value for v in spec.variants[:4]]
    for a, b in zip(fast, slow):
        assert np.max(np.abs(a / b - 1.0)) < 1e-12


def test_pool_workers_inheriting_the_drivers_setting_screen_what_one_process_screens(tmp_path: Path,
                                                                                    cache_dir: Path) -> None:
    # one regime setting: the driver loads it (and the compiled screen) before the pool forks
    spec = load_spec(_write(tmp_path, GRID))
    assert spec.variants.n_regime_settings() == 1
    run_sweep(spec, tmp_path / "one", workers=1, top=0, progress=False, report=False)
    run_sweep(spec, tmp_path / "pool", workers=2, top=0, progress=False, report=False)
    assert (tmp_path / "pool" / "leaderboard.csv").read_bytes() == (tmp_path / "one" / "leaderboard.csv").read_bytes()


def test_walk_forward_tearsheet_has_the_run_tearsheets_fixes(tmp_path: Path, cache_dir: Path) -> None:
    # QuantStats' EOY bar chart (labels smeared), its EOY multiplier and benchmark-first columns are fixed on
    # run tearsheets; the walk-forward page is QuantStats' page too and goes through the same fixes
    from regimeshift.sweep.run import walk_forward_tearsheet

    spec = load_spec(_write(tmp_path, '[grid]\n"execution.rebalance" = ["monthly", "weekly"]\n'))
    out = run_sweep(spec, tmp_path / "out", workers=1, top=0, walk_forward="yearly", progress=False, report=False)
    page = walk_forward_tearsheet(spec, out.walk_forward, tmp_path / "wf.html").read_text(encoding="utf-8")
    assert '<div id="eoy_returns"><p' in page  # the note, not the chart
    assert "Multiplier" not in page and "\ufe6a" not in page
    assert "<tr><th>Metric</th><th>Strategy</th><th>MARKET</th></tr>" in page
    assert "<tr><th>Year</th><th>Strategy</th><th>MARKET</th><th>Won</th></tr>" in page


# -- one basis: the run's daily excess-return figures everywhere ---------------------------------------------------
RATE = 0.03  # report.risk_free: every ratio over 3% a year, so a zero-rate figure would show


def _write_with_rate(folder: Path, body: str) -> Path:
    path = _write(folder, body)
    base = folder / "base.toml"
    base.write_text(base.read_text() + f"[report]\nrisk_free = {RATE}\n")
    return path


def test_the_screen_ranks_by_the_runs_excess_sharpe_and_each_variants_value_of_timing(tmp_path: Path,
                                                                                   cache_dir: Path) -> None:
    import json

    spec = load_spec(_write_with_rate(tmp_path, 'metric = "timing_sharpe"\n' + GRID))
    out = run_sweep(spec, tmp_path / "out", workers=1, top=1, progress=False, report=False)
    table = out.table
    assert table["timing_sharpe"].is_monotonic_decreasing  # metric = "timing_sharpe" ranks by it
    assert table["timing_sharpe"].to_numpy() == pytest.approx((table["sharpe"] - table["twin_sharpe"]).to_numpy(),
                                                              rel=1e-12)
    # the top variant's full run (backtrader, its static twin by the array replay) gives the screened figures
    run = json.loads((out.top_dirs[0] / "metrics.json").read_text())
    assert run["risk_free"] == RATE
    best = table.iloc[0]
    assert run["strategy"]["sharpe"] == pytest.approx(best["sharpe"], rel=1e-6)
    assert run["strategy"]["sortino"] == pytest.approx(best["sortino"], rel=1e-6)
    assert run["benchmarks"]["static_twin"]["sharpe"] == pytest.approx(best["twin_sharpe"], rel=1e-6)
    assert run["timing"]["sharpe_diff"] == pytest.approx(best["timing_sharpe"], rel=1e-4, abs=1e-6)
    assert run["timing"]["max_drawdown_diff"] == pytest.approx(best["timing_max_drawdown"], rel=1e-4, abs=1e-6)
    # and the summary states the basis
    assert out.summary["basis"].startswith("Sharpe, Sortino and PSR: daily excess returns over 3% a year")


def _figure(text: str, label: str) -> float:
    import re

    m = re.search(re.escape(label) + r"[^\n]*?Sharpe (-?\d+\.\d\d)", text)
    assert m, (label, text)
    return float(m.group(1))


def test_the_console_walk_forward_sharpe_is_the_walk_forward_tearsheets_and_the_daily_tracks(tmp_path: Path,
                                                                                        cache_dir: Path) -> None:
    import re

    import numpy as np
    from regimeshift.reports.metrics import sharpe_ratio

    sweep = _write_with_rate(tmp_path, GRID)
    out = tmp_path / "o"
    res = CliRunner().invoke(main, ["sweep", str(sweep), "--out", str(out), "--top", "1", "--workers", "1",
                                    "--walk-forward", "yearly", "--no-progress"])
    assert res.exit_code == 0, res.output
    console = _figure(res.output, "walk-forward selection (out of sample):")
    assert "basis: Sharpe, Sortino and PSR: daily excess returns over 3% a year" in res.output
    page = (out / "walk_forward_tearsheet.html").read_text(encoding="utf-8")
    row = re.search(r'<tr data-key="sharpe"><td>Sharpe \(excess\)</td><td>([^<]*)</td><td>([^<]*)</td>', page)
    assert row, page[:3000]
    assert float(row.group(1)) == console
    assert float(row.group(2)) == _figure(res.output, "in-sample winner, same days:")
    assert "daily excess returns over 3% a year" in page
    assert 'id="eoy_returns"><p' in page  # through qs_fixes like a run's tearsheet
    # recomputed from the stitched daily returns written beside it
    track = pd.read_csv(out / "walk_forward_returns.csv", index_col=0)["walk_forward"].to_numpy()
    assert round(sharpe_ratio(track - RATE / 252), 2) == console
    wf = pd.read_csv(out / "walk_forward.csv")
    assert list(wf.columns) == ["year", "variant", "selected_on_sharpe_monthly_total", "year_return", "months",
                                "year_sharpe_daily_excess", "days"]
    assert int(wf["days"].sum()) == len(track) and np.isfinite(wf["year_sharpe_daily_excess"]).all()
    # the leaderboard links every tearsheet it names, and they exist
    board = (out / "leaderboard.html").read_text(encoding="utf-8")
    hrefs = re.findall(r'href="([^"]+\.html)"', board)
    assert "walk_forward_tearsheet.html" in hrefs
    assert [h for h in hrefs if h.startswith("top/01-v")]
    assert all((out / h).is_file() for h in hrefs), hrefs
    # the top N's full runs give their value of timing with its bootstrap interval beside the link
    assert re.search(r"variant \d+: Regime timing changed Sharpe by [+-]\d\.\d\d \[", board)



def test_rs_sweep_returns_the_leaderboard_the_cli_writes_even_after_the_package_was_imported(tmp_path: Path,
                                                                                             cache_dir) -> None:
    import importlib

    import regimeshift as rs

    importlib.import_module("regimeshift.sweep.spec")  # binds rs.sweep to the package: it must still run a sweep
    path = _write(tmp_path, GRID)
    result = rs.sweep(path, tmp_path / "out", workers=1)
    written = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    assert list(result.leaderboard["variant"]) == list(written["variant"])
    np.testing.assert_allclose(result.leaderboard["dsr"].to_numpy(float), written["dsr"].to_numpy(float),
                               rtol=1e-9, equal_nan=True)
    assert 0.0 <= result.pbo <= 1.0 and result.summary["screened"] == len(written)
    assert not any(k.startswith("_") for k in result.summary)
