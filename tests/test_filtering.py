"""The regime probabilities a backtest uses are forward-filtered, never smoothed."""
from __future__ import annotations

import numpy as np
import pytest
from hmmlearn.hmm import GaussianHMM
from tests.baselines.filters import forward_filter_numpy
from regimeshift.regimes.filtering import forward_filter
from regimeshift.regimes.model import LiquidityHMM


@pytest.fixture(scope="module")
def fitted() -> tuple[GaussianHMM, np.ndarray]:
    rng = np.random.default_rng(3)
    X = np.r_[rng.normal(0, 1, (150, 2)), rng.normal(3, 2, (80, 2)), rng.normal(0, 1, (120, 2))]
    model = GaussianHMM(3, "full", n_iter=50, random_state=0).fit(X)
    return model, X


def test_filtered_row_t_equals_last_row_of_predict_proba_on_data_up_to_t(fitted):
    model, X = fitted
    filtered = forward_filter(model.startprob_, model.transmat_, model._compute_log_likelihood(X))
    for t in (0, 1, 17, 149, 150, 151, 229, 300, len(X) - 1):
        np.testing.assert_allclose(filtered[t], model.predict_proba(X[: t + 1])[-1], atol=1e-10)


def test_filtered_differs_from_smoothed_inside_the_sample(fitted):
    model, X = fitted
    filtered = forward_filter(model.startprob_, model.transmat_, model._compute_log_likelihood(X))
    assert np.abs(filtered - model.predict_proba(X)).max() > 0.05


def test_compiled_filter_matches_plain_numpy_recursion(fitted):
    model, X = fitted
    logf = model._compute_log_likelihood(X)
    np.testing.assert_allclose(
        forward_filter(model.startprob_, model.transmat_, logf),
        forward_filter_numpy(model.startprob_, model.transmat_, logf),
        atol=1e-12,
    )


def test_liquidity_hmm_filter_equals_predict_proba_of_its_hmm_in_named_order():
    rng = np.random.default_rng(5)
    X = np.r_[rng.normal(0, 0.5, (300, 2)), rng.normal(4, 3, (60, 2)), rng.normal(1, 1, (200, 2))]
    # the Gaussian family: hmmlearn has no Student-t HMM to compare with
    m = LiquidityHMM(init="mixed", names=("calm", "mid", "stress"), n_init=2, stress_signs=[1, 1],
                     emission="gaussian").fit(X)
    probs = m.predict_filtered(X)
    Z = (X - m.scaler_mean_) / m.scaler_scale_
    for t in (10, 320, len(X) - 1):
        np.testing.assert_allclose(probs[t], m.hmm_.predict_proba(Z[: t + 1])[-1][m.order_], atol=1e-10)


def test_filtered_rows_sum_to_one_even_when_the_log_densities_are_huge():
    from regimeshift.regimes.filtering import forward_filter

    rng = np.random.default_rng(0)
    # days far outside every state, the states about equally unlikely: the log joint grows to -5e8 and
    # fwd - logsumexp keeps only ~1e-8 of absolute precision
    logf = -1e6 + rng.normal(0, 1, (500, 3))
    P = forward_filter(np.full(3, 1 / 3), np.full((3, 3), 1 / 3), logf)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-12)
