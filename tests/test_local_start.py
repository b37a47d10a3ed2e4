"""The local cold start (regimes/local_start.py, issue 24): k-means on each day's local statistics."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from regimeshift.regimes.local_start import MAX_DIRECT, local_labels, local_statistics


def _calm_and_stressed(n_blocks: int = 8, block: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Returns whose state differs only in volatility (means and correlations alike), and the true state."""
    rng = np.random.default_rng(seed)
    state = np.repeat(np.arange(n_blocks) % 2, block)
    vol = np.where(state == 1, 3.0, 1.0)
    return rng.standard_normal((len(state), 3)) * vol[:, None], state


def test_the_days_of_a_volatile_state_share_a_cluster_whatever_the_sign_of_their_moves():
    X, state = _calm_and_stressed()
    labels = local_labels(local_statistics(X), 2, seed=0, kmeans_n_init=1)
    agree = max((labels == state).mean(), (labels != state).mean())  # the cluster's number is arbitrary
    assert agree > 0.9


def test_the_statistics_of_many_features_are_those_of_their_leading_components():
    X = np.random.default_rng(1).standard_normal((400, 30))
    assert local_statistics(X).shape == (400, MAX_DIRECT + MAX_DIRECT * (MAX_DIRECT + 1) // 2)
    assert local_statistics(X[:, :4]).shape == (400, 4 + 10)


@settings(max_examples=20, deadline=None)
@given(column=st.integers(0, 2), seed=st.integers(0, 50))
def test_flipping_a_features_sign_leaves_the_start_as_it_was(column: int, seed: int):
    X, _ = _calm_and_stressed(n_blocks=4, block=60, seed=seed)
    flipped = X.copy()
    flipped[:, column] *= -1
    np.testing.assert_array_equal(local_labels(local_statistics(X), 2, 0, 1),
                                  local_labels(local_statistics(flipped), 2, 0, 1))


def test_a_day_s_statistics_use_only_rows_of_the_window_they_are_computed_on():
    X, _ = _calm_and_stressed(n_blocks=4, block=60)
    cut = 150
    longer = local_statistics(X)
    shorter = local_statistics(X[:cut])
    # the window of the training rows is all a start sees: rows after it cannot reach it (the fit is
    # on rows up to the refit date, so a centred window inside them looks no further than the fit)
    assert shorter.shape == (cut, longer.shape[1])
    assert not np.allclose(shorter[-5:], longer[cut - 5:cut])  # near the end the window is cut short
