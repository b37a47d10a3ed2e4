"""The fast EM engine: same fits as hmmlearn, exact equivariance under the design map, honest convergence."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from regimeshift.regimes.fast_hmm import (
    Design,
    em_fit,
    forward,
    kmeans_init,
    to_units,
)
from regimeshift.regimes.hmm_twin import FastGaussianHMM, params_from_hmm
from regimeshift.regimes.filtering import forward_filter


def _data(seed: int = 0, n: int = 900) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.multivariate_normal([0.0, 10.0, 1.0], [[0.3, 0.1, 0.0], [0.1, 1.0, 0.2], [0.0, 0.2, 0.5]], n // 2)
    b = rng.multivariate_normal([1.0, 20.0, -1.0], [[0.6, -0.2, 0.0], [-0.2, 4.0, 0.5], [0.0, 0.5, 1.0]], n // 3)
    c = rng.multivariate_normal([3.0, 40.0, -3.0], [[1.0, 0.5, 0.2], [0.5, 9.0, 0.0], [0.2, 0.0, 2.0]], n - n // 2 - n // 3)
    return np.r_[a[: n // 4], b, a[n // 4 :], c]


@pytest.mark.parametrize("cov", ["full", "diag"])
def test_em_follows_hmmlearns_parameter_path(cov):
    X = _data(1)
    Z = (X - X.mean(0)) / X.std(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = FastGaussianHMM(3, cov, n_iter=30, tol=-np.inf, random_state=3, implementation="scaling").fit(Z)
    init = kmeans_init(Z, 3, cov, 3, 1e-3)  # hmmlearn's own start, bit for bit
    # hmmlearn runs 30 E+M steps; em_fit keeps the parameters of its last E-step, so 31 E-steps = 30 M-steps
    r = em_fit(Design(Z, cov, center=np.zeros(3), scale=np.ones(3)), init, n_iter=31, tol=-np.inf, cprior=1e-2)
    np.testing.assert_allclose(r.params.means, h.means_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(r.params.transmat, h.transmat_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(r.params.full_covars, h.covars_, rtol=1e-8, atol=1e-10)
    assert r.loglik == pytest.approx(h.score(Z), rel=1e-10)
    assert r.n_iter == 31 and r.converged is False


def test_em_is_equivariant_under_the_design_map():
    """Fitting rows mapped by any fixed affine map (with the prior re-expressed) is the same model."""
    X = _data(2)
    m, s = X.mean(0), X.std(0)
    std = Design(X, "full")  # design units = standardised units
    odd = Design(X, "full", center=np.array([5.0, -3.0, 2.0]), scale=np.array([0.1, 30.0, 2.0]))
    init_std = em_fit(std, kmeans_init((X - m) / s, 3, "full", 0, 1e-3), n_iter=3).params
    # the same start in the odd design's units
    orig = to_units(init_std, shift=-m / s, scale=1 / s)
    init_odd = to_units(orig, shift=odd.center, scale=odd.scale)
    a = em_fit(std, init_std, n_iter=40, tol=1e-6)
    b = em_fit(odd, init_odd, n_iter=40, tol=1e-6)
    back = to_units(to_units(b.params, shift=-odd.center / odd.scale, scale=1 / odd.scale), shift=m, scale=s)
    np.testing.assert_allclose(back.means, a.params.means, atol=1e-7)
    np.testing.assert_allclose(back.covars, a.params.covars, atol=1e-7)
    np.testing.assert_allclose(b.last_filtered, a.last_filtered, atol=1e-8)
    # log-likelihoods differ by the Jacobian of the map only
    jac = len(X) * (np.log(odd.scale).sum() - np.log(s).sum())
    assert b.loglik - jac == pytest.approx(a.loglik, abs=1e-5)


def test_last_forward_row_is_the_filtered_probability_of_the_returned_parameters():
    X = _data(3)
    d = Design(X, "full")
    r = em_fit(d, kmeans_init((X - X.mean(0)) / X.std(0), 3, "full", 1, 1e-3), n_iter=200, tol=1e-4)
    assert r.converged and r.n_iter < 200
    filt = forward_filter(r.params.startprob, r.params.transmat, d.log_density(r.params))
    np.testing.assert_allclose(r.last_filtered, filt[-1], atol=1e-10)
    per_row, fwd = forward(r.params.startprob, r.params.transmat, d.log_density(r.params))
    assert per_row.sum() == pytest.approx(r.loglik, rel=1e-12)
    np.testing.assert_allclose(fwd, filt, atol=1e-10)


def test_forward_survives_days_far_in_the_tails():
    """A day 60 sigmas out underflows hmmlearn's scaled pass; dividing rows by their maximum does not."""
    X = _data(4)
    d = Design(X, "full")
    p = em_fit(d, kmeans_init((X - X.mean(0)) / X.std(0), 3, "full", 0, 1e-3), n_iter=20).params
    Y = np.r_[X[:50], X[50:51] + 60 * X.std(0), X[51:100]]
    logf = Design(Y, "full", center=d.center, scale=d.scale).log_density(p)
    ll, fwd = forward(p.startprob, p.transmat, logf)
    assert np.all(np.isfinite(ll)) and np.allclose(fwd.sum(axis=1), 1.0)
    np.testing.assert_allclose(fwd, forward_filter(p.startprob, p.transmat, logf), atol=1e-10)


def test_density_of_the_product_design_matches_direct_evaluation():
    X = _data(5)
    d = Design(X, "full")
    h = params_from_hmm(FastGaussianHMM(3, "full", random_state=0).fit(d.U))
    from scipy.stats import multivariate_normal

    direct = np.column_stack([multivariate_normal(h.means[k], h.covars[k]).logpdf(d.U) for k in range(3)])
    np.testing.assert_allclose(d.log_density(h), direct, rtol=1e-9, atol=1e-9)


def test_compiled_lattice_matches_hmmlearns_routines_on_random_lattices():
    from hmmlearn import _hmmc

    from regimeshift.regimes.lattice_kernel import scaled_lattice

    rng = np.random.default_rng(3)
    for _ in range(40):
        n, k = int(rng.integers(2, 400)), int(rng.integers(2, 6))
        frame = rng.random((n, k)) ** 4  # some near-zero densities, as tail days give
        start, trans = rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k), size=k)
        ok, ll, post, xi, last = scaled_lattice(start, trans, frame)
        want_ll, fwd, scaling = _hmmc.forward_scaling(start, trans, frame)
        bwd = _hmmc.backward_scaling(start, trans, frame, scaling)
        want_post = fwd * bwd
        want_post /= want_post.sum(axis=1, keepdims=True)
        assert ok
        assert ll == pytest.approx(want_ll, rel=1e-13)
        np.testing.assert_allclose(post, want_post, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(xi, _hmmc.compute_scaling_xi_sum(fwd, trans, bwd, frame), rtol=1e-12)
        np.testing.assert_allclose(last, fwd[-1], rtol=1e-13)


def test_compiled_lattice_reports_underflow_instead_of_dividing_by_zero():
    from regimeshift.regimes.lattice_kernel import scaled_lattice

    frame = np.array([[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
    ok, *_ = scaled_lattice(np.array([0.5, 0.5]), np.full((2, 2), 0.5), frame)
    assert not ok


def test_the_three_state_lattice_is_the_generic_one_to_the_bit():
    from regimeshift.regimes.lattice_kernel import generic_lattice, lattice3

    rng = np.random.default_rng(4)
    for _ in range(60):
        n = int(rng.integers(1, 800))
        frame = rng.random((n, 3)) ** 3
        start, trans = rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(3), size=3)
        want, got = generic_lattice(start, trans, frame), lattice3(start, trans, frame)
        assert got[0] == want[0] and got[1] == want[1]
        for a, b in zip(got[2:], want[2:]):
            assert np.array_equal(a, b)
