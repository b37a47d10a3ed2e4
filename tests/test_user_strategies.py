"""A strategy of one's own without PYTHONPATH (issue 23 item 3): ``strategy.path`` names a folder beside the
config, the ``regimeshift.strategies`` entry points name installed ones, ``regimeshift new strategy`` starts one,
and an error in the user's module is one line naming their file and line. Failures go through the real CLI."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pandas as pd
import pytest
import tomli_w
from regimeshift.backtests.config import RunConfig, config_from_dict, load_config
from regimeshift.core.errors import ConfigError
from regimeshift.strategies import registry
from regimeshift.strategies.registry import check_strategy, resolve_strategy

from tests.test_failures import (  # noqa: F401  (cache and env are the failure tests' fixtures)
    TINY,
    _merge,
    assert_no_output,
    assert_one_error,
    cache,
    env,
    run_cli,
)

ALL_BONDS = textwrap.dedent('''\
    """Everything in short bonds, every day."""
    import pandas as pd
    from regimeshift.strategies.base import Param

    PARAMS = {"share": Param(float, 1.0, "the bonds weight; the rest is cash")}


    def target_weights(ctx):
        share = ctx.params.get("share", 1.0)
        w = pd.DataFrame(0.0, index=ctx.probabilities.index, columns=ctx.sleeve_names)
        w["bonds"], w["cash"] = share, 1.0 - share
        return w
    ''')


def project(tmp_path: Path, files: dict[str, str], name: str = "all_bonds", path: str = "../strats",
            **strategy: object) -> Path:
    """``tmp/strats/<files>`` and ``tmp/configs/tiny.toml`` naming the folder relative to the config."""
    folder = tmp_path / "strats"
    folder.mkdir(exist_ok=True)
    for file, text in files.items():
        (folder / file).write_text(text, encoding="utf-8")
    (tmp_path / "configs").mkdir(exist_ok=True)
    config = tmp_path / "configs" / "tiny.toml"
    config.write_text(tomli_w.dumps(_merge(TINY, {"strategy": {"name": name, "path": path, **strategy}})),
                      encoding="utf-8")
    return config


# -- found by strategy.path ----------------------------------------------------------------------------------------
def test_a_strategy_in_the_config_folder_runs_without_pythonpath(tmp_path, env):
    config = project(tmp_path, {"all_bonds.py": ALL_BONDS}, params={"share": 0.75})
    cwd = tmp_path / "elsewhere"  # the folder is read from the config's folder, not the working directory
    cwd.mkdir()
    ran = run_cli(["run", str(config), "--out", str(tmp_path / "out"), "--no-report"], cwd, env)
    assert ran.rc == 0, ran.stderr
    weights = pd.read_csv(tmp_path / "out" / "weights.csv", index_col=0)
    assert (weights["bonds"] == 0.75).all() and (weights["cash"] == 0.25).all()
    saved = load_config(tmp_path / "out" / "config.toml")
    assert saved.strategy.path == str((tmp_path / "strats").resolve())  # absolute: it travels with the config


def test_a_user_file_named_like_an_installed_package_loads_the_users_file(tmp_path, env):
    config = project(tmp_path, {"numpy.py": ALL_BONDS}, name="numpy")
    ran = run_cli(["run", str(config), "--out", str(tmp_path / "out"), "--no-report"], tmp_path, env)
    assert ran.rc == 0, ran.stderr  # the real numpy still served pandas and the fits
    assert (pd.read_csv(tmp_path / "out" / "weights.csv", index_col=0)["bonds"] == 1.0).all()


def test_the_folder_never_joins_sys_path(tmp_path):
    folder = tmp_path / "strats"
    folder.mkdir()
    (folder / "all_bonds.py").write_text(ALL_BONDS, encoding="utf-8")
    (folder / "helper_only_here.py").write_text("X = 1\n", encoding="utf-8")
    before = list(sys.path)
    fn = resolve_strategy("all_bonds", folder)
    assert sys.path == before and callable(fn)
    with pytest.raises(ModuleNotFoundError):
        __import__("helper_only_here")


def test_two_folders_with_the_same_file_name_stay_apart(tmp_path):
    for share in ("0.25", "0.5"):
        folder = tmp_path / share
        folder.mkdir()
        (folder / "same.py").write_text(f"SHARE = {share}\ndef target_weights(ctx):\n    return SHARE\n")
    assert resolve_strategy("same", tmp_path / "0.25")(None) == 0.25
    assert resolve_strategy("same", tmp_path / "0.5")(None) == 0.5


@pytest.mark.parametrize("command", [["signal"], ["regimes", "--compare", "hmm,jump"]])
def test_signal_and_model_compare_find_the_folder(tmp_path, env, command):
    config = project(tmp_path, {"all_bonds.py": ALL_BONDS})
    ran = run_cli([*command, str(config), "--out", str(tmp_path / "out")], tmp_path, env)
    assert ran.rc == 0, ran.stderr
    if command == ["signal"]:
        targets = json.loads((tmp_path / "out" / "signal.json").read_text())["sleeve_targets"]
        assert targets["bonds"] == 1.0  # the user's bonds-only decision, not the shipped blend
    else:
        assert (tmp_path / "out" / "compare_models.csv").is_file()


def test_a_sweep_finds_the_folder_in_its_worker_processes(tmp_path, env):
    project(tmp_path, {"all_bonds.py": ALL_BONDS}, params={"share": 1.0})
    sweep = tmp_path / "configs" / "SWEEP.toml"
    sweep.write_text('base = "tiny.toml"\ntop = 1\n[grid]\n"strategy.params.share" = [0.5, 1.0]\n')
    ran = run_cli(["sweep", str(sweep), "--workers", "2", "--out", str(tmp_path / "sw"), "--no-report",
                   "--no-progress"], tmp_path / "strats", {**env, "REGIMESHIFT_WORKERS": "2"})
    assert ran.rc == 0, ran.stderr
    board = pd.read_csv(tmp_path / "sw" / "leaderboard.csv")
    assert sorted(board["status"]) == ["ok", "ok"]
    assert board["volatility"].nunique() == 2  # the parameter reached the user's module in each worker


def test_vol_target_scales_a_strategy_from_the_folder(tmp_path, env):
    config = project(tmp_path, {"all_bonds.py": ALL_BONDS.replace('"bonds"', '"growth"')}, name="vol_target",
                     params={"base": "all_bonds", "target": 0.01, "into": "bonds"})
    ran = run_cli(["run", str(config), "--out", str(tmp_path / "out"), "--no-report"], tmp_path, env)
    assert ran.rc == 0, ran.stderr
    weights = pd.read_csv(tmp_path / "out" / "weights.csv", index_col=0)
    assert weights["growth"].iloc[-1] < 0.5 < weights["bonds"].iloc[-1]  # all-growth, scaled down to 1% vol


# -- the user's mistakes: one line naming their file and line -------------------------------------------------------
BROKEN = {
    "syntax": ("x = 1\ndef target_weights(ctx:\n", ":2: strategy 'broken' failed to import: SyntaxError"),
    "import": ("import math\n\nraise ValueError('no indicator')\n",
               ":3: strategy 'broken' failed to import: ValueError: no indicator"),
    "call": ("import pandas as pd\n\n\ndef target_weights(ctx):\n    return ctx.prices['NOPE']\n",
             ":5: strategy broken: target_weights raised KeyError: 'NOPE'"),
}


@pytest.mark.parametrize("command", ["run", "sweep"])
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_an_error_in_the_users_module_is_one_line_naming_file_and_line(tmp_path, env, case, command):
    body, said = BROKEN[case]
    config = project(tmp_path, {"broken.py": body}, name="broken")
    out = tmp_path / "out"
    if command == "run":
        ran = run_cli(["run", str(config), "--out", str(out)], tmp_path, env)
    else:
        sweep = tmp_path / "configs" / "SWEEP.toml"
        sweep.write_text('base = "tiny.toml"\n[grid]\n"execution.commission_bps" = [1.0, 2.0]\n')
        ran = run_cli(["sweep", str(sweep), "--out", str(out), "--no-progress"], tmp_path, env)
    if command == "sweep" and case == "call":  # a sweep imports the module first; calling it is each variant's
        return
    line = assert_one_error(ran, 2, str((tmp_path / "strats" / "broken.py").resolve()) + said)
    assert line.startswith("error: /")
    assert_no_output(out)


def test_an_importable_module_that_fails_names_its_own_line_not_the_librarys(tmp_path, monkeypatch):
    (tmp_path / "on_the_path_broken.py").write_text("import pandas as pd\n\npd.Timestamp('not a date')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as err:
        resolve_strategy("on_the_path_broken")
    assert str(err.value).startswith(f"{tmp_path / 'on_the_path_broken.py'}:3: strategy 'on_the_path_broken' "
                                     "failed to import: ")


def test_debug_shows_the_users_traceback_above_the_line(tmp_path, env):
    config = project(tmp_path, {"broken.py": BROKEN["call"][0]}, name="broken")
    ran = run_cli(["run", str(config), "--out", str(tmp_path / "out")], tmp_path, {**env, "REGIMESHIFT_DEBUG": "1"})
    assert ran.rc == 2
    assert "Traceback" in ran.stderr and "broken.py\", line 5, in target_weights" in ran.stderr
    assert ran.stderr.strip().splitlines()[-1].startswith("error: ")
    assert_no_output(tmp_path / "out")


def test_a_strategy_folder_that_does_not_exist_is_one_config_error(tmp_path, env):
    config = project(tmp_path, {}, path="../nowhere")
    ran = run_cli(["run", str(config), "--out", str(tmp_path / "out")], tmp_path, env)
    assert_one_error(ran, 2, f"tiny.toml: field 'strategy.path': folder {(tmp_path / 'nowhere').resolve()} "
                             "does not exist")
    assert_no_output(tmp_path / "out")


def test_a_strategy_path_that_is_not_text_is_refused(tmp_path, env):
    config = project(tmp_path, {}, path=5)  # type: ignore[arg-type]
    ran = run_cli(["run", str(config), "--out", str(tmp_path / "out")], tmp_path, env)
    assert_one_error(ran, 2, "field 'strategy.path'", "string")


def test_a_folder_that_vanished_after_loading_is_named_at_run_time(tmp_path):
    with pytest.raises(ConfigError, match=r"^strategy\.path: folder .*gone does not exist"):
        check_strategy("all_bonds", {}, tmp_path / "gone")


# -- the config's digest ----------------------------------------------------------------------------------------
def test_the_digest_at_the_defaults_is_the_digest_without_the_setting():
    for cfg in (load_config(None), load_config(Path("backtests/configs/liquidity_rotation.toml"))):
        raw = cfg.model_dump(mode="json")
        raw["data"].pop("vendors", None)
        raw["strategy"].pop("path")
        for section, key in (("data", "max_daily_move"), ("data", "max_gap_days"), ("data", "allow_gaps")):
            raw[section].pop(key)
        for key in ("model", "jump_penalty", "jump_continuous", "max_feats", "penalty_grid", "n_mix", "emission",
                    "t_dof", "penalty_cv", "cv_validation_days", "smooth_days", "smooth_grid"):
            raw["regimes"].pop(key)
        assert cfg.digest() == hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()[:12]
    assert load_config(None).digest() == "6f6ea02b81a6"  # as pinned in test_settings_pins (n_init, init, sticky)


def test_a_strategy_path_changes_the_digest(tmp_path):
    base = load_config(None)
    raw = base.model_dump()
    raw["strategy"]["path"] = str(tmp_path)
    assert config_from_dict(raw).digest() != base.digest()
    assert "path" not in base.to_toml()  # an unset folder writes nothing


# -- entry points --------------------------------------------------------------------------------------------------
def test_an_entry_point_of_the_group_is_found(monkeypatch):
    fake = types.ModuleType("fake_pkg.strat")
    fake.target_weights = lambda ctx: "from the entry point"  # type: ignore[attr-defined]

    class EntryPoint:
        name, value = "from_a_package", "fake_pkg.strat"

        def load(self):  # noqa: ANN202
            return fake

    def entry_points(group: str):  # noqa: ANN202
        return [EntryPoint()] if group == registry.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(registry.importlib.metadata, "entry_points", entry_points)
    assert resolve_strategy("from_a_package")(None) == "from the entry point"


def test_an_installed_package_registers_a_strategy(tmp_path, env):
    site = tmp_path / "site"
    (site / "acme_strats").mkdir(parents=True)
    (site / "acme_strats" / "__init__.py").write_text("")
    (site / "acme_strats" / "bonds.py").write_text(ALL_BONDS)
    info = site / "acme_strats-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-strats\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[regimeshift.strategies]\nacme_bonds = acme_strats.bonds\n")
    config = tmp_path / "tiny.toml"
    config.write_text(tomli_w.dumps(_merge(TINY, {"strategy": {"name": "acme_bonds"}})))
    ran = run_cli(["run", str(config), "--out", str(tmp_path / "out"), "--no-report"], tmp_path,
                  {**env, "PYTHONPATH": str(site)})  # where pip would have put it
    assert ran.rc == 0, ran.stderr
    assert (pd.read_csv(tmp_path / "out" / "weights.csv", index_col=0)["bonds"] == 1.0).all()


# -- regimeshift new strategy ----------------------------------------------------------------------------------
def test_new_strategy_writes_a_skeleton_whose_test_passes_as_written(tmp_path, env):
    ran = run_cli(["new", "strategy", "momentum_tilt", "--path", "mine"], tmp_path, env)
    assert ran.rc == 0, ran.stderr
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["momentum_tilt.py", "test_momentum_tilt.py"]
    assert "PARAMS" in (tmp_path / "mine" / "momentum_tilt.py").read_text()
    tests = subprocess.run([sys.executable, "-m", "pytest", "mine", "-q", "-p", "no:cacheprovider", "-p",
                            "no:randomly"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "5 passed" in tests.stdout


def test_the_skeleton_runs_in_a_backtest(tmp_path, env):
    assert run_cli(["new", "strategy", "trend"], tmp_path, env).rc == 0  # into my_strategies/ by default
    config = tmp_path / "tiny.toml"
    config.write_text(tomli_w.dumps(_merge(TINY, {"strategy": {"name": "trend", "path": "my_strategies",
                                                               "params": {"tilt": 1.0, "lookback": 63}}})))
    ran = run_cli(["run", str(config), "--out", str(tmp_path / "out"), "--no-report"], tmp_path, env)
    assert ran.rc == 0, ran.stderr
    assert pd.read_csv(tmp_path / "out" / "weights.csv", index_col=0)["cash"].max() > 0.5  # falling sleeves left


def test_new_strategy_refuses_an_existing_file(tmp_path, env):
    (tmp_path / "my_strategies").mkdir()
    (tmp_path / "my_strategies" / "test_mine.py").write_text("# mine\n")
    ran = run_cli(["new", "strategy", "mine"], tmp_path, env)
    assert_one_error(ran, 2, "test_mine.py: already exists")
    assert (tmp_path / "my_strategies" / "test_mine.py").read_text() == "# mine\n"
    assert not (tmp_path / "my_strategies" / "mine.py").exists()


@pytest.mark.parametrize("name", ["1tilt", "momentum-tilt", "class", "a.b"])
def test_new_strategy_refuses_a_name_that_is_not_an_identifier(tmp_path, env, name):
    ran = run_cli(["new", "strategy", name], tmp_path, env)
    assert_one_error(ran, 2, f"NAME: {name!r} is not a Python identifier")
    assert not (tmp_path / "my_strategies").exists()


# -- the README's worked example ---------------------------------------------------------------------------------
def test_the_worked_example_is_short_and_is_what_the_readme_shows():
    code = Path("examples/my_strategies/momentum_tilt.py").read_text()
    assert len([line for line in code.splitlines() if line.strip()]) < 20
    readme = Path("README.md").read_text()
    assert code in readme and Path("examples/momentum_tilt.toml").read_text() in readme
    cfg: RunConfig = load_config(Path("examples/momentum_tilt.toml"))
    assert sorted(s for m in cfg.sleeves.values() for s in m) == sorted(
        ["QQQ", "VUG", "IWF", "DVY", "VYM", "SCHD", "SHY", "VGSH", "GLD", "IAU"])
    check_strategy(cfg.strategy.name, cfg.strategy.params, cfg.strategy.path)
