"""Issue 24: regimes that do not depend on the model seed, and an emission family the data chooses.

The markets here are built unlike the project's own battery (tests/markets_unlike.py) and kept small (a few
years, quarterly refits) so the file runs in seconds; benchmarks/regime_seeds.py runs the full-size markets at
five seeds against the true-parameter filter."""
from __future__ import annotations

import numpy as np
import pytest
from regimeshift.regimes.cold_fit import FAMILIES, choose_family, multistart, t_evidence
from regimeshift.regimes.fast_hmm import Design
from regimeshift.regimes.model import LiquidityHMM
from regimeshift.regimes.spec import RegimeSpec

from tests import markets_unlike as mu
from tests.baselines.recovery import named_recovery

SMALL = dict(min_train=504, refit="quarterly", emission="auto")


def _returns(name: str, days: int) -> np.ndarray:
    m = mu.generate_unlike(mu.by_name(name).with_size(days))
    return np.log(m.prices).diff().dropna().to_numpy()


def _two_regimes(dof: float, n: int = 1500, seed: int = 0) -> np.ndarray:
    """Calm and stressed blocks of 3-variate returns, Student-t(dof) shocks (inf: Gaussian)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 3))
    if np.isfinite(dof):
        z *= np.sqrt((dof - 2) / rng.chisquare(dof, size=n))[:, None]
    vol = np.where((np.arange(n) // 150) % 3 == 2, 0.025, 0.008)
    return z * vol[:, None]


def test_ten_screened_starts_are_the_default() -> None:
    assert RegimeSpec().n_init == 10


def test_a_cold_fit_finds_the_same_optimum_whatever_the_seed() -> None:
    X = _returns("sector-tilt", 1500)
    fits = [LiquidityHMM(names=("abundant", "tightening", "crunch"), emission="gaussian", random_state=s).fit(X)
            for s in range(1, 6)]
    logliks = np.array([f.loglik_ for f in fits])
    np.testing.assert_allclose(logliks, logliks[0], rtol=1e-6)
    labels = [f.predict_filtered(X).argmax(axis=1) for f in fits]
    assert all((lab == labels[0]).mean() > 0.999 for lab in labels)


def test_the_local_start_makes_a_walk_that_the_seed_does_not_reach() -> None:
    m = mu.generate_unlike(mu.by_name("rare-crunch-jump").with_size(1500))
    walks = [mu.plain_walk(m, seed=s, min_train=504, refit="quarterly", emission="gaussian") for s in (1, 8)]
    assert walks[0].probabilities.equals(walks[1].probabilities)
    hmmlearn = [mu.plain_walk(m, seed=s, min_train=504, refit="quarterly", emission="gaussian", init="hmmlearn")
                for s in (1, 8)]
    assert not hmmlearn[0].probabilities.equals(hmmlearn[1].probabilities)  # hmmlearn's start draws from the seed


def test_multistart_keeps_the_best_screened_starts_and_respects_the_iteration_budget() -> None:
    X = _returns("corr-only", 1200)
    proto = LiquidityHMM(names=("abundant", "tightening", "crunch"), emission="gaussian", n_iter=20)
    cands = multistart(proto, Design(X, "full"), seeds=range(6))
    assert len(cands) == 3
    assert all(c.result is not None and c.result.n_iter <= 20 for c in cands)


def test_auto_chooses_the_t_for_fat_tails_and_records_both_families_scores() -> None:
    proto = LiquidityHMM(names=("calm", "stress"), emission="auto", n_init=3)
    _, choice = choose_family(proto, Design(_two_regimes(3.0), "full"), seeds=range(3))
    assert choice.family == "student_t"
    assert set(choice.heldout) == set(FAMILIES)
    assert choice.gain_per_day > 0.05 and choice.evidence > 1.96
    assert choice.n_hold == 300  # the last fifth of the window


def test_on_gaussian_data_the_two_families_predict_alike() -> None:
    proto = LiquidityHMM(names=("calm", "stress"), emission="auto", n_init=3)
    _, choice = choose_family(proto, Design(_two_regimes(np.inf), "full"), seeds=range(3))
    assert abs(choice.gain_per_day) < 0.01  # whichever wins, the t here is a near-Gaussian (its dofs near the cap)


def test_t_evidence_is_the_mean_gain_in_long_run_standard_errors() -> None:
    rng = np.random.default_rng(3)
    gauss = rng.normal(size=2000)
    assert t_evidence(gauss, gauss + 0.2 + rng.normal(scale=0.1, size=2000)) > 50
    assert abs(t_evidence(gauss, gauss + rng.normal(scale=1.0, size=2000))) < 3
    assert np.isnan(t_evidence(gauss[:1], gauss[:1]))


def test_a_walk_with_auto_records_the_family_of_every_refit_and_the_choice_at_cold_fits() -> None:
    m = mu.generate_unlike(mu.by_name("gauss-fat-crunch").with_size(1500))
    res = mu.plain_walk(m, seed=1, **SMALL)
    r = res.refits
    assert set(r["emission"]) <= set(FAMILIES)
    chose = r["t_gain_per_day"].notna()
    assert chose.iloc[0] and (chose <= r["cold_competition"].astype(bool)).all()
    assert r.loc[chose, "t_evidence"].notna().all()
    t_rows = r["emission"] == "student_t"
    assert (r.loc[t_rows, "dof"] <= r.loc[t_rows, "dof_max"]).all()


@pytest.mark.parametrize("market", ["rare-crunch-jump", "gauss-fat-crunch"])
def test_balanced_accuracy_does_not_depend_on_the_seed(market: str) -> None:
    m = mu.generate_unlike(mu.by_name(market).with_size(1500))
    scores = [named_recovery(mu.plain_walk(m, seed=s, **SMALL).probabilities, m.truth, m.oracle).named
              for s in (1, 2)]
    assert max(scores) - min(scores) <= 0.01


@pytest.mark.parametrize(("market", "n_assets", "names"), [
    ("eight-assets", 8, ("abundant", "tightening", "crunch")),
    ("two-assets", 2, ("abundant", "tightening", "crunch")),
    ("two-regimes", 4, ("calm", "stress")),
    ("four-regimes", 4, ("abundant", "normal", "tightening", "crunch")),
])
def test_the_unlike_generator_builds_markets_of_other_shapes(market: str, n_assets: int, names: tuple[str, ...]) -> None:
    m = mu.generate_unlike(mu.by_name(market).with_size(800))
    assert m.prices.shape == (800, n_assets)
    assert tuple(m.spec.names) == names == tuple(m.oracle.columns)
    assert set(m.truth.unique()) <= set(names)
    np.testing.assert_allclose(m.oracle.sum(axis=1), 1.0, atol=1e-9)


def test_a_walk_on_eight_assets_labels_every_day_after_the_first_fit() -> None:
    m = mu.generate_unlike(mu.by_name("eight-assets").with_size(1200))
    _, result = mu.plain_score(m, 1, min_train=504, refit="quarterly")
    probs = result.probabilities
    assert list(probs.columns) == ["abundant", "tightening", "crunch"]
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
