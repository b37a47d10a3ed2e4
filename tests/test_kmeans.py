"""regimes.kmeans: scikit-learn's seeded k-means (the starts of every cold EM fit), without its per-call cost."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans

from regimeshift.regimes.kmeans import _lloyd_run, kmeans
from regimeshift.regimes.threads import single_blas_thread


def _market_like(n: int, d: int, seed: int) -> np.ndarray:
    """Features with a shifted block (a second regime) and uneven scales."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.2, 3.0, d)
    X[: n // 3] += 2.0 * rng.standard_normal(d)
    return X


@settings(max_examples=60, deadline=None)
@given(n=st.integers(10, 3000), d=st.integers(1, 8), k=st.integers(2, 5), seed=st.integers(0, 2**31 - 1),
       n_init=st.sampled_from([1, 3, 10]))
def test_kmeans_finds_scikit_learns_clustering_from_the_same_seed(n: int, d: int, k: int, seed: int, n_init: int) -> None:
    X = _market_like(n, d, seed % 1000)
    with single_blas_thread():  # as the EM starts run it
        ref = KMeans(n_clusters=k, random_state=seed, n_init=n_init).fit(X)
    ours = kmeans(X, k, seed, n_init)
    np.testing.assert_array_equal(ours.labels, ref.labels_)
    # equal to the bit here (the same sums in the same order); a tolerance as another CPU's BLAS may differ
    np.testing.assert_allclose(ours.centers, ref.cluster_centers_, rtol=1e-12, atol=1e-12)
    assert ours.inertia == pytest.approx(ref.inertia_, rel=1e-12)
    assert ours.n_iter == ref.n_iter_


def test_kmeans_is_deterministic_for_a_seed_and_moves_with_it() -> None:
    X = _market_like(2000, 4, 3)
    a, b, c = kmeans(X, 3, 11), kmeans(X, 3, 11), kmeans(X, 3, 12)
    np.testing.assert_array_equal(a.centers, b.centers)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.centers, c.centers) or not np.array_equal(a.labels, c.labels)


def test_a_cluster_that_empties_is_relocated_as_scikit_learn_does() -> None:
    X = _market_like(500, 3, 5)
    X -= X.mean(axis=0)
    start = np.vstack([X[0], X[1], np.full(3, 1e6)])  # the third centre is nearest to no row
    tol = float(np.mean(np.var(X, axis=0)) * 1e-4)
    ours = _lloyd_run(X, start, tol)
    with single_blas_thread():
        ref = KMeans(n_clusters=3, init=start, n_init=1).fit(X)
    np.testing.assert_array_equal(ours.labels, ref.labels_)
    np.testing.assert_allclose(ours.centers, ref.cluster_centers_, rtol=1e-9, atol=1e-12)
    assert len(np.unique(ours.labels)) == 3


def test_kmeans_refuses_fewer_rows_than_clusters() -> None:
    with pytest.raises(ValueError, match="at least n_clusters=3 rows"):
        kmeans(np.zeros((2, 2)), 3, 0)


def test_kmeans_refuses_rows_that_are_not_finite() -> None:
    X = _market_like(50, 2, 1)
    X[7, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        kmeans(X, 3, 0)
