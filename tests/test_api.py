"""The notebook API (``import regimeshift as rs``): the README's session runs as written, the results are the
CLI's, and the namespace keeps a user's own folders from shadowing the product's."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import regimeshift as rs
from tests.conftest import REPO, small_synthetic_toml


def _readme_notebook() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## From Python (notebooks)", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_notebook_session_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(_readme_notebook(), "README.md", "exec"), scope)  # noqa: S102  (our own README)
    out = tmp_path / "runs" / "notebook"
    assert {p.name for p in out.iterdir()} == {"metrics.json", "returns.csv", "regimes.csv", "weights.csv",
                                                "trades.csv", "round_trips.csv", "config.toml"}
    assert scope["result"].metrics["name"] == "notebook"


def test_run_result_frames_are_the_run_folders_files(tmp_path: Path) -> None:
    import pandas as pd

    result = rs.run({"name": "small", "data": {"synthetic_years": 8},
                     "regimes": {"min_train_days": 504, "refit": "quarterly", "n_init": 2}})
    out = result.write(tmp_path / "small", report=False)
    regimes = pd.read_csv(out / "regimes.csv", index_col="date", parse_dates=True)
    assert regimes["regime"].tolist() == result.regimes["regime"].tolist()
    assert len(pd.read_csv(out / "trades.csv")) == len(result.trades)
    assert list(result.weights.columns) == ["growth", "value", "bonds", "gold", "cash"]
    assert result.returns.index.equals(result.weights.index)


def test_version_and_public_names_are_there_without_loading_the_stages() -> None:
    code = ("import sys, regimeshift as rs; v = rs.__version__; "
            "heavy = [m for m in ('pandas', 'hmmlearn', 'backtrader', 'quantstats', 'matplotlib') if m in sys.modules]; "
            "print(v, heavy, sorted(n for n in ('run', 'load_config', 'fit_regimes') if n in dir(rs)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(" ", 1)
    assert out[0] == rs.__version__ != "0+unknown"
    assert out[1].strip() == "[] ['fit_regimes', 'load_config', 'run']"


def test_a_config_dict_takes_the_default_for_what_it_leaves_out() -> None:
    cfg = rs.load_config({"name": "x", "execution": {"commission_bps": 7.5}})
    default = rs.load_config(None)
    assert cfg.execution.commission_bps == 7.5
    assert cfg.execution.slippage_bps == default.execution.slippage_bps
    assert cfg.sleeves == default.sleeves


def test_a_strategies_folder_in_the_working_directory_shadows_nothing(tmp_path: Path) -> None:
    """A user's own strategies/ (and reports/) beside their configs: the product's packages are regimeshift.*."""
    for folder in ("strategies", "reports", "regimes", "backtests"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("raise ImportError('the user folder was imported')\n")
    (tmp_path / "strategies" / "liquidity_rotation.py").write_text("raise ImportError('shadowed')\n")
    config = tmp_path / "cfg.toml"
    config.write_text(small_synthetic_toml(8.0))
    env = {**os.environ, "REGIMESHIFT_CACHE": "off", "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "regimeshift.cli.app", "run", str(config), "--no-report", "--out",
                           str(tmp_path / "out")], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "metrics.json").is_file()


def test_the_cli_and_the_config_check_load_no_stage_library() -> None:
    """`regimeshift --help`, `runs` and a config error stay fast: the CLI and the config module import none of the
    stages' heavy libraries (they load inside the commands, after the config is valid)."""
    code = ("import sys, regimeshift.cli.app, regimeshift.backtests.config, regimeshift.reports.run_index; "
            "print([m for m in ('pandas', 'numpy', 'hmmlearn', 'backtrader', 'quantstats', 'matplotlib', 'sklearn') "
            "if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
