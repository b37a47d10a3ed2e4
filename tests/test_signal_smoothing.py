"""Signal smoothing (``regimes.smooth_days``): the regime probabilities averaged over the last k days, k fixed or
chosen every month by the 0/1 strategy's validation Sharpe (Shu, Yu & Mulvey 2024's smoothed HMM benchmark).

- a smoothed row is the mean of the last k rows, and still sums to one;
- forward-only: changing rows after t changes no smoothed row at or before t, for any k, and the monthly choice
  of k reads nothing after the month starts;
- each month's rows are the chosen k's smoothing, and the chosen k is the one with the best validation Sharpe;
- the walk is cached without its smoothing, so changing only the smoothing refits nothing;
- the settings reach the config, with one clear error for a bad value, and leave the config hash alone.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from regimeshift.backtests.config import config_from_dict, load_config
from regimeshift.core.errors import ConfigError
from regimeshift.regimes.jump import strategy_sharpe
from regimeshift.regimes.monthly_choice import WALK_CV_COST, WALK_CV_DELAY
from regimeshift.regimes.smoothing import smooth
from regimeshift.regimes.walkforward import walk_forward

from tests.test_jump_model import SIGNS, _future_replaced, two_regime_features

HMM_WALK = dict(names=("bull", "bear"), min_train=400, refit=63, stress_signs=SIGNS, seed=3, n_init=2,
                cold_every=4, cv_validation_days=120)


def _returns(F: pd.DataFrame) -> pd.Series:
    return pd.Series(np.where(F["ret:X:21"] > 0, 0.002, -0.004), index=F.index)


def test_a_smoothed_row_is_the_mean_of_the_last_k_rows():
    P = pd.DataFrame({"calm": [1.0, 0.0, 1.0, 1.0], "stress": [0.0, 1.0, 0.0, 0.0]},
                     index=pd.bdate_range("2020-01-01", periods=4))
    S = smooth(P, 3)
    assert S["calm"].tolist() == pytest.approx([1.0, 0.5, 2 / 3, 2 / 3])
    assert S.sum(axis=1).tolist() == pytest.approx([1.0] * 4)
    assert smooth(P, 1) is P


@settings(max_examples=40, deadline=None, derandomize=True)
@given(k=st.integers(1, 30), cut=st.integers(0, 98), seed=st.integers(0, 10_000))
def test_smoothing_is_forward_only(k, cut, seed):
    rng = np.random.default_rng(seed)
    p = rng.random(100)
    P = pd.DataFrame({"calm": p, "stress": 1 - p}, index=pd.bdate_range("2020-01-01", periods=100))
    Q = P.copy()
    q = rng.random(100 - cut - 1)
    Q.iloc[cut + 1 :, 0], Q.iloc[cut + 1 :, 1] = q, 1 - q
    pd.testing.assert_frame_equal(smooth(Q, k).iloc[: cut + 1], smooth(P, k).iloc[: cut + 1])


def test_each_month_uses_the_k_whose_smoothed_signal_scored_best_on_the_days_before():
    F = two_regime_features()
    returns = _returns(F)
    grid = (1, 3, 8)
    res = walk_forward(F, smooth_days="cv", smooth_grid=grid, returns=returns, **HMM_WALK)
    raw = walk_forward(F, **HMM_WALK).probabilities
    chosen = res.meta["smoothing"]["smooth_days"]
    assert set(chosen) <= set(grid) and len(set(chosen.index.to_period("M"))) == len(chosen)
    for i, (day, k) in enumerate(chosen.items()):
        end = chosen.index[i + 1] if i + 1 < len(chosen) else None
        month = res.probabilities.loc[day:end].iloc[: None if end is None else -1]
        pd.testing.assert_frame_equal(month, smooth(raw, k).loc[month.index])
    day = chosen.index[-1]
    p = raw.index.get_loc(day)
    scores = {k: strategy_sharpe(smooth(raw, k).iloc[p - 120 : p, 0].to_numpy(), returns.iloc[:].reindex(
        raw.index).iloc[p - 120 : p].to_numpy(), delay=WALK_CV_DELAY, cost=WALK_CV_COST) for k in grid}
    best = max(scores.values())
    assert chosen.iloc[-1] == max(k for k, v in scores.items() if v >= best - 1e-12)


def test_the_monthly_choice_of_smoothing_has_no_look_ahead():
    F = two_regime_features()
    returns = _returns(F)
    full = walk_forward(F, smooth_days="cv", smooth_grid=(1, 3, 8), returns=returns, **HMM_WALK)
    cut = F.index[650]
    G, R = _future_replaced(F, returns, cut, np.random.default_rng(1))
    part = walk_forward(G, smooth_days="cv", smooth_grid=(1, 3, 8), returns=R, **HMM_WALK)
    pd.testing.assert_frame_equal(part.probabilities.loc[:cut], full.probabilities.loc[:cut])
    pd.testing.assert_series_equal(part.meta["smoothing"]["smooth_days"].loc[:cut],
                                   full.meta["smoothing"]["smooth_days"].loc[:cut])


def test_smoothing_cuts_the_switches_of_a_flickering_signal():
    F = two_regime_features()
    raw = walk_forward(F, **HMM_WALK).regime
    smoothed = walk_forward(F, smooth_days=8, **HMM_WALK).regime
    switches = (lambda r: int((r != r.shift()).iloc[1:].sum()))
    assert switches(smoothed) <= switches(raw)


def test_the_jump_models_monthly_choice_lets_every_penalty_and_smoothing_pair_compete():
    F = two_regime_features()
    res = walk_forward(F, model="jump", jump_penalty="cv", penalty_grid=(0.0, 100.0), penalty_cv="walk",
                       smooth_days="cv", smooth_grid=(1, 8), returns=_returns(F), **HMM_WALK)
    pairs = set(zip(res.refits["jump_penalty"], res.refits["smooth_days"]))
    assert pairs <= {(0.0, 1), (0.0, 8), (100.0, 1), (100.0, 8)}
    assert res.probabilities.notna().all().all()


def test_changing_only_the_smoothing_reuses_the_cached_walk(tmp_path):
    F = two_regime_features()
    first = walk_forward(F, cache=tmp_path, **HMM_WALK)
    again = walk_forward(F, cache=tmp_path, smooth_days=5, **HMM_WALK)
    assert not first.cached and again.cached
    pd.testing.assert_frame_equal(again.probabilities, smooth(first.probabilities, 5))


def test_smooth_days_cv_without_returns_is_one_clear_error():
    from regimeshift.core.errors import RegimeshiftError

    with pytest.raises(RegimeshiftError, match="smooth_days = 'cv' needs the index's returns"):
        walk_forward(two_regime_features(), smooth_days="cv", **HMM_WALK)


@pytest.mark.parametrize("bad", [0, -3, "weekly", 2.5])
def test_a_bad_smooth_days_is_a_config_error_naming_the_field(bad):
    raw = load_config(None).model_dump()
    raw["regimes"]["smooth_days"] = bad
    with pytest.raises(ConfigError, match="smooth_days"):
        config_from_dict(raw)


def test_smoothing_settings_at_their_defaults_leave_the_config_hash_alone():
    cfg = load_config(None)
    raw = cfg.model_dump()
    raw["regimes"].update(smooth_days=1, smooth_grid=[1, 2, 3, 5, 8, 13, 21])
    assert config_from_dict(raw).digest() == cfg.digest()
    raw["regimes"].update(smooth_days="cv")
    assert config_from_dict(raw).digest() != cfg.digest()


def test_the_diagnostics_say_how_the_signal_was_smoothed():
    from regimeshift.regimes.diagnostics import diagnose, format_diagnostics

    F = two_regime_features()
    res = walk_forward(F, smooth_days="cv", smooth_grid=(1, 3, 8), returns=_returns(F), **HMM_WALK)
    counts = res.meta["smoothing"]["smooth_days"].value_counts()
    text = format_diagnostics(diagnose(res, list(F.columns)))
    line = next(x for x in text.splitlines() if x.startswith("signal smoothed"))
    assert line.startswith(f"signal smoothed over {res.meta['smoothing']['smooth_days'].iloc[-1]} days at the end")
    assert all(f"{k} days x{v}" in line for k, v in counts.items())
    fixed = format_diagnostics(diagnose(walk_forward(F, smooth_days=5, **HMM_WALK), list(F.columns)))
    assert "signal smoothed over 5 days\n" in fixed
