"""The content-addressed walk-forward cache: exact hits, keys that see every input, atomic and self-healing."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from regimeshift.data.synthetic import generate_market
from regimeshift.core.errors import RegimeshiftError
from regimeshift.regimes import cache as regime_cache
from regimeshift.regimes.features import build_features
from regimeshift.regimes.walkforward import walk_forward


@pytest.fixture(scope="module")
def feats() -> pd.DataFrame:
    m = generate_market(seed=5, years=6)
    return build_features(m.prices, m.macro, ["vol:MARKET:21", "ret:MARKET:63", "level:VOLINDEX"])


def _kw(**over):  # type: ignore[no-untyped-def]
    # the cache's mechanics hold for either family: the Gaussian keeps them quick; the first test runs the default
    kw = dict(min_train=504, refit="quarterly", n_init=2, stress_signs=[1, -1, 1], seed=3, workers=1,
              emission="gaussian")
    kw.update(over)
    return kw


def test_a_hit_returns_exactly_what_the_computation_returned(feats, tmp_path):
    a = walk_forward(feats, cache=tmp_path, **_kw(emission="auto"))  # the default: its choices are kept too
    b = walk_forward(feats, cache=tmp_path, **_kw(emission="auto"))
    assert not a.cached and b.cached
    pd.testing.assert_frame_equal(a.probabilities, b.probabilities, check_exact=True)
    pd.testing.assert_frame_equal(a.refits, b.refits, check_exact=True)
    pd.testing.assert_series_equal(a.loglik_path, b.loglik_path, check_exact=True)
    assert a.oos_loglik == b.oos_loglik
    np.testing.assert_array_equal(a.model.transmat_, b.model.transmat_)
    np.testing.assert_array_equal(a.model.means_, b.model.means_)
    X = feats.dropna().to_numpy()
    np.testing.assert_array_equal(a.model.predict_filtered(X), b.model.predict_filtered(X))
    # and an uncached run gives the same numbers: the cache changes nothing
    c = walk_forward(feats, cache=False, **_kw(emission="auto"))
    pd.testing.assert_frame_equal(a.probabilities, c.probabilities, check_exact=True)
    assert b.seconds < 0.5


def test_the_key_sees_every_value_date_column_and_parameter(feats):
    params = {"n_init": 2, "seed": 3}
    base = regime_cache.cache_key(feats, params)
    later = feats.copy()
    later.iloc[-1, 0] += 1e-12  # one value on the last day: a run on this data must not reuse the other
    shifted = feats.copy()
    shifted.index = shifted.index + pd.Timedelta(days=1)
    renamed = feats.rename(columns={feats.columns[0]: "other"})
    keys = {
        base,
        regime_cache.cache_key(later, params),
        regime_cache.cache_key(shifted, params),
        regime_cache.cache_key(renamed, params),
        regime_cache.cache_key(feats, {**params, "seed": 4}),
    }
    assert len(keys) == 5
    assert regime_cache.cache_key(feats.copy(), dict(params)) == base


def test_a_corrupt_entry_is_ignored_and_rewritten(feats, tmp_path):
    a = walk_forward(feats, cache=tmp_path, **_kw())
    path = Path(a.meta["cache_path"])
    for damage in (b"", b"not a zip file", path.read_bytes()[: len(path.read_bytes()) // 2]):
        path.write_bytes(damage)
        b = walk_forward(feats, cache=tmp_path, **_kw())
        assert not b.cached
        pd.testing.assert_frame_equal(a.probabilities, b.probabilities, check_exact=True)
        assert walk_forward(feats, cache=tmp_path, **_kw()).cached  # rewritten
    leftovers = [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers


def test_cache_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("REGIMESHIFT_CACHE", str(tmp_path / "explicit"))
    assert regime_cache.cache_dir(True) == (tmp_path / "explicit").resolve()
    monkeypatch.delenv("REGIMESHIFT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert regime_cache.cache_dir(True) == (tmp_path / "xdg" / "regimeshift").resolve()
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert regime_cache.cache_dir(True) == (tmp_path / "home" / ".cache" / "regimeshift").resolve()
    monkeypatch.setenv("REGIMESHIFT_CACHE", "off")
    assert regime_cache.cache_dir(True) is None
    assert regime_cache.cache_dir(False) is None


def test_the_cache_never_goes_inside_a_package():
    pkg = Path(regime_cache.__file__).resolve().parent
    with pytest.raises(RegimeshiftError, match="inside the package"):
        regime_cache.cache_dir(pkg / "cache")


def test_the_pipeline_uses_the_cache(monkeypatch, tmp_path):
    from regimeshift.pipeline import feature_stage, load_stage, regime_stage
    from tests.conftest import small_synthetic_config

    monkeypatch.setenv("REGIMESHIFT_CACHE", str(tmp_path))
    cfg = small_synthetic_config()
    features = feature_stage(cfg, load_stage(cfg))
    first = regime_stage(cfg, features)
    second = regime_stage(cfg, features)
    assert not first.cached and second.cached
    assert any(p.suffix == ".npz" for p in (tmp_path / "walkforward").iterdir())
    pd.testing.assert_frame_equal(first.probabilities, second.probabilities, check_exact=True)
    assert os.environ["REGIMESHIFT_CACHE"] == str(tmp_path)


def test_eviction_deletes_the_least_recently_used_results_first(feats, tmp_path):
    paths = []
    for seed in (1, 2, 3):
        r = walk_forward(feats, cache=tmp_path, **_kw(seed=seed))
        paths.append(Path(r.meta["cache_path"]))
    for age, p in zip((300, 200, 100), paths):  # seed 1 oldest, seed 3 newest
        os.utime(p, (p.stat().st_atime, p.stat().st_mtime - age))
    assert walk_forward(feats, cache=tmp_path, **_kw(seed=1)).cached  # a hit makes seed 1 the most recent
    size = paths[0].stat().st_size
    removed = regime_cache.prune(tmp_path, limit=2 * size + size // 2)
    assert removed == [paths[1]]
    assert [p.exists() for p in paths] == [True, False, True]


def test_a_new_result_keeps_the_cache_under_its_size_cap(feats, tmp_path, monkeypatch):
    monkeypatch.setenv("REGIMESHIFT_CACHE_MAX_MB", "0")
    r = walk_forward(feats, cache=tmp_path, **_kw())
    assert not Path(r.meta["cache_path"]).exists()  # written, then evicted: a cap of 0 keeps nothing
    assert regime_cache.entries(tmp_path) == []


def test_stale_temporary_files_of_crashed_writers_are_removed(tmp_path):
    folder = tmp_path / "walkforward"
    folder.mkdir()
    old, fresh = folder / ".abc.123.tmp", folder / ".def.456.tmp"
    old.write_bytes(b"x")
    fresh.write_bytes(b"x")
    os.utime(old, (0, fresh.stat().st_mtime - 7200))
    regime_cache.prune(tmp_path)
    assert not old.exists() and fresh.exists()


def test_a_bad_size_cap_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("REGIMESHIFT_CACHE_MAX_MB", "lots")
    with pytest.raises(RegimeshiftError, match="REGIMESHIFT_CACHE_MAX_MB: 'lots' is not a number"):
        regime_cache.max_bytes()


def test_the_cache_command_reports_and_clears(feats, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from regimeshift.cli.app import main

    monkeypatch.setenv("REGIMESHIFT_CACHE", str(tmp_path))
    walk_forward(feats, cache=True, **_kw())
    out = CliRunner().invoke(main, ["cache"])
    assert out.exit_code == 0 and "1 result," in out.output
    out = CliRunner().invoke(main, ["cache", "--clear"])
    assert out.exit_code == 0 and "deleted 1 result" in out.output
    assert regime_cache.entries(tmp_path.resolve()) == []


def test_the_run_that_fills_the_cache_writes_what_the_runs_reading_it_write(monkeypatch, tmp_path):
    """Deterministic outputs whether the fits were computed or read: the first run's metrics.json (its naming
    report's z-gaps come from the model) is byte for byte the second's."""
    import regimeshift as rs
    from regimeshift.api import config_from_toml_text
    from tests.conftest import small_synthetic_toml

    monkeypatch.setenv("REGIMESHIFT_CACHE", str(tmp_path / "cache"))
    # five features over seven years: its z-gaps differed in the 15th digit between the live and the stored model
    cfg = config_from_toml_text(small_synthetic_toml(
        7.0, ("vol:MARKET:21", "ret:MARKET:63", "corr:MARKET:GOLD:63", "level:VOLINDEX", "level:CREDITSPREAD")))
    first = rs.run(cfg).write(tmp_path / "first", report=False)
    second = rs.run(cfg).write(tmp_path / "second", report=False)
    for name in ("metrics.json", "regimes.csv", "returns.csv", "weights.csv", "trades.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
