"""The command line as a user meets it: outputs, determinism, and one clear line for bad input."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from regimeshift.cli.app import main
from regimeshift.outputs import OUTPUT_FILES
from tests.conftest import REPO, SHARED_DATA, requires_shared, small_synthetic_toml

SMALL = small_synthetic_toml(
    7.0, ("vol:MARKET:21", "ret:MARKET:63", "corr:MARKET:GOLD:63", "level:VOLINDEX", "level:CREDITSPREAD")
)

PRICE = "Date,Close\n" + "".join(f"2020-01-{d:02d},{100 + d}\n" for d in range(1, 29))


def _run(args: list[str]) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, args)
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture(scope="module")
def small_config(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("cfg") / "small.toml"
    p.write_text(SMALL)
    return p


def test_default_run_from_a_clean_directory_writes_every_output(tmp_path):
    """The README's command: the installed entry point, no arguments, nothing outside the repo."""
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("regimeshift")), "run"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "runs" / "default"
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    assert "CAGR" in proc.stdout and "Sharpe" in proc.stdout and "tearsheet:" in proc.stdout
    assert 'id="regime-story"' in (out / "tearsheet.html").read_text()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_refits"] > 100 and set(metrics["regime_shares"]) == {"abundant", "tightening", "crunch"}


def test_two_runs_with_the_same_config_and_seed_are_byte_identical(small_config, tmp_path):
    for name in ("a", "b"):
        code, _, err = _run(["run", str(small_config), "--out", str(tmp_path / name)])
        assert code == 0, err
    for f in OUTPUT_FILES:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_a_different_seed_gives_a_different_market(small_config, tmp_path):
    _run(["run", str(small_config), "--out", str(tmp_path / "a"), "--no-report"])
    _run(["run", str(small_config), "--out", str(tmp_path / "b"), "--no-report", "--seed", "8"])
    assert (tmp_path / "a" / "returns.csv").read_bytes() != (tmp_path / "b" / "returns.csv").read_bytes()


def test_output_csvs_follow_the_contract(small_config, tmp_path):
    code, _, err = _run(["run", str(small_config), "--out", str(tmp_path / "r"), "--no-report"])
    assert code == 0, err
    r = tmp_path / "r"
    assert list(pd.read_csv(r / "returns.csv").columns) == ["date", "strategy", "benchmark"]
    assert list(pd.read_csv(r / "regimes.csv").columns) == ["date", "regime", "abundant", "tightening", "crunch"]
    assert list(pd.read_csv(r / "weights.csv").columns) == ["date", "growth", "value", "bonds", "gold", "cash"]
    assert list(pd.read_csv(r / "trades.csv").columns) == ["date", "symbol", "size", "price", "commission", "side",
                                                           "value"]
    w = pd.read_csv(r / "weights.csv", index_col="date")
    assert (w.sum(axis=1) - 1).abs().max() < 1e-9 and (w >= 0).all().all()


def _bad_dir(tmp_path: Path, spy_text: str) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    for sym in ("QQQ", "DVY", "SHY", "GLD"):
        (d / f"{sym}.csv").write_text(PRICE)
    (d / "SPY.csv").write_text(spy_text)
    return d


BAD_CASES = {
    "duplicate date": (PRICE + "2020-01-28,130\n", "SPY.csv"),
    "non-positive price": (PRICE.replace("2020-01-05,105", "2020-01-05,-1"), "SPY.csv line"),
    "unsorted dates": (PRICE.replace("2020-01-05,105\n", "").replace("2020-01-09,109\n", "2020-01-09,109\n2020-01-05,105\n"), "SPY.csv line"),
    "bad date": (PRICE.replace("2020-01-05", "2020-13-45"), "SPY.csv line 6"),
    "bad number": (PRICE.replace("2020-01-05,105", "2020-01-05,abc"), "SPY.csv line 6"),
    "no date column": ("When,Close\n2020-01-01,1\n", "SPY.csv"),
    "too little history": ("Date,Close\n2020-01-01,1\n2020-01-02,2\n", "SPY.csv"),
    "empty file": ("", "SPY.csv"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_malformed_csv_gives_one_error_line_exit_2_and_no_output(case, tmp_path):
    text, must_name = BAD_CASES[case]
    data = _bad_dir(tmp_path, text)
    cfg = tmp_path / "c.toml"
    cfg.write_text('features = ["vol:SPY:21"]\n[data]\nmin_rows = 20\nmacro = []\n')
    out = tmp_path / "out"
    code, stdout, stderr = _run(["run", str(cfg), "--data-dir", str(data), "--out", str(out)])
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert must_name in lines[0]
    assert "Traceback" not in stderr + stdout
    assert not out.exists() and not any(p.name.startswith(".out") for p in tmp_path.iterdir())


def test_missing_config_file_is_one_clear_line(tmp_path):
    code, _, stderr = _run(["run", str(tmp_path / "nope.toml")])
    assert code == 2 and stderr.strip() == f"error: {tmp_path / 'nope.toml'}: config file not found"


def test_invalid_config_value_names_the_field(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[strategy.weights]\nabundant = { growth = 1.2 }\n")
    code, _, stderr = _run(["run", str(cfg)])
    assert code == 2 and "strategy.weights" in stderr and len(stderr.strip().splitlines()) == 1


_SYNTHETIC_SLEEVES = SMALL[SMALL.index("[sleeves]"):SMALL.index("[regimes]")]


# found by fuzzing configs through `regimeshift run`: each used to end in a traceback
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seed = -1\n", "field 'seed': Input should be greater than or equal to 0"),
        ("[sleeves]\ngold = { GLD = inf }\n", "field 'sleeves.gold.GLD': Input should be a finite number"),
        ("[execution]\nslippage_bps = nan\n", "field 'execution.slippage_bps': Input should be a finite number"),
        ("[data]\nsource = 'synthetic'\nsynthetic_years = -1.0\n", "field 'data.synthetic_years'"),
        ("[data]\nmacro = 2.5\ncash_rate = 'IRX'\n", "field 'data.macro': Input should be an array like"),
        ("[data]\nsource = 'synthetic'\nbenchmark = 'MARKET'\n",
         "sleeves.growth: 'QQQ' is not in the synthetic market (its assets: GROWTH, VALUE, SHORTBOND, GOLD, MARKET)"),
        ("[data]\nsource = 'synthetic'\nbenchmark = 'SPY'\n" + _SYNTHETIC_SLEEVES,
         "data.benchmark: 'SPY' is not in the synthetic market"),
    ],
)
def test_malformed_config_is_one_line_naming_the_field(tmp_path, text, expected):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    code, stdout, stderr = _run(["run", str(cfg), "--no-report", "--out", str(tmp_path / "out")])
    assert code == 2, stdout
    assert len(stderr.strip().splitlines()) == 1 and expected in stderr, stderr
    assert not (tmp_path / "out").exists()


def test_missing_price_dir_is_one_clear_line_and_no_output(tmp_path):
    data = _bad_dir(tmp_path, PRICE)
    cfg = tmp_path / "c.toml"
    cfg.write_text('features = ["vol:SPY:21"]\n[data]\nmin_rows = 20\nprice_dir = "ohlc"\n')
    out = tmp_path / "out"
    code, stdout, stderr = _run(["run", str(cfg), "--data-dir", str(data), "--out", str(out)])
    assert code == 2 and not out.exists()
    assert stderr.strip().splitlines() == [
        f"error: data.price_dir: {data / 'ohlc'} does not exist or is not a directory (expected a folder of price "
        f"CSVs; a relative path is read from the data directory {data})"
    ]


def test_empty_price_dir_names_the_field(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[data]\nprice_dir = " "\n')
    code, _, stderr = _run(["run", str(cfg)])
    assert code == 2
    assert stderr.strip() == (
        "error: c.toml: field 'data.price_dir': must name a folder (leave it out to read prices from the data dir)"
    )


def test_prices_with_opens_in_price_dir_fill_at_the_next_open(tmp_path):
    data = tmp_path / "data"
    (data / "ohlc").mkdir(parents=True)
    days = pd.bdate_range("2020-01-01", periods=200)
    for k, sym in enumerate(("QQQ", "DVY", "SHY", "GLD", "SPY")):
        close = 100 * np.exp(np.cumsum(np.random.default_rng(k).normal(0, 0.01, len(days))))
        rows = "".join(f"{d.date()},{c * 0.999:.4f},{c:.4f}\n" for d, c in zip(days, close))
        (data / "ohlc" / f"{sym}.csv").write_text("Date,Open,Close\n" + rows)
    cfg = tmp_path / "c.toml"
    cfg.write_text('features = ["vol:SPY:5", "ret:SPY:5"]\n[data]\nmin_rows = 20\nprice_dir = "ohlc"\n'
                   '[regimes]\nmin_train_days = 60\nrefit = "quarterly"\nn_init = 1\n')
    out = tmp_path / "out"
    code, _, stderr = _run(["run", str(cfg), "--data-dir", str(data), "--out", str(out), "--no-report"])
    assert code == 0, stderr
    assert json.loads((out / "metrics.json").read_text())["strategy"]["fill_price"] == "next_open"
    trades = pd.read_csv(out / "trades.csv")
    opens = {s: pd.read_csv(data / "ohlc" / f"{s}.csv", index_col="Date")["Open"] for s in trades["symbol"].unique()}
    expected = [opens[s][d] * (1 + 5e-4 * np.sign(q)) for d, s, q in zip(trades["date"], trades["symbol"], trades["size"])]
    assert len(trades) > 0 and np.allclose(trades["price"], expected, rtol=1e-9)


@requires_shared
@pytest.mark.realdata
def test_shipped_config_runs_on_the_shared_data(tmp_path):
    out = tmp_path / "real"
    code, stdout, err = _run(
        ["run", str(REPO / "backtests/configs/liquidity_rotation.toml"), "--data-dir", str(SHARED_DATA), "--out", str(out)]
    )
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    regimes = pd.read_csv(out / "regimes.csv", index_col="date", parse_dates=True)
    for day in ("2008-10-10", "2020-03-16", "2022-06-13", "2026-02-12"):
        assert pd.Timestamp(day) in regimes.index
    assert 'id="regime-story"' in (out / "tearsheet.html").read_text()


def test_run_says_what_each_stage_does_and_how_long_it_took_when_asked(tmp_path):
    # issue 22: nothing silent for long; on a terminal by default, with --progress anywhere, never with --quiet
    import subprocess

    from tests.test_failures import BASE_CMD, TINY, _env

    import tomli_w

    cfg = tmp_path / "tiny.toml"
    cfg.write_text(tomli_w.dumps({**TINY, "report": {"timing_resamples": 100}}))
    args = [*BASE_CMD, "run", str(cfg), "--no-report", "--out"]
    env = _env(tmp_path / "cache")
    loud = subprocess.run([*args, str(tmp_path / "a"), "--progress"], env=env, capture_output=True, text=True)
    assert loud.returncode == 0, loud.stderr
    lines = loud.stderr.splitlines()
    for stage in ("load", "features", "regimes", "allocation", "replay", "metrics", "outputs"):
        # one line per stage: what it does and how long it took
        mine = [line for line in lines if line.startswith(f"regimeshift: {stage}: ")]
        assert len(mine) == 1 and ": done in " in mine[0] and mine[0].endswith(" s"), mine
    quiet = subprocess.run([*args, str(tmp_path / "b"), "--progress", "--quiet"], env=env, capture_output=True,
                           text=True)
    piped = subprocess.run([*args, str(tmp_path / "c")], env=env, capture_output=True, text=True)
    assert quiet.returncode == piped.returncode == 0 and quiet.stderr == piped.stderr == ""


# the process entry point: exit handlers, then an immediate exit (no teardown of the run's objects and modules)
_ENTRY = """
import atexit, os, sys, threading, time
class Freed:
    def __del__(self):
        os.write(1, b"freed at teardown\\n")
kept = Freed()
atexit.register(print, "exit handler ran", flush=True)
if os.environ["THREAD"] == "daemon":  # what tqdm's monitor is: the normal exit would not wait for it either
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
else:
    threading.Thread(target=time.sleep, args=(0.5,)).start()
sys.argv = ["regimeshift", "--help"]
from regimeshift.cli.app import entry
entry()
"""


@pytest.mark.parametrize("thread, torn_down", [("daemon", False), ("worker", True)])
def test_the_entry_point_runs_the_exit_handlers_and_skips_the_teardown_unless_a_thread_still_works(
        thread: str, torn_down: bool) -> None:
    import os

    out = subprocess.run([sys.executable, "-c", _ENTRY], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "THREAD": thread})
    assert out.returncode == 0, out.stderr
    assert "exit handler ran" in out.stdout
    assert ("freed at teardown" in out.stdout) is torn_down
