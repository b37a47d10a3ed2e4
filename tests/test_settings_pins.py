"""Moving a setting's declaration must not change what a run is called: the shipped configs keep their digests
(run listings, sweep stores and comparisons key on them) and the regime cache keeps its keys (a fitted walk is
reused, not refitted). The values below were computed on main before the settings were declared once (issue 21);
issue 24 changed some deliberately: n_init defaults to ten screened starts (default.toml, liquidity_rotation and
next_open_2020 no longer pin three), so their digests and liquidity_rotation's cache key (its regime settings)
moved; emission became "auto" by default (the shipped HMM configs write "gaussian" and keep theirs), so the bare
model's and momentum_tilt's digests (they take auto now) and the jump configs' cache keys (the key covers every
field of the spec, emission included) moved."""
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
    "backtests/configs/default.toml": "56917c85f414",
    "backtests/configs/liquidity_rotation.toml": "f7c03dd3f8b1",
    "backtests/configs/liquidity_rotation_jump.toml": "ec1c213ac70d",
    "backtests/configs/next_open_2020.toml": "fea6887d4567",
    "backtests/configs/shu_yu_mulvey_2024_hmm.toml": "6f05603838dd",
    "backtests/configs/shu_yu_mulvey_2024_jm.toml": "6157ddf0580f",
    "examples/momentum_tilt.toml": "69c65c5c58a2",  # strategy.path by its modules, not where it is
}

#: the cache key with the engine's code version pinned (the real one changes with every edit of the engine's
#: source, on purpose): what the settings contribute -- every field, its spelling and its value
CACHE_KEYS = {
    "backtests/configs/liquidity_rotation.toml": "1084dc163b0cb7b401d1a9ee4db4309d885a293b52c6924d64f9b1335b6eacbd",
    "backtests/configs/liquidity_rotation_jump.toml": "e5b809f9edf9d4aca5b216efee5ac2d045f49afd9303f8070c2c2acc4808fe0e",
    "backtests/configs/shu_yu_mulvey_2024_jm.toml": "8d932c6361298b311dba92a2de163754bcd4583449dfbf537b1a074629024551",
}


@pytest.mark.parametrize("path", sorted(DIGESTS))
def test_a_shipped_config_keeps_its_digest(path):
    assert load_config(REPO / path).digest() == DIGESTS[path]


def test_the_embedded_default_and_the_bare_model_keep_their_digests():
    assert load_config(None).digest() == "56917c85f414"
    assert RunConfig().digest() == "494b5eaadc5d"


def test_a_config_at_the_old_emission_default_keeps_its_digest_and_one_at_auto_gets_a_new_one():
    # "716c2e3d2378" is the bare model's digest from before emission defaulted to "auto": the same behaviour
    gaussian = RunConfig.model_validate({"regimes": {"emission": "gaussian"}})
    assert gaussian.digest() == "716c2e3d2378"
    assert RunConfig().regimes.emission == "auto"
    assert RunConfig().digest() != gaussian.digest()


def test_the_emission_settings_do_not_enter_a_jump_models_digest():
    jump = load_config(REPO / "backtests/configs/liquidity_rotation_jump.toml")
    other = jump.model_copy(update={"regimes": jump.regimes.model_copy(update={"emission": "student_t"})})
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
