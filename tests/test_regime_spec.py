"""RegimeSpec is the regime model's single source of settings: the config builds it, and every field reaches the
fit (estimator, walk-forward schedule, cache key)."""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from regimeshift.backtests.config import config_from_dict, load_config
from regimeshift.core.errors import ConfigError
from regimeshift.regimes.cache import cache_key
from regimeshift.regimes.model import LiquidityHMM
from regimeshift.regimes.spec import RegimeSpec
from regimeshift.regimes.walkforward import walk_forward
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

# the Gaussian (not the default "auto", which fits both families at every cold fit): each field's change is
# one more walk, so the base is the quickest family; "emission" below changes it
# its cold start is hmmlearn's: the default ("local") does not use the seed, which this test would then not see
BASE = RegimeSpec(names=("calm", "stress"), n_init=2, n_iter=40, min_train=300, refit=60, cold_every=3,
                  stress_signs=(1.0, 1.0), feature_names=("ret:A:1", "level:B"), seed=1, emission="gaussian",
                  init="hmmlearn")

#: one other valid value per field, chosen so that it changes what the walk-forward computes on _features()
CHANGED = {
    "names": ("calm", "mid", "stress"),
    "covariance_type": "diag",
    "n_init": 4,
    "n_iter": 6,
    "tol": 0.5,
    "min_covar": 0.5,
    "sticky": 50.0,
    "init": "kmeans",
    "kmeans_n_init": 5,
    "stress_signs": (-1.0, -1.0),
    "order_by": "signed_mean",
    "feature_names": ("level:A", "level:B"),
    "seed": 7,
    "min_train": 400,
    "refit": "quarterly",
    "window": 250,
    "warm_start": False,
    "cold_every": 1,
    "cold_growth": 0.0,
    "cold_surprise": 0.0,  # off: the late shock in _features() no longer makes cold starts compete
    "model": "jump",
    "emission": "student_t",
    "smooth_days": 5,
}

#: settings of the other model families, each changed from a base of its own family
FAMILY = {
    "jump_penalty": ({"model": "jump"}, 5.0),
    "jump_continuous": ({"model": "jump"}, True),
    "max_feats": ({"model": "jump"}, 1.5),
    "penalty_grid": ({"model": "jump", "jump_penalty": "cv"}, (0.0, 500.0)),
    "penalty_cv": ({"model": "jump", "jump_penalty": "cv"}, "walk"),
    "cv_validation_days": ({"model": "jump", "jump_penalty": "cv", "penalty_cv": "walk", "penalty_grid": (0.0, 500.0)},
                           60),
    "n_mix": ({"model": "gmmhmm", "covariance_type": "diag"}, 3),
    "t_dof": ({"emission": "student_t"}, 3.0),
    "smooth_grid": ({"smooth_days": "cv", "cv_validation_days": 120}, (1, 21)),
}


def _features() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    blocks, state = [], 0
    for _ in range(16):
        n = int(rng.integers(30, 80))
        mean, sd = ((0.0, 1.0), (2.5, 3.0))[state]
        blocks.append(rng.normal(mean, sd, (n, 2)) + rng.standard_t(3, (n, 2)) * 0.5)
        state = 1 - state
    blocks.insert(-2, rng.normal(12.0, 1.0, (70, 2)))  # a shock no state has seen: the surprise rule's case
    X = np.concatenate(blocks)
    return pd.DataFrame(X, index=pd.bdate_range("2010-01-01", periods=len(X)), columns=["a", "b"])


def _fingerprint(features: pd.DataFrame, spec: RegimeSpec) -> tuple:
    returns = features["a"] * 0.01  # what a cross-validated jump penalty scores its 0/1 strategy on
    r = walk_forward(features, spec, workers=1, returns=returns)
    # the naming rule's scores too: a setting of the rule may leave the names (and so the numbers) as they were
    return (r.probabilities.round(12).to_numpy().tobytes(), tuple(r.probabilities.columns),
            r.refits.round(9).to_csv(),
            r.model.stress_scores().round(9).tobytes() if hasattr(r.model, "stress_scores") else None)


def test_every_spec_field_has_a_changed_value_in_this_test() -> None:
    # min_train_days is the walk's min_train
    assert set(CHANGED) | set(FAMILY) == {{"min_train_days": "min_train"}.get(f, f) for f in RegimeSpec.model_fields}


def test_every_spec_field_changes_the_cache_key() -> None:
    X = _features()
    base = cache_key(X, BASE.cache_params())
    same = [name for name, value in CHANGED.items() if cache_key(X, BASE.replace(**{name: value}).cache_params()) == base]
    assert same == []


def test_every_spec_field_reaches_the_walk_forward() -> None:
    X = _features()
    base = _fingerprint(X, BASE)
    unchanged = [name for name, value in CHANGED.items() if _fingerprint(X, BASE.replace(**{name: value})) == base]
    assert unchanged == []


def test_every_model_family_setting_reaches_its_walk_forward() -> None:
    X = _features()
    unchanged = []
    for name, (family, value) in FAMILY.items():
        base = BASE.replace(**family)
        if _fingerprint(X, base) == _fingerprint(X, base.replace(**{name: value})):
            unchanged.append(name)
    assert unchanged == []


def test_config_builds_the_spec_from_every_regime_setting() -> None:
    raw = load_config(None).model_dump()
    raw["regimes"].update({"cold_surprise": 0.25, "init": "mixed", "min_train_days": 600, "refit": 21})
    spec = config_from_dict(raw).regimes.spec([1.0, -1.0], seed=5)
    assert (spec.cold_surprise, spec.init, spec.min_train, spec.refit, spec.seed) == (0.25, "mixed", 600, 21, 5)
    assert spec.stress_signs == (1.0, -1.0)


def test_the_estimator_and_the_walk_forward_share_their_defaults() -> None:
    spec = RegimeSpec()
    assert LiquidityHMM().get_params() == LiquidityHMM.from_spec(spec.replace(stress_signs=None)).get_params() | {
        "names": LiquidityHMM().names
    }
    assert LiquidityHMM().init == spec.init == load_config(None).regimes.init


def test_an_invalid_spec_is_one_config_error_naming_the_field() -> None:
    with pytest.raises(ConfigError, match=r"regimes\.init: 'viterbi'"):
        RegimeSpec(init="viterbi")


def test_an_unknown_setting_is_rejected() -> None:
    with pytest.raises(TypeError):
        walk_forward(_features(), BASE, n_statez=3)


def test_the_estimator_follows_scikit_learn_conventions() -> None:
    m = LiquidityHMM(n_init=2, init="kmeans")
    assert clone(m).get_params() == m.get_params()
    with pytest.raises(ValueError):
        m.set_params(n_statez=3)
    with pytest.raises(NotFittedError):
        check_is_fitted(m)
    with pytest.raises(NotFittedError):
        _ = m.order_
    m.fit(_features().to_numpy())
    check_is_fitted(m)
    assert m.state_.n_train == len(_features())


def test_the_estimators_parameters_and_repr_are_what_scikit_learns_base_estimator_makes_of_its_signature() -> None:
    from sklearn.base import BaseEstimator

    twin = type("LiquidityHMM", (BaseEstimator,), {"__init__": LiquidityHMM.__init__})
    kw = {"n_init": 4, "emission": "student_t", "names": ("calm", "storm")}
    ours, theirs = LiquidityHMM(**kw), twin(**kw)
    assert ours.get_params() == theirs.get_params() and ours.get_params(deep=False) == theirs.get_params(deep=False)
    assert repr(ours) == repr(theirs) and repr(LiquidityHMM()) == repr(twin()) == "LiquidityHMM()"
    assert ours.set_params(n_iter=7) is ours and ours.n_iter == 7


def test_a_fitted_model_round_trips_through_its_state() -> None:
    m = LiquidityHMM(n_init=2).fit(_features().to_numpy())
    arrays, scalars = m.to_state()
    back = LiquidityHMM.from_state(arrays, scalars)
    X = _features().to_numpy()
    np.testing.assert_array_equal(back.predict_filtered(X), m.predict_filtered(X))
    assert back.get_params() == m.get_params() | {"names": tuple(m.names)}


def test_the_paper_s_settings_are_validated_and_semiannual_refits_fall_in_january_and_july() -> None:
    from regimeshift.regimes.schedule import refit_positions

    with pytest.raises(ConfigError, match=r"regimes\.penalty_cv: 'kfold'"):
        RegimeSpec(penalty_cv="kfold")
    with pytest.raises(ConfigError, match=r"regimes\.cv_validation_days"):
        RegimeSpec(cv_validation_days=5)
    index = pd.bdate_range("2001-03-01", "2004-12-31")
    pos = refit_positions(index, 40, "semiannual")
    assert pos[0] == 39
    later = index[pos[1:]]
    assert set(later.month) == {1, 7} and all(later.day <= 3) and len(later) == 7
    raw = load_config(None).model_dump()
    raw["regimes"].update({"refit": "semiannual", "model": "jump", "jump_penalty": "cv", "penalty_cv": "walk",
                           "cv_validation_days": 504})
    spec = config_from_dict(raw).regimes.spec(None, seed=1)
    assert (spec.refit, spec.penalty_cv, spec.cv_validation_days) == ("semiannual", "walk", 504)
