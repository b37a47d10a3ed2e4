"""LiquidityHMM: restarts, honest convergence, stress-ordered names, BLAS-rewritten steps agree with hmmlearn."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hmmlearn.hmm import GaussianHMM
from regimeshift.regimes.hmm_twin import FastGaussianHMM
from regimeshift.regimes.model import LiquidityHMM


def _three_regimes(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    calm = rng.normal([0.0, 10.0], [0.3, 1.0], (400, 2))
    tight = rng.normal([1.0, 20.0], [0.5, 2.0], (200, 2))
    crunch = rng.normal([3.0, 45.0], [1.0, 5.0], (80, 2))
    return np.r_[calm, tight, crunch, calm[:200]]


def test_states_are_named_from_calm_to_stressed_by_mean_stress():
    m = LiquidityHMM(init="mixed", n_init=2, stress_signs=[1, 1]).fit(_three_regimes())
    vix_means = m.means_[:, 1]
    assert list(np.argsort(vix_means)) == [0, 1, 2]
    assert vix_means[2] == pytest.approx(45.0, abs=3.0)


def test_fast_hmm_gives_the_same_fit_as_stock_hmmlearn():
    X = _three_regimes(1)
    fits = []
    for cls in (GaussianHMM, FastGaussianHMM):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits.append(cls(3, "full", n_iter=25, tol=1e-12, random_state=2).fit(X))
    a, b = fits
    assert a.score(X) == pytest.approx(b.score(X), rel=1e-9)
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(a._compute_log_likelihood(X), b._compute_log_likelihood(X), rtol=1e-9, atol=1e-9)


def test_hitting_n_iter_counts_as_not_converged():
    m = LiquidityHMM(init="mixed", n_init=1, n_iter=5, tol=1e-12, stress_signs=[1, 1]).fit(_three_regimes())
    assert m.n_iter_ == 5
    assert m.converged_ is False


def test_more_restarts_never_lower_the_training_likelihood():
    X = _three_regimes(2)
    one = LiquidityHMM(init="mixed", n_init=1, random_state=4).fit(X)
    four = LiquidityHMM(init="mixed", n_init=4, random_state=4).fit(X)
    assert four.loglik_ >= one.loglik_ - 1e-9


def test_warm_start_recovers_the_previous_optimum_in_few_iterations():
    X = _three_regimes(3)
    cold = LiquidityHMM(init="mixed", n_init=2, stress_signs=[1, 1]).fit(X[:-20])
    warm = LiquidityHMM(init="mixed", n_init=2, stress_signs=[1, 1]).fit(X, warm_start=cold)
    assert warm.warm_started_ and warm.converged_
    assert warm.n_iter_ <= 10
    np.testing.assert_allclose(warm.means_, cold.means_, rtol=0.05, atol=0.2)


def test_expected_durations_are_one_over_one_minus_stay_probability():
    m = LiquidityHMM(init="mixed", n_init=1, stress_signs=[1, 1]).fit(_three_regimes())
    np.testing.assert_allclose(m.expected_durations_, 1 / (1 - np.diag(m.transmat_)))


def test_a_state_the_fit_never_leaves_has_an_infinite_expected_duration():
    from regimeshift.regimes.jump import JumpRegimeModel

    X = np.r_[np.random.default_rng(0).normal(0, 1, (200, 2)), np.random.default_rng(1).normal(6, 1, (200, 2))]
    m = JumpRegimeModel(names=("calm", "stress"), jump_penalty=10.0, stress_signs=(1.0, 1.0)).fit(X)
    # one switch in 400 days: calm is left once, stress never
    np.testing.assert_allclose(m.expected_durations_, [200.0, np.inf])


def test_mean_spells_are_the_mean_run_lengths_of_each_regime():
    import pandas as pd
    from regimeshift.model_compare import mean_spells

    regime = pd.Series(list("aaabbaaaab"))
    assert mean_spells(regime, ["a", "b", "c"]) == pytest.approx({"a": 3.5, "b": 1.5, "c": np.nan}, nan_ok=True)
