"""The pieces behind issue 10, one behaviour each: data checks, strict config, declared strategy parameters,
checksummed cache entries, unused-regime warnings, umask-respecting outputs, exit-code policy."""
from __future__ import annotations

import errno
import logging
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from regimeshift.backtests.config import config_from_dict, load_config
from regimeshift.data.market import load_market
from regimeshift.data.csv_files import read_series
from regimeshift.data.checks import DEFAULT_MAX_DAILY_MOVE
from regimeshift.data.synthetic import generate_market
from regimeshift.core import exit_codes
from regimeshift.core.atomic import atomic_dir
from regimeshift.core.errors import ConfigError, DataError
from regimeshift.regimes.features import build_features
from regimeshift.regimes.occupancy import occupancy_warnings
from regimeshift.regimes.walkforward import walk_forward
from regimeshift.strategies.registry import check_strategy

from tests.conftest import requires_shared

DAYS = pd.bdate_range("2020-01-01", periods=30)


def _write(folder: Path, name: str, values, header: str = "Date,Close") -> Path:  # type: ignore[no-untyped-def]
    path = folder / name
    path.write_text(header + "\n" + "".join(f"{d.date()},{v}\n" for d, v in zip(DAYS, values)), encoding="utf-8")
    return path


def _moving(n: int = 30) -> list[float]:
    return [round(100 + 0.5 * i + (i % 3), 2) for i in range(n)]


# -- data checks -------------------------------------------------------------------------------------------------
def test_default_max_daily_move_lets_2008_and_2020_pass_with_room():
    # measured on ../shared/data: the largest one-day ETF move is QQQ +16.8% on 2001-01-03
    assert 0.168 * 2 < DEFAULT_MAX_DAILY_MOVE < 0.5  # an unadjusted 2:1 split (-50%) still fails


def test_a_price_file_named_by_the_symbol_is_read(tmp_path):
    _write(tmp_path, "AAA.csv", _moving(), header="Date,aaa")
    assert load_market(tmp_path, ["AAA"], min_rows=5).prices["AAA"].iloc[0] == 100.0


def test_a_lone_volume_column_is_no_price(tmp_path):
    _write(tmp_path, "AAA.csv", _moving(), header="Date,Volume")
    with pytest.raises(DataError, match=r"^AAA.csv line 1 \(header\): no price column; columns seen: 'Date', 'Volume'"):
        load_market(tmp_path, ["AAA"], min_rows=5)


def test_a_macro_value_column_is_still_read(tmp_path):
    assert read_series(_write(tmp_path, "MAC.csv", _moving(), header="date,value")).iloc[-1] == _moving()[-1]


def _unadjusted_split() -> list[float]:
    values = _moving()
    return values[:10] + [v / 2 for v in values[10:]]  # a 2:1 split on day 10 the file was never adjusted for


def test_a_drop_beyond_the_limit_names_line_date_and_both_prices(tmp_path):
    _write(tmp_path, "AAA.csv", _unadjusted_split())
    with pytest.raises(DataError) as info:
        load_market(tmp_path, ["AAA"], min_rows=5)
    assert str(info.value).startswith(
        "AAA.csv line 12: price moves -49.3% on 2020-01-15 (104.5 on 2020-01-14 -> 53), more than the 40% "
        "data.max_daily_move allows")


def test_the_limit_is_configurable(tmp_path):
    _write(tmp_path, "AAA.csv", _unadjusted_split())
    assert len(load_market(tmp_path, ["AAA"], min_rows=5, max_daily_move=0.6).prices) == 30


def test_an_all_zero_macro_series_is_an_error(tmp_path):
    _write(tmp_path, "AAA.csv", _moving())
    _write(tmp_path, "MAC.csv", [0.0] * 30, header="date,value")
    with pytest.raises(DataError, match=r"^MAC.csv: the value is all zero from 2020-01-01 to 2020-02-11"):
        load_market(tmp_path, ["AAA"], ["MAC"], min_rows=5)


@requires_shared
@pytest.mark.realdata
def test_every_shipped_price_file_passes_the_checks(shared_data):
    symbols = sorted(p.stem for p in shared_data.glob("*.csv") if p.read_text().startswith("Date,Close")
                     and p.stem not in ("IRX", "TNX"))  # yields, not prices (IRX dips below 0 in 2020)
    for symbol in symbols:
        load_market(shared_data, [symbol], min_rows=5)
    prices = shared_data / "ohlcv_alphavantage_to_2020"
    for path in sorted(prices.glob("*.csv")):
        load_market(prices, [path.stem], min_rows=5)


# -- strict config -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("section", "key", "value"), [
    ("execution", "commission_bps", "50"), ("execution", "fractional", 1), ("regimes", "n_init", True),
    ("regimes", "warm_start", "yes"), ("data", "max_daily_move", "0.5"), ("regimes", "refit", True),
])
def test_numbers_and_booleans_are_not_coerced(section, key, value):
    with pytest.raises(ConfigError, match=rf"field '{section}.{key}"):
        config_from_dict({section: {key: value}})


def test_an_integer_is_still_a_valid_float():
    assert config_from_dict({"execution": {"commission_bps": 50}}).execution.commission_bps == 50.0


def test_the_default_config_keeps_its_hash_after_max_daily_move_was_added():
    cfg = load_config(None)
    assert cfg.digest() == config_from_dict({**cfg.model_dump(), "data": {**cfg.data.model_dump(),
                                                                          "max_daily_move": 0.4}}).digest()
    assert cfg.digest() != config_from_dict({**cfg.model_dump(), "data": {**cfg.data.model_dump(),
                                                                          "max_daily_move": 0.5}}).digest()


def test_a_stress_window_ending_before_it_starts_is_refused():
    with pytest.raises(ConfigError, match="window 'w': end 2020-01-01 is before start 2020-02-01"):
        config_from_dict({"report": {"stress_windows": {"w": ["2020-02-01", "2020-01-01"]}}})


# -- declared strategy parameters ------------------------------------------------------------------------------------
def test_vol_target_accepts_the_parameters_of_the_strategy_it_scales():
    check_strategy("vol_target", {"base": "regime_switch", "threshold": 0.7, "min_hold": 3, "target": 0.12})


def test_vol_target_refuses_a_parameter_its_base_does_not_have():
    with pytest.raises(ConfigError, match=r"strategy.params.threshold: unknown parameter of strategy vol_target"):
        check_strategy("vol_target", {"threshold": 0.7})


def test_an_integer_parameter_refuses_a_float():
    with pytest.raises(ConfigError, match=r"strategy.params.min_hold: 2.5 is not a int"):
        check_strategy("regime_switch", {"min_hold": 2.5})


def test_a_strategy_without_declared_parameters_gets_its_table_unchecked(tmp_path, monkeypatch):
    (tmp_path / "free_form.py").write_text("def target_weights(ctx):\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    check_strategy("free_form", {"anything": "goes"})


# -- cache checksum --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def feats() -> pd.DataFrame:
    m = generate_market(seed=5, years=4)
    return build_features(m.prices, m.macro, ["vol:MARKET:21", "level:VOLINDEX"])


def test_an_entry_with_altered_arrays_is_recomputed(feats, tmp_path, caplog):
    kw = dict(min_train=252, refit="yearly", n_init=1, stress_signs=[1, 1], seed=3, workers=1)
    first = walk_forward(feats, cache=tmp_path, **kw)
    path = Path(first.meta["cache_path"])
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["probs"] = arrays["probs"][:, ::-1].copy()  # a valid zip whose probabilities are swapped around
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    assert zipfile.is_zipfile(path)
    with caplog.at_level(logging.DEBUG, logger="regimeshift.regimes.cache"):
        again = walk_forward(feats, cache=tmp_path, **kw)
    assert not again.cached
    pd.testing.assert_frame_equal(first.probabilities, again.probabilities, check_exact=True)
    assert "arrays do not match their checksum; recomputing" in caplog.text


# -- unused regimes --------------------------------------------------------------------------------------------------
def test_a_regime_with_no_share_and_one_never_on_top_are_both_named():
    probs = pd.DataFrame({"a": [0.9, 0.8, 0.1], "b": [0.1, 0.2, 0.9 - 1e-9], "c": [0.0, 0.0, 0.0], "d": [0, 0, 1e-9]},
                         index=DAYS[:3])
    text = occupancy_warnings(probs, ["a", "b", "c", "d"])
    assert text[0].startswith("regime 'c' has a share of 0")
    assert text[1].startswith("regime 'd' is never the most probable regime")
    assert len(text) == 2


# -- outputs and exit codes ------------------------------------------------------------------------------------------
def test_output_folder_and_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "out") as tmp:
            (tmp / "f.txt").write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "out" / "f.txt").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(("code", "status"), [
    (errno.ENOSPC, 3), (errno.EROFS, 3), (errno.EACCES, 3), (errno.ENOTDIR, 2), (errno.EISDIR, 2), (errno.ELOOP, 2),
])
def test_the_machine_refusing_is_exit_3_a_wrong_path_exit_2(code, status):
    assert exit_codes.os_error_code(OSError(code, os.strerror(code), "x")) == status
