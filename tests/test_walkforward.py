"""Walk-forward schedules, warm starts and their reporting, determinism, no look-ahead, agreement with the
naive (hmmlearn, cold at every refit) implementation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from regimeshift.data.synthetic import generate_market
from tests.baselines.reference import walk_forward_reference
from regimeshift.core.errors import RegimeshiftError
from regimeshift.regimes.features import build_features, stress_sign
from regimeshift.regimes.walkforward import refit_positions, usable_block, walk_forward

FEATURES = ["vol:MARKET:21", "ret:MARKET:63", "level:VOLINDEX", "level:CREDITSPREAD"]


@pytest.fixture(scope="module")
def feats() -> pd.DataFrame:
    m = generate_market(seed=3, years=7)
    return build_features(m.prices, m.macro, FEATURES)


def _kw(feats: pd.DataFrame, **over):  # type: ignore[no-untyped-def]
    # the schedule's mechanics hold for either family; the Gaussian keeps them quick (the default, "auto", fits
    # both at every cold fit) and the tests of worker independence and look-ahead run the default
    kw = dict(min_train=504, refit="quarterly", n_init=2, stress_signs=[stress_sign(c) for c in feats.columns], seed=1,
              workers=1, emission="gaussian")
    kw.update(over)
    return kw


# -- schedules -----------------------------------------------------------------------------------------------
def test_refit_schedules_fall_on_the_first_day_of_each_period():
    idx = pd.bdate_range("2010-01-01", "2013-12-31")
    monthly = refit_positions(idx, 300, "monthly")
    quarterly = refit_positions(idx, 300, "quarterly")
    yearly = refit_positions(idx, 300, "yearly")
    every = refit_positions(idx, 300, 10)
    assert monthly[0] == quarterly[0] == yearly[0] == every[0] == 299
    assert all(idx[p].month != idx[p - 1].month for p in monthly[1:])
    assert all(idx[p].month in (1, 4, 7, 10) for p in quarterly[1:])
    assert all(idx[p].month == 1 and idx[p - 1].month == 12 for p in yearly[1:])
    assert np.all(np.diff(every) == 10)
    starts = [p for p in range(300, len(idx)) if idx[p].month != idx[p - 1].month]
    assert monthly == [299, *starts]
    with pytest.raises(RegimeshiftError, match="unknown schedule"):
        refit_positions(idx, 300, "weekly")
    with pytest.raises(RegimeshiftError, match="min_train_days"):
        refit_positions(idx[:100], 300, "monthly")


def test_expanding_and_rolling_windows_train_on_the_right_rows(feats):
    block = usable_block(feats)
    exp = walk_forward(feats, **_kw(feats, refit=63))
    roll = walk_forward(feats, **_kw(feats, refit=63, window=504))
    pos = refit_positions(block.index, 504, 63)
    assert list(exp.refits.index) == list(block.index[pos]) == list(roll.refits.index)
    assert list(exp.refits["n_train"]) == [p + 1 for p in pos]
    assert set(roll.refits["n_train"]) == {504}
    # both label every day from the first refit on, and the first fit (identical window) agrees
    assert exp.probabilities.index.equals(block.index[pos[0]:]) and roll.probabilities.index.equals(exp.probabilities.index)
    np.testing.assert_allclose(exp.probabilities.iloc[:40], roll.probabilities.iloc[:40], atol=1e-12)
    assert not exp.probabilities.iloc[-50:].equals(roll.probabilities.iloc[-50:])


# -- warm starts, competitions, convergence reporting ----------------------------------------------------------
def test_warm_refits_compete_with_cold_starts_on_schedule_and_are_reported(feats):
    res = walk_forward(feats, **_kw(feats, refit="monthly", cold_every=4))
    rf = res.refits
    k = np.arange(len(rf))
    assert list(rf["cold_competition"].to_numpy()[k % 4 == 0]) == [True] * int((k % 4 == 0).sum())
    assert not rf["warm_started"].iloc[0]  # nothing to warm-start from
    assert rf["warm_started"].iloc[1:].mean() > 0.5
    # where cold starts competed, the kept fit is at least as likely as the best of them
    comp = rf[rf["cold_competition"]]
    assert np.all(comp["loglik"] >= comp["best_cold_loglik"] - 1e-9)
    # warm refits need few iterations
    assert rf.loc[rf["warm_started"], "n_iter"].median() <= 15
    assert res.n_nonconverged == int((~rf["converged"]).sum())


def test_refits_that_hit_n_iter_are_counted_as_not_converged(feats):
    res = walk_forward(feats, **_kw(feats, n_iter=5, tol=1e-12))
    assert res.n_nonconverged == res.n_refits
    assert set(res.refits["n_iter"]) == {5}


def test_warm_refits_need_fewer_iterations_and_competitions_keep_the_better_fit(feats):
    """Where cold starts compete every refit, a warm start is kept only when it is at least as likely; warm
    refits need far fewer EM iterations (out-of-sample comparisons: benchmarks/regime_walkforward.py)."""
    warm = walk_forward(feats, **_kw(feats))
    cold = walk_forward(feats, **_kw(feats, warm_start=False))
    both = walk_forward(feats, **_kw(feats, cold_every=1))
    assert cold.refits["warm_started"].sum() == 0 and cold.refits["cold_competition"].all()
    assert both.refits["cold_competition"].all()
    assert np.all(both.refits["loglik"].to_numpy() >= both.refits["best_cold_loglik"].to_numpy() - 1e-9)
    warm_only = warm.refits[warm.refits["warm_started"] & ~warm.refits["cold_competition"]]
    assert warm_only["n_iter"].mean() < cold.refits["n_iter"].mean()


# -- determinism and timing contract ------------------------------------------------------------------------
def test_results_do_not_depend_on_worker_processes(feats):
    one = walk_forward(feats, **_kw(feats, refit="monthly", cold_every=3, workers=1, emission="auto"))
    two = walk_forward(feats, **_kw(feats, refit="monthly", cold_every=3, workers=2, emission="auto"))
    pd.testing.assert_frame_equal(one.probabilities, two.probabilities, check_exact=True)
    pd.testing.assert_frame_equal(one.refits, two.refits, check_exact=True)
    assert one.oos_loglik == two.oos_loglik


def test_changing_features_after_t_changes_nothing_up_to_t(feats):
    base = walk_forward(feats, **_kw(feats, refit="monthly", emission="auto"))
    cut = base.probabilities.index[len(base.probabilities) // 2]
    other = feats.copy()
    rng = np.random.default_rng(0)
    after = other.index > cut
    other.loc[after] = other.loc[after].to_numpy() * rng.uniform(0.5, 1.5, (int(after.sum()), other.shape[1]))
    changed = walk_forward(other, **_kw(feats, refit="monthly", emission="auto"))
    pd.testing.assert_frame_equal(base.probabilities.loc[:cut], changed.probabilities.loc[:cut], check_exact=True)
    pd.testing.assert_frame_equal(base.refits.loc[:cut], changed.refits.loc[:cut], check_exact=True)
    assert not base.probabilities.loc[cut:].iloc[5:].equals(changed.probabilities.loc[cut:].iloc[5:])


def test_filtered_probabilities_equal_a_full_forward_pass_of_the_model_in_force(feats):
    res = walk_forward(feats, **_kw(feats))
    block = usable_block(feats)
    last = res.refits.index[-1]
    X = block.to_numpy()
    model = res.model
    probs = model.predict_filtered(X)  # expanding window: the last model filters from the first row
    pos = block.index.get_loc(last)
    np.testing.assert_allclose(res.probabilities.loc[last:].to_numpy(), probs[pos:], atol=1e-9)
    # and the out-of-sample log-likelihood path is the model's one-step predictive density
    nxt = block.index[pos + 1 :]
    expect = model.predictive_loglik(X[: pos + 1], X[pos + 1 :])
    assert res.loglik_path.loc[nxt].sum() == pytest.approx(expect, rel=1e-9, abs=1e-6)


def test_fast_engine_agrees_with_the_naive_hmmlearn_walk_forward(feats):
    """Gaussian cold refits with hmmlearn's own k-means start (10 inits): the same fits, so the same probabilities
    (up to EM's stopping point, which differs by one M-step) and the same out-of-sample log-likelihood. Only
    the names may differ: the naive engine re-names by stress order at every refit, this one matches states."""
    # converge fully: then one M-step more or less does not matter; the reference has no transition prior
    kw = _kw(feats, tol=1e-7, n_iter=2000, sticky=0.0)
    kw.pop("workers"), kw.pop("emission")  # the reference is hmmlearn's GaussianHMM: one family, in process
    ref = walk_forward_reference(feats, warm_start=False, **kw)
    fast = walk_forward(feats, warm_start=False, kmeans_n_init=10, init="hmmlearn", workers=1, emission="gaussian", **kw)
    assert fast.refits.index.equals(ref.refits.index)
    np.testing.assert_allclose(fast.refits["loglik"], ref.refits["loglik"], rtol=1e-8, atol=2e-3)
    np.testing.assert_allclose(
        np.sort(fast.probabilities.to_numpy(), axis=1), np.sort(ref.probabilities.to_numpy(), axis=1), atol=5e-3
    )
    assert fast.oos_loglik == pytest.approx(ref.oos_loglik, rel=1e-5)


def test_unusable_inputs_are_one_line_errors(feats):
    with pytest.raises(RegimeshiftError, match="min_train_days"):
        walk_forward(feats.iloc[:300], **_kw(feats))
    with pytest.raises(RegimeshiftError, match="no day has every feature"):
        walk_forward(feats * np.nan, **_kw(feats))


def test_a_regime_the_model_has_no_state_for_triggers_a_competition_at_the_next_refit():
    """Two calm regimes for three years, then a crunch unlike anything seen: the month it starts, most days lie
    outside every state's 99.9 % ellipsoid, so cold starts compete at the next refit instead of a year later."""
    rng = np.random.default_rng(0)
    idx = pd.bdate_range("2010-01-01", periods=1000)
    a = rng.normal([0.0, 10.0], [0.3, 1.0], (1000, 2))
    b = rng.normal([1.0, 16.0], [0.3, 1.0], (1000, 2))
    X = np.where((np.arange(1000) // 60 % 2 == 0)[:, None], a, b)
    X[850:] = rng.normal([6.0, 45.0], [1.0, 4.0], (150, 2))
    feats = pd.DataFrame(X, index=idx, columns=["x", "vix"])
    res = walk_forward(feats, min_train=504, refit="monthly", n_init=2, stress_signs=[1, 1], seed=0, workers=1,
                       cold_every=100, cold_growth=0.0)
    rf = res.refits
    first_after = rf.index[rf.index > idx[850]][0]
    assert rf.loc[first_after, "surprise"] and rf.loc[first_after, "cold_competition"]
    assert rf["surprise"].sum() <= 3  # calm months never look like that
    # and the crunch is named crunch within a month of its start
    assert (res.regime.loc[idx[870]:] == "crunch").mean() > 0.9
    off = walk_forward(feats, min_train=504, refit="monthly", n_init=2, stress_signs=[1, 1], seed=0, workers=1,
                       cold_every=100, cold_growth=0.0, cold_surprise=0.0)
    assert not off.refits["surprise"].any()


def test_every_day_after_the_first_fit_is_scored_out_of_sample_refit_days_included(feats):
    res = walk_forward(feats, **_kw(feats))
    path = res.loglik_path
    assert path.index[0] == usable_block(feats).index[504]  # the day after the first refit
    assert path.notna().all()
    assert res.oos_loglik == pytest.approx(path.sum(), rel=1e-12)
    # a refit day is scored by the model fitted before it: that model's one-step predictive density
    block = usable_block(feats)
    X = block.to_numpy()
    second = block.index.get_loc(res.refits.index[1])
    before = walk_forward(feats.loc[: block.index[second - 1]], **_kw(feats))  # its last model is the first fit
    assert list(before.refits.index) == [res.refits.index[0]]
    expect = before.model.predictive_loglik(X[:second], X[second : second + 1])
    assert path.loc[res.refits.index[1]] == pytest.approx(expect, rel=1e-9)


def test_the_naive_reference_scores_the_same_days(feats):
    from tests.baselines.reference import walk_forward_reference

    ref = walk_forward_reference(feats, **{k: v for k, v in _kw(feats).items() if k not in ("workers", "emission")})
    fast = walk_forward(feats, **_kw(feats))
    assert ref.loglik_path.notna().all()
    assert ref.loglik_path.index.equals(fast.loglik_path.index)


def _with_a_held_rate(n: int = 700, held_until: int = 450) -> pd.DataFrame:
    """A return-like feature and a policy-rate-like level held at 0.25 for the first ``held_until`` days."""
    rng = np.random.default_rng(5)
    rate = np.r_[np.full(held_until, 0.25), 0.25 + np.cumsum(rng.normal(0, 0.05, n - held_until))]
    return pd.DataFrame({"ret:A:1": rng.normal(0, 0.01, n), "level:RATE": rate},
                        index=pd.bdate_range("2012-01-02", periods=n))


def _walk_error(F: pd.DataFrame, model: str) -> str:
    with pytest.raises(RegimeshiftError) as err:
        walk_forward(F, model=model, names=("calm", "stress"), min_train=300, refit=100, n_init=1)
    return str(err.value)


@pytest.mark.parametrize("model", ["hmm", "jump"])
def test_a_feature_held_constant_over_the_first_window_is_one_clear_error(model):
    assert _walk_error(_with_a_held_rate(), model) == (
        "regimes: feature 'level:RATE' does not move in the training window of the refit on 2013-02-22 "
        "(2012-01-02 .. 2013-02-22: 0.25 on every day), so the model can neither scale nor learn from it: drop the "
        "feature, or raise regimes.min_train_days so the first window reaches 2013-09-23, where it first moves")


def test_a_rolling_window_that_lands_inside_the_held_stretch_is_named():
    F = _with_a_held_rate(held_until=450)
    F.iloc[:100, 1] = np.linspace(0.0, 0.25, 100)  # moves at first, then held from row 100 to row 449
    with pytest.raises(RegimeshiftError, match=r"refit on 2013-02-22 \(2012-05-21 .*use a longer rolling regimes.window \(now 200"):
        walk_forward(F, names=("calm", "stress"), min_train=200, refit=100, window=200, n_init=1)


def test_a_feature_held_only_before_the_window_is_fine():
    F = _with_a_held_rate(held_until=150)
    res = walk_forward(F, names=("calm", "stress"), min_train=300, refit=100, n_init=1)
    assert res.probabilities.notna().all().all()


@pytest.mark.parametrize("model", ["hmm", "gmmhmm"])
def test_a_first_fit_that_fails_on_two_names_for_one_series_says_which_to_drop(model):
    F = _with_a_held_rate(held_until=0)
    F["ret:B:1"] = F["ret:A:1"]  # the same returns under a second ticker
    assert _walk_error(F, model) == (
        "regimes: the first fit at 2013-02-22 failed on every start: features 'ret:A:1' and 'ret:B:1' move in "
        "lockstep (correlation 1) over its training window, so a full covariance is singular: drop one of them (or "
        "use covariance_type='diag')")


def test_three_features_whose_sum_is_another_are_named_together():
    from regimeshift.regimes.schedule import dependent_features

    rng = np.random.default_rng(2)
    F = pd.DataFrame(rng.normal(0, 1, (200, 4)), columns=["a", "b", "c", "d"])
    F["c"] = F["a"] + 2 * F["b"]
    assert dependent_features(F) == "features 'a', 'b', 'c' are an exact linear combination of each other"
    assert dependent_features(F[["a", "b", "d"]]) is None


def test_by_default_each_of_two_cores_gets_a_competitions_worker_beside_the_warm_chain(monkeypatch):
    from regimeshift.regimes import walkforward

    monkeypatch.delenv("REGIMESHIFT_WORKERS", raising=False)
    monkeypatch.setattr("regimeshift.core.workers.usable_cores", lambda: 2)
    assert walkforward.default_workers() == 3  # the warm chain mostly waits: one worker per core besides it
    monkeypatch.setattr("regimeshift.core.workers.usable_cores", lambda: 1)
    assert walkforward.default_workers() == 1
    monkeypatch.setattr("regimeshift.core.workers.usable_cores", lambda: 2)
    monkeypatch.setenv("REGIMESHIFT_WORKERS", "2")
    assert walkforward.default_workers() == 2  # a number asked for is the number of processes
    assert walkforward.default_workers(1) == 1
