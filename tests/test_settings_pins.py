"""Moving a setting's declaration must not change what a run is called: the shipped configs keep their digests
(run listings, sweep stores and comparisons key on them) and the regime cache keeps its keys (a fitted walk is
reused, not refitted). The values below were computed on main before the settings were declared once (issue 21);
issue 24 changed some deliberately: n_init defaults to ten screened starts (default.toml, liquidity_rotation and
next_open_2020 no longer pin three), so their digests and liquidity_rotation's cache key (its regime settings)
moved; emission became "auto" by default (the shipped HMM configs write "gaussian" and keep theirs), so the bare
model's and momentum_tilt's digests (they take auto now) and the jump configs' cache keys (the key covers every
field of the spec, emission included) moved; init became "local" by default (the same answer at every seed), so
every config that leaves it out (all shipped ones) has a new digest and cache key, and the jump configs' digests
moved once more as the HMM's cold start no longer enters them; default.toml, liquidity_rotation and next_open_2020
then wrote n_init = 3 again (one start per window of the local start), moving their digests once more; sticky
became 30 by default (a persistence prior), so every HMM config that leaves it out has a new digest and cache key,
and the jump configs' digests moved as sticky left them (only the HMM reads it) and their cache keys with it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from regimeshift.backtests.config import RunConfig, load_config
from regimeshift.regimes import cache as regime_cache
from regimeshift.regimes.features import stress_sign
from regimeshift.regimes.walkforward import walk_forward

REPO = Path(__file__).resolve().parents[1]

DIGESTS = {
    "backtests/configs/default.toml": "6f6ea02b81a6",
    "backtests/configs/liquidity_rotation.toml": "27229a976fd5",
    "backtests/configs/liquidity_rotation_jump.toml": "f7e5091e24e5",
    "backtests/configs/next_open_2020.toml": "0319eae7cb4b",
    "backtests/configs/shu_yu_mulvey_2024_hmm.toml": "30d1dece0f04",
    "backtests/configs/shu_yu_mulvey_2024_jm.toml": "331dac72dd69",
    "examples/momentum_tilt.toml": "bd697cc2350b",  # strategy.path by its modules, not where it is
}

#: the cache key with the engine's code version pinned (the real one changes with every edit of the engine's
#: source, on purpose): what the settings contribute -- every field, its spelling and its value
CACHE_KEYS = {
    "backtests/configs/liquidity_rotation.toml": "07fb001e888f02207796f8ef598a3d8203e9bf6e7e8a246377f9f5a92f0272fd",
    "backtests/configs/liquidity_rotation_jump.toml": "156a1a9e6b974a85c8be0d1cd580eb22e54870fa04b85cb131de60f2ace98d6e",
    "backtests/configs/shu_yu_mulvey_2024_jm.toml": "7228e677051fdbbbba8a8c2496b588b50700915061e922f6717c65750874077f",
}


@pytest.mark.parametrize("path", sorted(DIGESTS))
def test_a_shipped_config_keeps_its_digest(path):
    assert load_config(REPO / path).digest() == DIGESTS[path]


def test_the_embedded_default_and_the_bare_model_keep_their_digests():
    assert load_config(None).digest() == "6f6ea02b81a6"
    assert RunConfig().digest() == "37d89ad7a75f"


def test_a_config_at_the_old_defaults_keeps_its_digest_and_one_at_the_new_ones_gets_a_new_one():
    # "716c2e3d2378" is the bare model's digest from before emission defaulted to "auto", init to "local" and
    # sticky to 30
    gaussian = RunConfig.model_validate({"regimes": {"emission": "gaussian", "init": "hmmlearn", "sticky": 0.0}})
    assert gaussian.digest() == "716c2e3d2378"
    assert RunConfig().regimes.init == "local"
    assert RunConfig().regimes.emission == "auto"
    assert RunConfig().digest() != gaussian.digest()


def test_the_hmms_own_settings_do_not_enter_a_jump_models_digest():
    jump = load_config(REPO / "backtests/configs/liquidity_rotation_jump.toml")
    other = jump.model_copy(update={"regimes": jump.regimes.model_copy(update={"emission": "student_t",
                                                                             "init": "hmmlearn", "sticky": 5.0})})
    assert other.digest() == jump.digest()


class _Captured(Exception):
    pass


@pytest.mark.parametrize("path", sorted(CACHE_KEYS))
def test_a_shipped_config_keeps_its_regime_cache_key(path, monkeypatch, tmp_path):
    keys = []

    def capture(features, params, compute, cache):  # noqa: ANN001, ARG001
        keys.append(regime_cache.cache_key(features, params))
        raise _Captured

    monkeypatch.setattr(regime_cache, "CODE_VERSION", "pinned")
    monkeypatch.setattr(regime_cache, "cached", capture)
    # exact binary fractions and small integers: the same bytes on every platform
    index = pd.bdate_range("2000-01-03", periods=300)
    columns = ["vol:SPY:21", "ret:SPY:63", "corr:SPY:GLD:63", "level:VIX"]
    features = pd.DataFrame((np.arange(1200).reshape(300, 4) % 97) / 7.0, index=index, columns=columns)
    returns = pd.Series((np.arange(300) % 11 - 5) / 1000.0, index=index)
    cfg = load_config(REPO / path)
    spec = cfg.regimes.spec([stress_sign(c) for c in columns], cfg.seed)
    with pytest.raises(_Captured):
        walk_forward(features, spec, cache=tmp_path, returns=returns)
    assert keys == [CACHE_KEYS[path]]


def test_a_config_with_a_strategy_folder_has_one_digest_wherever_it_is_checked_out(tmp_path):
    import shutil

    shutil.copytree(REPO / "examples", tmp_path / "elsewhere")
    moved = load_config(tmp_path / "elsewhere" / "momentum_tilt.toml").digest()
    assert moved == load_config(REPO / "examples" / "momentum_tilt.toml").digest()
    (tmp_path / "elsewhere" / "my_strategies" / "momentum_tilt.py").write_text("# edited\n", encoding="utf-8")
    assert load_config(tmp_path / "elsewhere" / "momentum_tilt.toml").digest() != moved  # the code is the strategy
