"""A hole in one file never silently changes the result (issue 20, item 1).

Each file used to be checked alone and the price files were joined on the dates they all have, so a 7-month
hole in one file became one day of the whole backtest. These tests build small CSV folders (two synthetic
assets on business days, AAA traded and BBB the benchmark) and go through the real command line: a hole longer
than ``data.max_gap_days`` stops the run naming the file and the days; ``--allow-gaps`` fills it forward and
says so; a late-starting series that moves ``--start`` is named; an empty close, a row dated in the future and
a store row after its fetch time are refused; the shipped files have no such hole.
"""
from __future__ import annotations

import datetime
import json
import math
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import tomli_w

from tests.conftest import REPO, requires_shared
from tests.test_failures import assert_no_output, assert_one_error, cache, env, run_cli  # noqa: F401  (fixtures)

DAYS = pd.bdate_range("2015-01-01", periods=400)  # business days: a superset of the NYSE's sessions


def _price(i: int, phase: float) -> float:
    return round(100 * (1 + 0.03 * math.sin(i / 9 + phase)) + 0.04 * i, 4)


def write_prices(folder: Path, symbol: str, days: pd.DatetimeIndex, phase: float = 0.0,
                 rows: dict[str, str] | None = None) -> None:
    """``<symbol>.csv`` with a smooth price on ``days``; ``rows`` replaces the text after the date on given days."""
    folder.mkdir(exist_ok=True)
    lines = ["Date,Close"]
    for i, d in enumerate(days):
        day = str(d.date())
        lines.append(f"{day},{(rows or {}).get(day, _price(i, phase))}")
    (folder / f"{symbol}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def config(tmp_path: Path, **data: object) -> Path:
    cfg = {"name": "gaps", "features": ["ret:BBB:2"],
           "data": {"dir": str(tmp_path / "data"), "benchmark": "BBB", "min_rows": 60, **data},
           "sleeves": {"growth": {"AAA": 1.0}, "bonds": {"BBB": 1.0}},
           "strategy": {"weights": {"abundant": {"growth": 1.0}, "tightening": {"growth": 0.5, "bonds": 0.5},
                                    "crunch": {"bonds": 1.0}}},
           "regimes": {"n_init": 1, "refit": "yearly", "min_train_days": 60}}
    path = tmp_path / "gaps.toml"
    path.write_text(tomli_w.dumps(cfg), encoding="utf-8")
    return path


def market(tmp_path: Path, hole: tuple[str, str] | None = None, bbb_days: pd.DatetimeIndex = DAYS) -> None:
    """AAA on every business day but ``hole`` (first and last missing day, inclusive); BBB on ``bbb_days``."""
    days = DAYS if hole is None else DAYS[(DAYS < hole[0]) | (DAYS > hole[1])]
    write_prices(tmp_path / "data", "AAA", days)
    write_prices(tmp_path / "data", "BBB", bbb_days, phase=1.0)


def run(tmp_path: Path, env: dict[str, str], *extra: str, **data: object):  # type: ignore[no-untyped-def]
    return run_cli(["run", str(config(tmp_path, **data)), "--out", str(tmp_path / "out"), "--no-report", *extra],
                   tmp_path, env)


# -- a hole in one file ------------------------------------------------------------------------------------------
def test_a_hole_in_one_file_is_an_error_naming_the_file_and_the_days(tmp_path, env):
    market(tmp_path, hole=("2015-06-01", "2015-07-31"))  # 45 business days, 44 NYSE sessions + July 3rd
    ran = run(tmp_path, env)
    assert_one_error(ran, 2, "AAA.csv: no price for 45 trading days from 2015-06-01 to 2015-07-31, inside the "
                             "run's span 2015-01-01 .. 2016-07-13", "data.max_gap_days", "--allow-gaps")
    assert_no_output(tmp_path / "out")


def test_a_hole_in_the_benchmark_is_named_too(tmp_path, env):
    write_prices(tmp_path / "data", "AAA", DAYS)
    write_prices(tmp_path / "data", "BBB", DAYS[(DAYS < "2016-02-01") | (DAYS > "2016-02-12")], phase=1.0)
    ran = run(tmp_path, env)
    assert_one_error(ran, 2, "BBB.csv: no price for 10 trading days from 2016-02-01 to 2016-02-12")


def test_a_hole_in_every_file_is_found_on_the_exchange_calendar(tmp_path, env):
    # one symbol: no other file has the missing days, the NYSE calendar does
    days = DAYS[(DAYS < "2015-09-01") | (DAYS > "2015-09-30")]
    write_prices(tmp_path / "data", "AAA", days)
    write_prices(tmp_path / "data", "BBB", days, phase=1.0)
    ran = run(tmp_path, env)
    assert_one_error(ran, 2, "AAA.csv: no price for 21 trading days from 2015-09-01 to 2015-09-30",
                     "1 more gap like it")


def test_a_hole_of_max_gap_days_passes_and_one_day_more_does_not(tmp_path, env):
    market(tmp_path, hole=("2015-06-01", "2015-06-05"))  # five sessions
    assert run(tmp_path, env).rc == 0
    ran = run(tmp_path, env, max_gap_days=4)
    assert_one_error(ran, 2, "AAA.csv: no price for 5 trading days from 2015-06-01 to 2015-06-05",
                     "more than the 4 data.max_gap_days allows")


@pytest.mark.parametrize(("value", "expected"), [
    ("5", "field 'data.max_gap_days': Input should be a valid integer"),
    (-1, "field 'data.max_gap_days': Input should be greater than or equal to 0"),
    (5.0, "field 'data.max_gap_days': Input should be a valid integer"),
    ("yes", "field 'data.allow_gaps': Input should be a valid boolean"),
])
def test_gap_settings_are_strict(tmp_path, env, value, expected):
    market(tmp_path)
    key = "allow_gaps" if value == "yes" else "max_gap_days"
    assert_one_error(run(tmp_path, env, **{key: value}), 2, expected)


# -- --allow-gaps fills forward and says so ------------------------------------------------------------------------
def test_allow_gaps_fills_forward_and_says_so_in_metrics_console_and_tearsheet(tmp_path, env):
    market(tmp_path, hole=("2015-06-01", "2015-07-31"))
    ran = run_cli(["run", str(config(tmp_path)), "--out", str(tmp_path / "out"), "--allow-gaps"], tmp_path, env)
    assert ran.rc == 0, ran.stderr
    said = "AAA.csv: no price for 45 trading days from 2015-06-01 to 2015-07-31: filled forward"
    assert f"warning: {said}" in ran.stdout
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["data_gaps"] == [{"symbol": "AAA", "series": "AAA.csv", "first": "2015-06-01",
                                     "last": "2015-07-31", "trading_days": 45}]
    assert said in (tmp_path / "out" / "tearsheet.html").read_text()
    returns = pd.read_csv(tmp_path / "out" / "returns.csv", index_col=0)
    assert "2015-07-15" in returns.index  # a day inside the hole is a day of the run, not merged into August


def test_allow_gaps_in_the_config_fills_forward_with_the_last_price_only(tmp_path):
    from regimeshift.data.market import load_market

    market(tmp_path, hole=("2015-06-01", "2015-07-31"))
    m = load_market(tmp_path / "data", ["AAA", "BBB"], min_rows=60, allow_gaps=True)
    aaa = m.prices["AAA"]
    before = aaa.loc[:"2015-05-29"].iloc[-1]
    assert (aaa.loc["2015-06-01":"2015-07-31"] == before).all()  # the last price before, never a later one
    kept = DAYS[(DAYS < "2015-06-01") | (DAYS > "2015-07-31")]
    assert aaa.loc["2015-08-03"] == _price(list(kept).index(pd.Timestamp("2015-08-03")), 0.0)
    assert [g.as_dict() for g in m.gaps] == [{"symbol": "AAA", "series": "AAA.csv", "first": "2015-06-01",
                                              "last": "2015-07-31", "trading_days": 45}]


def test_a_run_without_gaps_has_no_data_gaps_key(tmp_path, env):
    market(tmp_path)
    ran = run(tmp_path, env, "--allow-gaps")
    assert ran.rc == 0, ran.stderr
    assert "data_gaps" not in json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert "warning:" not in ran.stdout


def test_regimes_takes_allow_gaps_and_says_what_it_filled(tmp_path, env):
    market(tmp_path, hole=("2015-06-01", "2015-07-31"))
    ran = run_cli(["regimes", str(config(tmp_path)), "--out", str(tmp_path / "out"), "--allow-gaps"], tmp_path, env)
    assert ran.rc == 0, ran.stderr
    assert "warning: AAA.csv: no price for 45 trading days from 2015-06-01 to 2015-07-31: filled forward" in ran.stdout


def test_signal_refuses_a_hole_and_takes_allow_gaps(tmp_path, env):
    market(tmp_path, hole=("2015-06-01", "2015-07-31"))
    args = ["signal", str(config(tmp_path)), "--out", str(tmp_path / "live")]
    assert_one_error(run_cli(args, tmp_path, env), 2, "AAA.csv: no price for 45 trading days")
    ran = run_cli([*args, "--allow-gaps"], tmp_path, env)
    assert ran.rc == 0, ran.stderr
    assert "warning: AAA.csv: no price for 45 trading days from 2015-06-01 to 2015-07-31: filled forward" in ran.stdout


def test_sweep_takes_allow_gaps(tmp_path, env):
    market(tmp_path, hole=("2015-06-01", "2015-07-31"))
    base = config(tmp_path)
    sweep = tmp_path / "s.toml"
    sweep.write_text(tomli_w.dumps({"name": "s", "base": str(base), "top": 0,
                                    "grid": {"regimes.sticky": [0.0, 5.0]}}), encoding="utf-8")
    refused = run_cli(["sweep", str(sweep), "--out", str(tmp_path / "sw"), "--no-progress"], tmp_path, env)
    assert refused.rc != 0 and "AAA.csv: no price for 45 trading days" in refused.stdout + refused.stderr
    ran = run_cli(["sweep", str(sweep), "--out", str(tmp_path / "sw"), "--no-progress", "--allow-gaps"], tmp_path,
                  env)
    assert ran.rc == 0, ran.stderr
    assert "warning: AAA.csv: no price for 45 trading days from 2015-06-01 to 2015-07-31" in ran.stderr


# -- a start moved by a late series --------------------------------------------------------------------------------
def test_a_late_series_that_moves_the_start_is_named(tmp_path, env):
    market(tmp_path, bbb_days=DAYS[DAYS >= "2015-04-01"])
    ran = run(tmp_path, env, "--start", "2015-01-02")
    assert ran.rc == 0, ran.stderr
    assert ("warning: data.start 2015-01-02 moved to 2015-04-01: BBB.csv has no price before 2015-04-01 "
            "(63 trading days later than asked)") in ran.stdout


def test_a_start_a_few_sessions_before_the_files_moves_without_a_word(tmp_path, env):
    market(tmp_path)
    ran = run(tmp_path, env, "--start", "2014-12-25")  # 4 sessions before the files' first day: within the limit
    assert ran.rc == 0, ran.stderr
    assert "moved to" not in ran.stdout


# -- one file's own rows ---------------------------------------------------------------------------------------
def test_an_empty_close_between_two_prices_names_file_and_line(tmp_path, env):
    write_prices(tmp_path / "data", "AAA", DAYS, rows={"2015-06-15": ""})
    write_prices(tmp_path / "data", "BBB", DAYS, phase=1.0)
    ran = run(tmp_path, env)
    line = list(DAYS).index(pd.Timestamp("2015-06-15")) + 2
    assert_one_error(ran, 2, f"AAA.csv line {line}: Close is empty on 2015-06-15 between two prices")


@pytest.mark.parametrize("token", ["nan", "inf", "-inf"])
def test_a_non_finite_close_names_file_and_line(tmp_path, env, token):
    write_prices(tmp_path / "data", "AAA", DAYS, rows={"2015-06-15": token})
    write_prices(tmp_path / "data", "BBB", DAYS, phase=1.0)
    line = list(DAYS).index(pd.Timestamp("2015-06-15")) + 2
    assert_one_error(run(tmp_path, env), 2, f"AAA.csv line {line}: Close '{token}' is not a number")


def test_a_row_dated_in_the_future_is_refused_with_file_line_and_date(tmp_path, env):
    market(tmp_path)
    with (tmp_path / "data" / "BBB.csv").open("a", encoding="utf-8") as f:
        f.write("2030-01-02,150.0\n")
    ran = run(tmp_path, env)
    assert_one_error(ran, 2, f"BBB.csv line {len(DAYS) + 2}: date 2030-01-02 is in the future")


# -- the store -----------------------------------------------------------------------------------------------------
STORE_CONFIG = """
name = "store_future"
features = ["ret:SPY:21"]
[data]
source = "store"
dir = "{store}"
benchmark = "SPY"
min_rows = 100
[sleeves]
growth = {{ SPY = 1.0 }}
[strategy.weights]
abundant = {{ growth = 1.0 }}
tightening = {{ growth = 0.5 }}
crunch = {{}}
"""


def test_data_update_refuses_a_vendor_row_dated_after_the_fetch(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from regimeshift import store_tasks
    from regimeshift.cli.app import main
    from tests.vendors import RecordedYahoo

    store = tmp_path / "store"
    cfg = tmp_path / "s.toml"
    cfg.write_text(STORE_CONFIG.format(store=store), encoding="utf-8")
    yahoo = RecordedYahoo(("SPY",))
    f = yahoo.frames["SPY"]
    late = f.iloc[[-1]].copy()
    late.index = pd.DatetimeIndex([pd.Timestamp("2030-01-02", tz="America/New_York")], name=f.index.name)
    yahoo.frames["SPY"] = pd.concat([f, late])
    monkeypatch.setattr(store_tasks, "YAHOO_DOWNLOAD", yahoo)
    ran = CliRunner().invoke(main, ["data", "update", str(cfg)])
    assert ran.exit_code == 3, ran.output
    assert f"SPY (yahoo:SPY) row {len(f) + 1}: date 2030-01-02 is after the fetch time" in ran.output
    assert not (store / "manifest.json").exists()  # nothing stored


def test_data_show_never_calls_a_series_dated_after_today_ok(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from regimeshift.data.store.store import Store
    from regimeshift.data.store.update import Wanted, update_store
    from regimeshift.cli.app import main
    from tests.vendors import RecordedYahoo

    store = Store(tmp_path / "store")
    update_store(store, [Wanted("SPY", "price", "yahoo", "SPY")], datetime.datetime(2020, 12, 11, 22, 30),
                 download=RecordedYahoo(("SPY",)))
    ran = CliRunner().invoke(main, ["data", "show", "--store", str(store.root), "--today", "2020-12-08"])
    assert ran.exit_code == 0, ran.output
    row = next(line for line in ran.output.splitlines() if line.startswith("SPY "))
    assert "FUTURE (last date is 3 trading days after 2020-12-08" in row and not row.endswith(" ok")
    assert "stale: SPY" in ran.output


# -- the shipped data ----------------------------------------------------------------------------------------------
@requires_shared
@pytest.mark.realdata
@pytest.mark.parametrize("name", ["liquidity_rotation", "liquidity_rotation_jump", "next_open_2020",
                                  "shu_yu_mulvey_2024_hmm", "shu_yu_mulvey_2024_jm"])
def test_the_shipped_price_files_have_no_hole_inside_their_runs(shared_data, name):
    from regimeshift.backtests.config import load_config, with_overrides
    from regimeshift.pipeline import load_stage

    cfg = with_overrides(load_config(REPO / "backtests" / "configs" / f"{name}.toml"), dir=str(shared_data))
    filled = load_stage(with_overrides(cfg, allow_gaps=True, max_gap_days=0))
    assert filled.gaps == ()  # not one NYSE session missing, in the run or in the regime history
    assert not [n for n in filled.notices if n.startswith("data.start")]


# -- a feature gap names its series --------------------------------------------------------------------------------
def test_a_macro_gap_that_cuts_the_feature_rows_short_names_the_feature_and_the_gap(tmp_path, env):
    market(tmp_path)
    macro_days = DAYS[(DAYS < "2015-05-01") | (DAYS > "2016-01-29")]
    (tmp_path / "data" / "MAC.csv").write_text(
        "date,value\n" + "".join(f"{d.date()},{10 + (i % 7)}\n" for i, d in enumerate(macro_days)), encoding="utf-8")
    path = config(tmp_path, macro=["MAC"])
    cfg = tomllib.loads(path.read_text())
    cfg["features"] = ["ret:BBB:2", "level:MAC"]
    cfg["regimes"]["min_train_days"] = 200
    path.write_text(tomli_w.dumps(cfg), encoding="utf-8")
    ran = run_cli(["run", str(path), "--out", str(tmp_path / "out"), "--no-report"], tmp_path, env)
    # MAC's last value before the hole (2015-04-30) is visible on 2015-05-01 and stale after 10 business days
    assert_one_error(ran, 2, "usable feature rows (2015-01-05 .. 2015-05-15) but min_train_days is 200",
                     "the usable rows end there because level:MAC is missing from 2015-05-18 to ",
                     "a gap in that feature's series")


def test_configs_that_leave_the_gap_settings_at_their_defaults_keep_their_hash():
    from regimeshift.backtests.config import config_from_dict, load_config

    cfg = load_config(None)
    same = config_from_dict({**cfg.model_dump(), "data": {**cfg.data.model_dump(), "max_gap_days": 5,
                                                          "allow_gaps": False}})
    assert same.digest() == cfg.digest()
    for change in ({"max_gap_days": 6}, {"allow_gaps": True}):
        other = config_from_dict({**cfg.model_dump(), "data": {**cfg.data.model_dump(), **change}})
        assert other.digest() != cfg.digest()


# -- the cases on the shipped files ------------------------------------------------------------------------
def _shipped_copy(shared: Path, folder: Path, keep_shy: callable) -> Path:  # type: ignore[valid-type]
    """The files liquidity_rotation.toml reads, SHY.csv keeping only the lines ``keep_shy`` accepts."""
    folder.mkdir()
    for name in ("QQQ", "DVY", "SHY", "GLD", "SPY", "VIX", "BAMLH0A0HYM2", "IRX"):
        text = (shared / f"{name}.csv").read_text(encoding="utf-8")
        if name == "SHY":
            lines = text.splitlines(keepends=True)
            text = lines[0] + "".join(line for line in lines[1:] if keep_shy(line[:10]))
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


@requires_shared
@pytest.mark.realdata
def test_seven_months_missing_from_shy_stop_the_shipped_run(tmp_path, env, shared_data):
    data = _shipped_copy(shared_data, tmp_path / "data", lambda day: not "2012-03" <= day[:7] <= "2012-09")
    ran = run_cli(["run", str(REPO / "backtests" / "configs" / "liquidity_rotation.toml"), "--data-dir", str(data),
                   "--out", str(tmp_path / "out")], tmp_path, env)
    assert_one_error(ran, 2, "SHY.csv: no price for 148 trading days from 2012-03-01 to 2012-09-28, inside the "
                             "run's span 2005-01-03 .. 2026-07-31")
    assert_no_output(tmp_path / "out")


@requires_shared
@pytest.mark.realdata
def test_a_shy_file_starting_in_2012_names_shy_as_what_moved_the_start(tmp_path, shared_data):
    from regimeshift.backtests.config import load_config, with_overrides
    from regimeshift.pipeline import data_warnings, load_stage

    data = _shipped_copy(shared_data, tmp_path / "data", lambda day: day >= "2012-01-01")
    cfg = with_overrides(load_config(REPO / "backtests" / "configs" / "liquidity_rotation.toml"), dir=str(data),
                         start="2008-01-02")
    market = load_stage(cfg)
    assert market.prices.index[0] == pd.Timestamp("2012-01-03")
    assert data_warnings(market) == ("data.start 2008-01-02 moved to 2012-01-03: SHY.csv has no price before "
                                     "2012-01-03 (1009 trading days later than asked)",)
