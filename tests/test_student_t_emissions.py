"""Student-t emissions (``regimes.emission = "student_t"``): the densities, the dof estimate, the fit's round trip."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from regimeshift.regimes.fast_hmm import DOF_RANGE, HMMParams, emission_log_density, outlier_distances
from regimeshift.regimes.model import LiquidityHMM
from scipy.stats import chi2, f, multivariate_t


RETURNS = ["ret:A:1", "ret:B:1", "ret:C:1"]


def _params(dof: float) -> HMMParams:
    means = np.array([[0.0, 0.5], [1.0, -1.0]])
    covars = np.array([[[1.0, 0.3], [0.3, 2.0]], [[0.5, -0.1], [-0.1, 0.4]]])
    return HMMParams(np.array([0.5, 0.5]), np.full((2, 2), 0.5), means, covars, "full", dof)


def _regime_sample(t_df: float, seed: int = 0, n: int = 3000) -> np.ndarray:
    """Two persistent regimes (calm, volatile) of 3 assets with Student-t(t_df) shocks of unit variance."""
    rng = np.random.default_rng(seed)
    state = np.repeat(rng.integers(0, 2, n // 100), 100)
    z = rng.standard_normal((n, 3)) * np.sqrt((t_df - 2) / rng.chisquare(t_df, n))[:, None]
    return z * np.where(state == 0, 0.6, 1.8)[:, None]


def test_the_t_density_is_scipys_multivariate_t() -> None:
    p = _params(4.5)
    X = np.random.default_rng(1).normal(size=(50, 2)) * 2
    expected = np.column_stack([multivariate_t(p.means[k], p.covars[k], df=4.5).logpdf(X) for k in range(2)])
    np.testing.assert_allclose(emission_log_density(X, p), expected, rtol=1e-10)


def test_infinite_dof_is_the_gaussian() -> None:
    p = _params(float("inf"))
    X = np.random.default_rng(2).normal(size=(20, 2))
    gauss = np.column_stack([
        -0.5 * (2 * np.log(2 * np.pi) + np.linalg.slogdet(c)[1]
                + np.einsum("ti,ij,tj->t", X - m, np.linalg.inv(c), X - m))
        for m, c in zip(p.means, p.covars)
    ])
    np.testing.assert_allclose(emission_log_density(X, p), gauss, rtol=1e-10)


@pytest.mark.parametrize("dof, quantile", [(float("inf"), chi2.ppf(0.999, 2)), (5.0, 2 * f.ppf(0.999, 2, 5.0))])
def test_the_outlier_rule_recovers_the_mahalanobis_distance_under_either_emission(dof: float, quantile: float) -> None:
    p = _params(dof)
    X = np.array([[0.0, 0.5], [3.0, 3.0]])
    maha, limit = outlier_distances(emission_log_density(X, p), p)
    inv0 = np.linalg.inv(p.covars[0])
    np.testing.assert_allclose(maha[:, 0], [0.0, (X[1] - p.means[0]) @ inv0 @ (X[1] - p.means[0])], atol=1e-9)
    np.testing.assert_allclose(limit, [quantile, quantile])


def test_each_state_may_have_its_own_dof_and_a_state_at_infinity_is_gaussian() -> None:
    mixed = _params(np.array([np.inf, 4.0]))  # type: ignore[arg-type]
    X = np.array([[0.0, 0.5], [3.0, 3.0]])
    got = emission_log_density(X, mixed)
    np.testing.assert_allclose(got[:, 0], emission_log_density(X, _params(float("inf")))[:, 0], rtol=1e-12)
    np.testing.assert_allclose(got[:, 1], emission_log_density(X, _params(4.0))[:, 1], rtol=1e-12)
    _, limit = outlier_distances(got, mixed)
    np.testing.assert_allclose(limit, [chi2.ppf(0.999, 2), 2 * f.ppf(0.999, 2, 4.0)])


def test_the_estimated_dof_is_low_on_fat_tails_and_near_the_gaussian_cap_on_thin_ones() -> None:
    fat = LiquidityHMM(names=("calm", "stress"), emission="student_t", t_dof="per_state", n_init=2).fit(_regime_sample(4.0))
    thin = LiquidityHMM(names=("calm", "stress"), emission="student_t", t_dof="per_state", n_init=2).fit(_regime_sample(200.0))
    # t_dof "per_state": one dof per state, each estimated from its own days
    assert fat.params_.dofs.max() < 6.0
    assert thin.params_.dofs.min() > 40.0
    assert DOF_RANGE[0] <= fat.params_.dofs.min() and thin.params_.dofs.max() <= DOF_RANGE[1]


def test_a_fixed_dof_stays_fixed() -> None:
    m = LiquidityHMM(names=("calm", "stress"), emission="student_t", t_dof=7.0, n_init=1).fit(_regime_sample(4.0))
    assert m.params_.dof == 7.0


def test_the_t_fit_names_the_volatile_regime_stress_where_the_gaussian_splits_the_tails() -> None:
    X = _regime_sample(3.0, seed=4)
    truth = np.repeat(np.random.default_rng(4).integers(0, 2, 30), 100)
    t_fit = LiquidityHMM(names=("calm", "stress"), emission="student_t", n_init=2, sticky=50.0,
                         feature_names=("ret:A:1", "ret:B:1", "ret:C:1")).fit(X)
    named = t_fit.predict_filtered(X).argmax(axis=1)
    assert (named == truth).mean() > 0.9


def test_a_t_fit_survives_its_state_round_trip() -> None:
    m = LiquidityHMM(names=("calm", "stress"), emission="student_t", n_init=1).fit(_regime_sample(4.0))
    arrays, scalars = m.to_state()
    back = LiquidityHMM.from_state(arrays, scalars)
    X = _regime_sample(4.0, seed=9, n=200)
    np.testing.assert_array_equal(back.params_.dofs, m.params_.dofs)
    np.testing.assert_array_equal(back.predict_filtered(X), m.predict_filtered(X))


def test_a_t_fit_offers_no_gaussian_hmmlearn_twin() -> None:
    m = LiquidityHMM(names=("calm", "stress"), emission="student_t", n_init=1).fit(_regime_sample(4.0))
    with pytest.raises(NotImplementedError, match="Student-t"):
        m.hmm_


def test_the_diagnostics_say_the_emissions_are_student_t_and_each_refit_records_its_dof() -> None:
    import pandas as pd
    from regimeshift.regimes.diagnostics import diagnose, format_diagnostics
    from regimeshift.regimes.walkforward import walk_forward

    X = _regime_sample(4.0, n=1500)
    features = pd.DataFrame(X, index=pd.bdate_range("2010-01-01", periods=len(X)), columns=RETURNS)
    result = walk_forward(features, names=("calm", "stress"), emission="student_t", min_train=600, refit="quarterly",
                          n_init=1, workers=1, feature_names=tuple(features.columns))
    assert result.refits["dof"].between(2.5, 100.0).all()
    text = format_diagnostics(diagnose(result, list(features.columns)))
    dofs = result.model.params_.dofs[result.model.order_]
    assert result.refits["dof"].iloc[-1] == pytest.approx(dofs.min())
    assert ("emissions: Student-t at the last refit, degrees of freedom "
            f"calm {dofs[0]:.1f}, stress {dofs[1]:.1f} (estimated)") in text


def test_a_cached_t_walk_is_the_walk_it_stored(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd
    from regimeshift.regimes.walkforward import walk_forward

    X = _regime_sample(4.0, n=1500)
    features = pd.DataFrame(X, index=pd.bdate_range("2010-01-01", periods=len(X)), columns=RETURNS)
    kw = dict(names=("calm", "stress"), emission="student_t", min_train=600, refit="quarterly", n_init=1, workers=1)
    first = walk_forward(features, cache=tmp_path, **kw)
    again = walk_forward(features, cache=tmp_path, **kw)
    assert again.cached and not first.cached
    pd.testing.assert_frame_equal(again.probabilities, first.probabilities)
    pd.testing.assert_frame_equal(again.refits, first.refits)
    np.testing.assert_array_equal(again.model.params_.dofs, first.model.params_.dofs)


def test_the_compiled_t_densities_and_weights_are_the_formula_of_the_t() -> None:
    from regimeshift.regimes.fast_hmm import Design, cold_init, mahalanobis, student_t_log_density

    rng = np.random.default_rng(5)
    data = Design(rng.standard_t(3, size=(600, 3)), "full")
    p = dataclasses.replace(cold_init(data, 3, 1, 1e-3), dof=np.array([3.0, np.inf, 40.0]))
    logf, u = data.log_density_and_weights(p)
    gauss, logdet = data.gaussian_log_density(p)
    maha = mahalanobis(gauss, logdet, 3)
    np.testing.assert_allclose(logf, student_t_log_density(maha, logdet, 3, p.dof), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(u[:, [0, 2]], (p.dofs[[0, 2]] + 3) / (p.dofs[[0, 2]] + maha[:, [0, 2]]), rtol=1e-12)
    assert (u[:, 1] == 1.0).all()  # a Gaussian state weighs every day alike


def test_each_states_dof_update_solves_the_shared_update_for_its_own_posterior_mass() -> None:
    from regimeshift.regimes.fast_hmm import update_dof, update_dofs

    rng = np.random.default_rng(6)
    for nu, scale in ((3.0, 4.0), (50.0, 1.0), (8.0, 2.0)):
        maha = rng.chisquare(2, size=(800, 1)) * scale
        post = np.ones((800, 1))
        u = (nu + 2) / (nu + maha)
        assert update_dofs(post, u, np.array([nu]), 2)[0] == pytest.approx(update_dof(post, u, nu, 2), abs=2e-3)


def test_the_compiled_data_term_of_the_dof_update_is_the_formula() -> None:
    from regimeshift.regimes.t_density_kernel import weighted_log_u_minus_u

    rng = np.random.default_rng(7)
    post = rng.dirichlet(np.ones(3), size=700)
    u = rng.uniform(0.05, 3.0, size=(700, 3))
    # a different summation order than numpy's pairwise sums: equal to a tolerance, not to the bit
    np.testing.assert_allclose(weighted_log_u_minus_u(post, u), (post * (np.log(u) - u)).sum(axis=0), rtol=1e-12)


@pytest.mark.parametrize(("emission", "t_dof", "dofs"), [("gaussian", "auto", 0), ("student_t", "auto", 1),
                                                         ("student_t", "per_state", 2), ("student_t", 5.0, 0)])
def test_the_free_parameters_count_the_dofs_the_fit_estimated(emission: str, t_dof: object, dofs: int) -> None:
    m = LiquidityHMM(names=("calm", "stress"), emission=emission, t_dof=t_dof, n_init=1).fit(_regime_sample(4.0))
    # 2 states, 3 features, full covariances: 1 start + 2 transitions + 6 means + 12 covariance entries
    assert m.n_params_ == 21 + dofs


def test_the_diagnostics_say_how_many_days_the_first_fit_had_for_each_free_parameter() -> None:
    import pandas as pd
    from regimeshift.regimes.diagnostics import diagnose, format_diagnostics
    from regimeshift.regimes.walkforward import walk_forward

    X = _regime_sample(4.0, n=1200)
    features = pd.DataFrame(X, index=pd.bdate_range("2010-01-01", periods=len(X)), columns=RETURNS)
    result = walk_forward(features, names=("calm", "stress"), emission="gaussian", min_train=630, refit="quarterly",
                          n_init=1, workers=1, feature_names=tuple(features.columns))
    d = diagnose(result, list(features.columns))
    assert d.summary["first_fit"] == {"n_train": 630, "n_params": 21, "days_per_param": 30.0}
    assert "first fit: 630 days for the model's 21 free parameters (30.0 days each)" in format_diagnostics(d)
