"""`regimeshift regimes`: diagnostics on stdout, regimes.csv + PNG written atomically, one-line errors."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from regimeshift.cli.app import main
from tests.conftest import small_synthetic_toml

SMALL = small_synthetic_toml(6.0)


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("REGIMESHIFT_CACHE", str(tmp_path / "cache"))


def _run(args: list[str]) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, args)
    return res.exit_code, res.stdout, res.stderr


def test_regimes_command_prints_diagnostics_and_writes_csv_and_png(tmp_path):
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL)
    out = tmp_path / "out"
    code, stdout, stderr = _run(["regimes", str(cfg), "--out", str(out)])
    assert code == 0, stderr
    for needle in ("transition matrix", "state means", "switches", "out-of-sample log-likelihood", "refits"):
        assert needle in stdout
    assert {"regimes.csv", "regimes.png", "refits.csv", "diagnostics.json"} <= {p.name for p in out.iterdir()}
    regimes = pd.read_csv(out / "regimes.csv")
    assert list(regimes.columns) == ["date", "regime", "abundant", "tightening", "crunch"]
    probs = regimes[["abundant", "tightening", "crunch"]]
    assert ((probs.sum(axis=1) - 1).abs() < 1e-9).all()
    assert (regimes["regime"] == probs.idxmax(axis=1)).all()
    assert (out / "regimes.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "out" / "tearsheet.html").exists()  # no backtest
    # the same command again: identical CSV (from the cache this time)
    out2 = tmp_path / "out2"
    code, _, stderr = _run(["regimes", str(cfg), "--out", str(out2)])
    assert code == 0, stderr
    assert (out / "regimes.csv").read_bytes() == (out2 / "regimes.csv").read_bytes()


def test_a_config_that_leaves_emission_out_lets_the_data_choose_the_family_at_each_cold_fit(tmp_path):
    cfg = tmp_path / "plain.toml"
    cfg.write_text(SMALL.replace('emission = "gaussian"\n', ""))
    out = tmp_path / "out"
    code, stdout, stderr = _run(["regimes", str(cfg), "--out", str(out)])
    assert code == 0, stderr
    assert "emission auto: chosen at" in stdout
    refits = pd.read_csv(out / "refits.csv")
    assert set(refits["emission"]) <= {"gaussian", "student_t"} and refits["emission"].notna().all()
    choices = refits[refits["t_evidence"].notna()]
    assert len(choices) >= 1 and refits["cold_competition"][choices.index].all()


def test_regimes_command_defaults_to_runs_name_regimes(tmp_path, monkeypatch):
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL)
    monkeypatch.chdir(tmp_path)
    code, _, stderr = _run(["regimes", str(cfg)])
    assert code == 0, stderr
    assert (tmp_path / "runs" / "small" / "regimes" / "regimes.csv").is_file()


BAD = {
    "covariance type": (SMALL.replace('n_init = 2', 'n_init = 2\ncovariance_type = "spherical"'), "covariance_type"),
    "too little history": (SMALL.replace("min_train_days = 504", "min_train_days = 100000"), "min_train_days"),
    "unknown feature": (SMALL.replace('"level:CREDITSPREAD"]', '"bogus:SPY"]'), "bogus"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_error_line_exit_2_and_no_output(tmp_path, case):
    text, needle = BAD[case]
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    out = tmp_path / "out"
    code, stdout, stderr = _run(["regimes", str(cfg), "--out", str(out)])
    assert code == 2, stdout + stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], stderr
    assert "Traceback" not in stdout + stderr
    assert not out.exists() and not any(p.name.startswith(".out") for p in tmp_path.iterdir())


def test_missing_config_is_one_line(tmp_path):
    code, _, stderr = _run(["regimes", str(tmp_path / "nope.toml")])
    assert code == 2 and stderr.strip() == f"error: {Path(tmp_path / 'nope.toml')}: config file not found"


def test_select_states_prints_bic_and_held_out_loglik_side_by_side(tmp_path):
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL)
    out = tmp_path / "out"
    code, stdout, stderr = _run(["regimes", str(cfg), "--out", str(out), "--select-states"])
    assert code == 0, stderr
    assert "number of states" in stdout and "bic" in stdout and "oos_loglik" in stdout
    table = pd.read_csv(out / "n_states.csv", index_col="n_states")
    assert list(table.index) == [2, 3, 4, 5]
    assert table["best_bic"].sum() == 1 and table["best_oos"].sum() == 1


@pytest.fixture(scope="module")
def small_regimes(tmp_path_factory):  # type: ignore[no-untyped-def]
    """One `regimes` run on the small config, read by the tests that only look at what it printed and wrote."""
    folder = tmp_path_factory.mktemp("small-regimes")
    cfg = folder / "small.toml"
    cfg.write_text(SMALL)
    out = folder / "out"
    code, stdout, stderr = _run(["regimes", str(cfg), "--out", str(out)])
    return code, stdout, stderr, out


def test_printed_log_likelihood_path_is_all_numbers(small_regimes):
    code, stdout, stderr, _ = small_regimes
    assert code == 0, stderr
    line = next(x for x in stdout.splitlines() if x.startswith("cumulative out-of-sample log-likelihood:"))
    assert "nan" not in line.lower()
    assert len(line.split(": ", 1)[1].split(", ")) == 6


def test_regimes_png_paints_each_regime_in_the_tearsheets_colour(small_regimes):
    import matplotlib.image as mpimg
    import numpy as np
    from matplotlib.colors import to_rgb

    from regimeshift.core.palette import regime_colours

    code, _, stderr, out = small_regimes
    assert code == 0, stderr
    pixels = mpimg.imread(out / "regimes.png")[..., :3]
    share = pd.read_csv(out / "regimes.csv")["regime"].value_counts(normalize=True)
    for name, colour in regime_colours(["abundant", "tightening", "crunch"]).items():
        painted = int((np.abs(pixels - np.array(to_rgb(colour))) < 1.5 / 255).all(axis=-1).sum())
        if share.get(name, 0.0) > 0.05:  # a regime on a twentieth of the days fills thousands of pixels
            assert painted > 2_000, (name, colour, painted)
