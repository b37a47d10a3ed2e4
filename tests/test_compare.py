"""`regimeshift compare` and `regimeshift runs` on run folders made by `regimeshift run` (small synthetic config)."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from regimeshift.cli.app import main

try:  # tests/ as a package (tests/__init__.py) or as a plain rootdir
    from tests.test_cli import SMALL
except ImportError:  # pragma: no cover
    from test_cli import SMALL  # type: ignore[no-redef]

XSS = "<script>alert(1)</script>"


def _run(args: list[str]) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, args)
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory) -> Path:
    """runs/a (seed 7) and runs/b (seed 8): same config but the seed, no tearsheets (fast)."""
    base = tmp_path_factory.mktemp("compare")
    cfg = base / "small.toml"
    cfg.write_text(SMALL)
    root = base / "runs"
    for name, seed in (("a", "7"), ("b", "8")):
        code, _, err = _run(["run", str(cfg), "--out", str(root / name), "--no-report", "--seed", seed])
        assert code == 0, err
    os.utime(root / "a", (1_700_000_000, 1_700_000_000))  # a is the older run
    os.utime(root / "b", (1_700_100_000, 1_700_100_000))
    return root


@pytest.fixture(scope="module")
def page(runs_root, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("page") / "compare.html"
    code, stdout, err = _run(["compare", str(runs_root / "a"), str(runs_root / "b"), "--out", str(out)])
    assert code == 0, err
    assert str(out) in stdout
    return out.read_text(encoding="utf-8")


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


# ------------------------------------------------------------------------------------------------- compare
def test_compare_names_every_run(page):
    assert re.search(r"<th>a</th><th>b</th>", page)


def test_compare_metrics_table_shows_each_runs_cagr(page, runs_root):
    for name in ("a", "b"):
        assert f"{100 * _metrics(runs_root / name)['strategy']['cagr']:.2f}%" in page


def test_compare_metrics_table_shows_differences_to_the_first_run(page, runs_root):
    a, b = (_metrics(runs_root / n)["strategy"]["sharpe"] for n in ("a", "b"))
    assert f'<span class="delta">({b - a:+.2f})</span>' in page


def test_compare_shows_the_config_keys_that_differ(page):
    section = page[page.index('id="config"'):]
    assert re.search(r"<tr><td>seed</td><td>7</td><td>8</td></tr>", section)
    assert "regimes.n_init" not in section  # the same in both: not listed


def test_compare_has_equity_and_drawdown_figures(page):
    for fig in ("fig-equity", "fig-drawdown"):
        assert re.search(rf'<figure id="{fig}"><svg', page)


def test_compare_shows_regime_shares_of_each_run(page, runs_root):
    section = page[page.index('id="regimes"'):page.index('id="config"')]
    for name in ("a", "b"):
        for regime, share in _metrics(runs_root / name)["regime_shares"].items():
            assert regime in section and f"{100 * share:.2f}%" in section


def test_compare_shows_each_runs_regime_model_and_switches_per_year(page, runs_root):
    section = page[page.index(">Regimes</td>"):page.index(">Benchmark</td>")]
    assert "<tr><td>Model</td><td>hmm</td><td>hmm</td></tr>" in section
    for name in ("a", "b"):
        assert f"<td>{_metrics(runs_root / name)['regime_switches_per_year']:.2f}" in section


def test_compare_draws_a_regime_strip_for_the_runs(page):
    section = page[page.index('id="regimes"'):page.index('id="config"')]
    assert re.search(r'<figure id="fig-regimes"><svg', section)
    assert "No regimes.csv" not in section


def test_compare_notes_a_run_without_regimes_csv_and_still_writes_the_page(runs_root, tmp_path):
    b = _copy(runs_root / "b", tmp_path / "b")
    (b / "regimes.csv").unlink()
    out = tmp_path / "cmp.html"
    code, _, err = _run(["compare", str(runs_root / "a"), str(b), "--out", str(out)])
    assert code == 0, err
    text = out.read_text()
    assert "No regimes.csv in b." in text and 'id="fig-regimes"' in text


# -- the seed's question: the shipped liquidity_rotation config with model = "jump" beside model = "hmm" ---------
CONFIGS = Path(__file__).resolve().parents[1] / "backtests" / "configs"


def test_the_jump_config_is_liquidity_rotation_but_for_its_regime_model():
    import tomllib

    hmm = tomllib.loads((CONFIGS / "liquidity_rotation.toml").read_text())
    jump = tomllib.loads((CONFIGS / "liquidity_rotation_jump.toml").read_text())
    assert (jump["regimes"].pop("model"), jump["regimes"].pop("jump_penalty")) == ("jump", 50.0)
    # both write three starts: the jump model's k-means++ runs as its numbers were measured, the HMM's one per
    # window of its local cold start (issue 24)
    assert jump["regimes"]["n_init"] == hmm["regimes"]["n_init"] == 3
    assert (hmm.pop("name"), jump.pop("name")) == ("liquidity_rotation", "liquidity_rotation_jump")
    assert hmm["regimes"].pop("emission") == "gaussian"  # the HMM's emission family: nothing to the jump model
    assert jump == hmm  # costs, features, schedule, strategy: the same, so the page compares the models alone


@pytest.fixture(scope="module")
def hmm_and_jump(runs_root, tmp_path_factory) -> tuple[str, dict, dict]:
    """runs/a (the small synthetic config, HMM) beside the same config with regimes.model = "jump"."""
    base = tmp_path_factory.mktemp("jump")
    cfg = base / "small_jump.toml"
    cfg.write_text(SMALL + 'model = "jump"\njump_penalty = 50.0\n')  # SMALL ends in its [regimes] table
    code, _, err = _run(["run", str(cfg), "--out", str(base / "jump"), "--no-report", "--seed", "7"])
    assert code == 0, err
    out = base / "compare.html"
    code, _, err = _run(["compare", str(runs_root / "a"), str(base / "jump"), "--out", str(out)])
    assert code == 0, err
    return out.read_text(encoding="utf-8"), _metrics(runs_root / "a"), _metrics(base / "jump")


def test_hmm_and_jump_runs_share_one_page_with_their_trading_side_by_side(hmm_and_jump):
    page, hmm, jump = hmm_and_jump
    assert "<tr><td>Model</td><td>hmm</td><td>jump</td></tr>" in page
    for m in (hmm, jump):
        s = m["strategy"]
        for text in (f"{s['turnover']:.2f}", f"{s['sharpe']:.2f}", f"{100 * s['max_drawdown']:.2f}%",
                     f"{m['regime_switches_per_year']:.2f}"):
            assert f"<td>{text}" in page, text
    # the penalty on every switch: the jump model trades its regimes less often than the HMM on the same market
    assert jump["regime_switches_per_year"] < hmm["regime_switches_per_year"]
    config = page[page.index('id="config"'):]
    assert re.search(r'<tr><td>regimes.model</td><td>&quot;hmm&quot;</td><td>&quot;jump&quot;</td></tr>', config)
    for fig in ("fig-equity", "fig-drawdown", "fig-regimes"):
        assert f'<figure id="{fig}"><svg' in page


def test_compare_page_is_offline(page):
    assert "<script" not in page.lower()
    assert not re.findall(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, flags=re.I)


def test_compare_is_byte_deterministic(runs_root, tmp_path):
    for name in ("one.html", "two.html"):
        code, _, err = _run(["compare", str(runs_root / "a"), str(runs_root / "b"), "--out", str(tmp_path / name)])
        assert code == 0, err
    assert (tmp_path / "one.html").read_bytes() == (tmp_path / "two.html").read_bytes()


def test_compare_leaves_only_the_page_in_the_output_folder(runs_root, tmp_path):
    out = tmp_path / "out" / "cmp.html"
    code, _, err = _run(["compare", str(runs_root / "a"), str(runs_root / "b"), "--out", str(out)])
    assert code == 0, err
    assert [p.name for p in out.parent.iterdir()] == ["cmp.html"]


def test_compare_escapes_run_folder_names(runs_root, tmp_path):
    odd = _copy(runs_root / "b", tmp_path / "<i>odd</i>")
    out = tmp_path / "cmp.html"
    code, _, err = _run(["compare", str(runs_root / "a"), str(odd), "--out", str(out)])
    assert code == 0, err
    page = out.read_text()
    assert "<i>odd</i>" not in page and "&lt;i&gt;odd&lt;/i&gt;" in page


def test_compare_escapes_config_values(runs_root, tmp_path):
    odd = _copy(runs_root / "b", tmp_path / "odd")
    cfg = odd / "config.toml"
    cfg.write_text(cfg.read_text().replace('name = "small"', f'name = "{XSS}"', 1))
    out = tmp_path / "cmp.html"
    code, _, err = _run(["compare", str(runs_root / "a"), str(odd), "--out", str(out)])
    assert code == 0, err
    page = out.read_text()
    assert XSS not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def _assert_one_error_line(code: int, stdout: str, stderr: str, must_name: str) -> None:
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert must_name in lines[0]
    assert "Traceback" not in stdout + stderr


def test_compare_a_folder_that_is_not_a_run_is_one_error_line_and_writes_nothing(runs_root, tmp_path):
    not_a_run = tmp_path / "notes"
    not_a_run.mkdir()
    out = tmp_path / "cmp.html"
    code, stdout, stderr = _run(["compare", str(runs_root / "a"), str(not_a_run), "--out", str(out)])
    _assert_one_error_line(code, stdout, stderr, "metrics.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]


def test_compare_a_missing_folder_is_one_error_line(runs_root, tmp_path):
    code, stdout, stderr = _run(["compare", str(runs_root / "a"), str(tmp_path / "nope"), "--out",
                                 str(tmp_path / "cmp.html")])
    _assert_one_error_line(code, stdout, stderr, "nope")
    assert not (tmp_path / "cmp.html").exists()


def test_compare_unreadable_metrics_json_is_one_error_line(runs_root, tmp_path):
    broken = _copy(runs_root / "b", tmp_path / "broken")
    (broken / "metrics.json").write_text("{not json")
    out = tmp_path / "cmp.html"
    code, stdout, stderr = _run(["compare", str(runs_root / "a"), str(broken), "--out", str(out)])
    _assert_one_error_line(code, stdout, stderr, "metrics.json")
    assert not out.exists()


def test_compare_needs_two_runs(runs_root, tmp_path):
    code, stdout, stderr = _run(["compare", str(runs_root / "a"), "--out", str(tmp_path / "cmp.html")])
    _assert_one_error_line(code, stdout, stderr, "at least two")


def test_compare_keeps_the_previous_page_when_an_input_is_bad(runs_root, tmp_path):
    out = tmp_path / "cmp.html"
    out.write_text("previous")
    code, _, _ = _run(["compare", str(runs_root / "a"), str(tmp_path / "nope"), "--out", str(out)])
    assert code == 2 and out.read_text() == "previous"


# ------------------------------------------------------------------------------------------------- runs
def test_runs_lists_each_run_with_hash_and_headline_metrics(runs_root):
    code, stdout, err = _run(["runs", "--root", str(runs_root)])
    assert code == 0, err
    for name in ("a", "b"):
        m = _metrics(runs_root / name)
        s = m["strategy"]
        line = next(x for x in stdout.splitlines() if x.split()[0] == name)
        assert m["config_hash"] in line
        assert f"{100 * s['cagr']:.2f}%" in line and f"{s['sharpe']:.2f}" in line
        assert f"{100 * s['max_drawdown']:.2f}%" in line


def test_runs_shows_the_date_of_each_run_folder(runs_root):
    _, stdout, _ = _run(["runs", "--root", str(runs_root)])
    line = next(x for x in stdout.splitlines() if x.split()[0] == "a")
    assert re.search(r"\b2023-11-1[45] \d\d:\d\d\b", line)  # the folder's mtime (1_700_000_000), local time


def test_runs_lists_newest_first(runs_root):
    _, stdout, _ = _run(["runs", "--root", str(runs_root)])
    names = [line.split()[0] for line in stdout.splitlines()[1:]]
    assert names == ["b", "a"]


def test_runs_skips_folders_that_are_not_runs(runs_root, tmp_path):
    root = tmp_path / "runs"
    _copy(runs_root / "a", root / "a")
    (root / "scratch").mkdir()
    (root / ".a.tmp-123").mkdir()
    _, stdout, _ = _run(["runs", "--root", str(root)])
    assert [line.split()[0] for line in stdout.splitlines()[1:]] == ["a"]


def test_runs_on_a_missing_root_is_one_error_line(tmp_path):
    code, stdout, stderr = _run(["runs", "--root", str(tmp_path / "nope")])
    _assert_one_error_line(code, stdout, stderr, "nope")


def test_runs_on_an_empty_root_says_there_are_none(tmp_path):
    code, stdout, _ = _run(["runs", "--root", str(tmp_path)])
    assert code == 0 and stdout.startswith("no runs under")


# -- one basis (issue 19) -------------------------------------------------------------------------------------------
def test_the_compare_page_names_each_runs_rate_and_warns_when_they_differ():
    from types import SimpleNamespace

    from regimeshift.reports.compare import basis_note, risk_free_label

    irx = SimpleNamespace(metrics={"risk_free": "IRX", "basis": "Sharpe ...: daily excess returns over IRX"})
    zero = SimpleNamespace(metrics={"risk_free": 0.0, "basis": "Sharpe ...: daily excess returns over a zero rate"})
    old = SimpleNamespace(metrics={})
    assert [risk_free_label(r.metrics) for r in (irx, zero, old)] == [
        "IRX", "a zero rate", "0 (run predates the recorded basis)"]
    assert "not comparable" not in basis_note([irx, irx]) and "over IRX" in basis_note([irx, irx])
    assert "different rates (IRX, a zero rate): their Sharpe and Sortino are not comparable" in basis_note([irx, zero])
