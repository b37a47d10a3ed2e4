"""Statistical jump models (issue 14): the same guarantees as the HMM.

- the compiled dynamic programme is the package's own (same values, same path, same online labels);
- online prediction is forward-only: changing the rows after t changes nothing at or before t;
- states are named calm -> stressed by the HMM's rule (regimes/naming.py: ``order_by``, each state's mean and
  covariance), and keep their names between refits; a state no day visits is named too, and reported ambiguous;
- the walk-forward (``regimes.model = "jump"``) is free of look-ahead, deterministic, and cached exactly;
- the jump penalty chosen by cross-validation reads the training window only;
- a scikit-learn estimator: ``clone`` and ``get_params`` work, ``check_is_fitted`` guards prediction.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from regimeshift.backtests.config import RegimeConfig, config_from_dict, load_config
from regimeshift.regimes import jump_dp
from regimeshift.regimes.jump import JumpRegimeModel, select_jump_penalty, strategy_sharpe
from regimeshift.regimes.walkforward import walk_forward
from regimeshift.regimes.spec import RegimeSpec
from sklearn.base import clone
from sklearn.exceptions import NotFittedError


def two_regime_features(n: int = 900, seed: int = 0) -> pd.DataFrame:
    """Two features (volatility-like, return-like) switching between a calm and a stressed regime in blocks."""
    rng = np.random.default_rng(seed)
    state = np.zeros(n, dtype=int)
    t = 0
    while t < n:
        length = int(rng.integers(60, 160))
        state[t : t + length] = int(rng.random() < 0.35)
        t += length
    vol = np.where(state == 1, 0.35, 0.12) + rng.normal(0, 0.03, n)
    ret = np.where(state == 1, -0.03, 0.01) + rng.normal(0, 0.015, n)
    idx = pd.bdate_range("2001-01-01", periods=n)
    return pd.DataFrame({"vol:X:21": vol, "ret:X:21": ret}, index=idx)


SIGNS = [1.0, -1.0]


def _future_replaced(
    F: pd.DataFrame, returns: pd.Series, cut: pd.Timestamp, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.Series]:
    """Features and returns with every row after ``cut`` replaced by noise (what no decision up to ``cut`` may see)."""
    G, R = F.copy(), returns.copy()
    after = G.index > cut
    G.loc[after] = rng.normal(0, 1, G.loc[after].shape)
    R.loc[after] = rng.normal(0, 0.05, int(after.sum()))
    return G, R


# -- the solver -----------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None, derandomize=True)
@given(n=st.integers(1, 60), k=st.integers(2, 5), lam=st.floats(0, 5), seed=st.integers(0, 10_000))
def test_compiled_dp_is_the_packages_dp(n, k, lam, seed):
    from jumpmodels.jump import dp as package_dp

    rng = np.random.default_rng(seed)
    loss = rng.exponential(size=(n, k))
    pen = lam * (np.ones((k, k)) - np.eye(k))
    # two code paths (numba's compiled loop, the package's numpy one): equal to rounding, which differs by CPU
    np.testing.assert_allclose(jump_dp.dp(loss, pen, True), package_dp(loss, pen, True), rtol=1e-12, atol=1e-12)
    a1, v1 = jump_dp.dp(loss, pen)
    a2, v2 = package_dp(loss, pen)
    np.testing.assert_array_equal(a1, a2)  # the state path is discrete: it must be the same path
    assert v1 == pytest.approx(v2, rel=1e-12, abs=1e-12)


def test_compiled_dp_is_only_swapped_in_inside_its_context():
    import jumpmodels.jump as jmod

    original = jmod.dp
    with jump_dp.compiled_dp():
        assert jmod.dp is jump_dp.dp
    assert jmod.dp is original


# -- the estimator --------------------------------------------------------------------------------------------
def test_online_prediction_is_forward_only():
    X = two_regime_features().to_numpy()
    m = JumpRegimeModel(jump_penalty=20.0, stress_signs=SIGNS, n_init=3).fit(X[:500])
    base = m.predict_proba_online(X)
    rng = np.random.default_rng(1)
    for t in (50, 499, 650, 898):
        changed = X.copy()
        changed[t + 1 :] = rng.normal(0, 5, changed[t + 1 :].shape)
        np.testing.assert_array_equal(m.predict_proba_online(changed)[: t + 1], base[: t + 1])


def test_states_are_named_calm_to_stressed_and_keep_names_between_refits():
    F = two_regime_features()
    X = F.to_numpy()
    m = JumpRegimeModel(names=("bull", "bear"), jump_penalty=20.0, stress_signs=SIGNS, n_init=3).fit(X[:600])
    assert m.means_[0, 0] < m.means_[1, 0]  # bull: the low-volatility state
    assert m.means_[0, 1] > m.means_[1, 1]  # ... with the higher return
    # a refit on a longer window, from another seed, aligned to the first: the same names for the same states
    m2 = JumpRegimeModel(names=("bull", "bear"), jump_penalty=20.0, stress_signs=SIGNS, n_init=3, random_state=5)
    m2.fit(X[:700], align_to=m)
    np.testing.assert_allclose(m2.means_, m.means_, rtol=0.3, atol=0.02)
    # discrete model: 0/1 probabilities; the continuous one: probabilities on the grid, rows summing to 1
    p = m2.predict_proba_online(X)
    assert set(np.unique(p)) <= {0.0, 1.0}
    c = JumpRegimeModel(jump_penalty=20.0, cont=True, stress_signs=SIGNS, n_init=2).fit(X[:600])
    pc = c.predict_proba_online(X)
    np.testing.assert_allclose(pc.sum(axis=1), 1.0)
    assert ((pc > 0) & (pc < 1)).any()


def test_sparse_jump_model_fits_and_predicts():
    F = two_regime_features()
    X = np.column_stack([F.to_numpy(), np.random.default_rng(3).normal(size=(len(F), 2))])  # two noise features
    m = JumpRegimeModel(jump_penalty=20.0, max_feats=2.0, stress_signs=SIGNS + [0.0, 0.0], n_init=2).fit(X[:600])
    assert m.feat_weights_[:2].min() > m.feat_weights_[2:].max()  # the informative features weigh most
    assert m.predict_proba_online(X).shape == (len(X), 2)


def test_a_scikit_learn_estimator():
    m = JumpRegimeModel(jump_penalty=7.0, cont=True)
    assert clone(m).get_params() == m.get_params()
    with pytest.raises(ValueError):
        m.set_params(no_such_parameter=1)
    with pytest.raises(NotFittedError):
        m.predict_proba_online(np.zeros((5, 2)))


# -- naming: the HMM's rule ----------------------------------------------------------------------------------
FEATS = ["ret:A:1", "ret:B:1", "level:Z"]
RULE_SIGNS = [-1.0, -1.0, 0.0]  # Z separates the states but says nothing about stress


def volatile_but_drifting_up(n: int = 1200, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Two states in blocks; the stressed one (1) has 2.5x the volatility of returns AND the higher mean return
    (the noise that misnames a state by its means), and a lower level of Z, which is what separates the states."""
    rng = np.random.default_rng(seed)
    state = np.repeat(np.arange(n // 100) % 2, 100)
    sd = np.where(state == 1, 0.020, 0.008)[:, None]
    ret = np.where(state == 1, 0.002, 0.0)[:, None] + sd * rng.standard_normal((n, 2))
    z = np.where(state == 1, -1.0, 1.0) + 0.3 * rng.standard_normal(n)
    return np.column_stack([ret, z]), state


def _calm_raw_state(m, state: np.ndarray) -> int:
    """The raw state that labels most of the truly calm days."""
    return int(np.bincount(m.labels_raw_[state[: len(m.labels_raw_)] == 0], minlength=2).argmax())


def test_a_jump_state_is_scored_by_the_hmm_rule_on_the_moments_of_the_days_it_labels():
    from regimeshift.regimes import naming

    X, _ = volatile_but_drifting_up()
    m = JumpRegimeModel(names=("calm", "stress"), jump_penalty=20.0, stress_signs=RULE_SIGNS, feature_names=FEATS,
                        n_init=2).fit(X)
    lab = m.labels_raw_
    means = np.array([X[lab == j].mean(axis=0) for j in range(2)])
    covs = np.array([np.cov(X[lab == j], rowvar=False, bias=True) for j in range(2)])
    shares = np.bincount(lab, minlength=2) / len(X)
    expected = naming.stress_scores(means, covs, shares, FEATS, signs=RULE_SIGNS)
    np.testing.assert_allclose(m.stress_scores(), expected, rtol=1e-9, atol=1e-12)
    report = m.naming_report()
    assert report.order_by == "risk" and report.ambiguous == ()


def test_a_jump_model_names_the_volatile_state_stressed_although_its_mean_return_is_higher():
    X, state = volatile_but_drifting_up()
    kw = dict(names=("calm", "stress"), jump_penalty=20.0, stress_signs=RULE_SIGNS, feature_names=FEATS, n_init=2)
    risk = JumpRegimeModel(**kw).fit(X)
    calm = _calm_raw_state(risk, state)
    assert risk.order_[0] == calm  # named "calm": the state of the quiet days
    assert risk.means_[0, 0] < risk.means_[1, 0]  # ... though it drifts less
    # the means-only rule of earlier versions gets it backwards, and order_by a feature follows that feature
    assert JumpRegimeModel(**kw, order_by="signed_mean").fit(X).order_[1] == calm
    assert JumpRegimeModel(**kw, order_by="level:Z").fit(X).order_[1] == calm  # higher Z counts as more stress


def test_a_jump_model_with_an_empty_state_still_names_it_and_calls_the_order_ambiguous():
    F = two_regime_features()
    X = F.to_numpy()
    kw = dict(names=("a", "b", "c"), jump_penalty=1e5, stress_signs=SIGNS, feature_names=list(F.columns), n_init=2)
    m = JumpRegimeModel(**kw).fit(X[:300])  # a penalty no switch can pay: one state takes every day
    assert sorted(m.raw_weights_) == [0.0, 0.0, 1.0]
    assert sorted(m.order_) == [0, 1, 2] and np.isfinite(m.stress_scores()).all()
    assert m.naming_report().ambiguous == (("a", "b"), ("b", "c"))  # no day says which empty state is calmer
    again = JumpRegimeModel(**kw).fit(X[:400], align_to=m)
    # the empty names carry their moments; the refit recomputes them along another path (rescaling by a new
    # window's scaler), so they agree to rounding, not to the bit (numpy's SIMD kernels differ by CPU)
    np.testing.assert_allclose(again.means_[again.raw_weights_[again.order_] == 0],
                               m.means_[m.raw_weights_[m.order_] == 0], rtol=1e-12, atol=1e-15)


def test_a_gmmhmm_state_is_scored_by_its_mixtures_mean_and_covariance():
    from regimeshift.regimes import naming
    from regimeshift.regimes.gmmhmm import GMMRegimeModel

    X, state = volatile_but_drifting_up(900)
    X = X[:, :2]  # returns only: a GMM-HMM sees the volatility itself
    m = GMMRegimeModel(names=("calm", "stress"), n_mix=2, covariance_type="full", stress_signs=RULE_SIGNS[:2],
                       feature_names=FEATS[:2], n_init=1).fit(X)
    h, s = m.hmm_, m.scaler_scale_
    mu = (h.weights_[:, :, None] * h.means_).sum(axis=1)
    dev = h.means_ - mu[:, None]
    cov = (h.weights_[:, :, None, None] * (h.covars_ + dev[..., :, None] * dev[..., None, :])).sum(axis=1)
    expected = naming.stress_scores(mu * s + m.scaler_mean_, cov * np.outer(s, s), naming.state_weights(h.transmat_),
                                    FEATS[:2], signs=RULE_SIGNS[:2])
    np.testing.assert_allclose(m.stress_scores(), expected, rtol=1e-9, atol=1e-12)
    quiet = m.predict_proba_online(X)[state == 0].mean(axis=0)
    assert quiet[0] > 0.9  # the quiet days are named "calm", although the volatile state drifts up


# -- on the battery's volatility markets (tests/markets.py): names as the truth names them ------------------------
@pytest.mark.parametrize("market", ["vol-only", "two-vol"])
def test_on_markets_that_volatility_separates_a_jump_model_names_the_calm_state_first(market):
    from tests.markets import JUMP, by_name, generate, jump_features, score

    spec = by_name(market)
    rec, result = score(generate(spec), features=jump_features(spec), **JUMP)
    assert result.probabilities.columns[0] == spec.names[0]  # "abundant" or "calm"
    assert rec.names_right, rec
    assert rec.named >= rec.relabelled - 0.01, rec  # the names cost nothing against the best relabelling
    assert rec.named > 1.5 / spec.k, rec  # ... and the model separates the regimes well beyond chance


# -- penalty selection ----------------------------------------------------------------------------------------
def test_strategy_sharpe_trades_the_day_after_the_signal():
    calm = np.array([1.0, 0.0, 1.0, 1.0])
    r = np.array([0.5, 0.01, -0.02, 0.03])
    # positions decided on days 0..2 earn days 1..3: +0.01, 0, +0.03
    s = np.array([0.01, 0.0, 0.03])
    assert strategy_sharpe(calm, r) == pytest.approx(np.sqrt(252) * s.mean() / s.std(ddof=1))


def test_penalty_cv_reads_the_training_window_only():
    F = two_regime_features()
    X = F.to_numpy()
    r = np.where(X[:, 1] > 0, 0.002, -0.004)

    def make(lam: float) -> JumpRegimeModel:
        return JumpRegimeModel(jump_penalty=lam, stress_signs=SIGNS, n_init=2)

    best, scores = select_jump_penalty(X[:600], r[:600], make, grid=(0.0, 20.0, 200.0))
    assert best in scores and set(scores) == {0.0, 20.0, 200.0}
    # the function only sees what it is given: the walk hands it rows up to the refit date (tested below)


# -- the walk-forward -----------------------------------------------------------------------------------------
WALK = dict(names=("bull", "bear"), min_train=400, refit=63, stress_signs=SIGNS, seed=3, n_init=2, cold_every=4)


def test_walk_forward_has_no_look_ahead_and_is_deterministic():
    F = two_regime_features()
    returns = pd.Series(np.where(F["ret:X:21"] > 0, 0.002, -0.004), index=F.index)
    opts = {**RegimeConfig(model="jump", jump_penalty="cv", penalty_grid=(0.0, 20.0, 100.0)).model_options()}
    full = walk_forward(F, model="jump", **opts, returns=returns, **WALK)
    again = walk_forward(F, model="jump", **opts, returns=returns, **WALK)
    pd.testing.assert_frame_equal(full.probabilities, again.probabilities)
    assert np.isnan(full.oos_loglik)  # a jump model has no likelihood
    rng = np.random.default_rng(0)
    for cut in (F.index[450], F.index[700]):
        G, R = _future_replaced(F, returns, cut, rng)
        part = walk_forward(G, model="jump", **opts, returns=R, **WALK)
        pd.testing.assert_frame_equal(part.probabilities.loc[:cut], full.probabilities.loc[:cut])
    assert full.refits["jump_penalty"].notna().all()


def test_walk_forward_is_cached_exactly(tmp_path):
    F = two_regime_features()
    opts = RegimeConfig(model="jump", jump_penalty=20.0, jump_continuous=True).model_options()
    first = walk_forward(F, model="jump", **opts, cache=tmp_path, **WALK)
    hit = walk_forward(F, model="jump", **opts, cache=tmp_path, **WALK)
    assert not first.cached and hit.cached
    pd.testing.assert_frame_equal(hit.probabilities, first.probabilities)
    np.testing.assert_array_equal(hit.model.predict_proba_online(F.to_numpy()), first.model.predict_proba_online(F.to_numpy()))
    # another penalty is another key
    other = walk_forward(F, model="jump", **{**opts, "jump_penalty": 5.0}, cache=tmp_path, **WALK)
    assert not other.cached


def test_gmmhmm_runs_through_the_same_walk_with_a_defined_oos_loglik():
    F = two_regime_features(700)
    opts = RegimeConfig(model="gmmhmm", n_mix=2).model_options()
    res = walk_forward(F, model="gmmhmm", **opts, covariance_type="diag",
                       **{**WALK, "n_init": 1, "min_train": 500, "refit": 100})
    assert np.isfinite(res.oos_loglik)
    np.testing.assert_allclose(res.probabilities.sum(axis=1), 1.0)


def test_a_refit_whose_every_start_fails_keeps_the_previous_fit_as_the_hmm_walk_does():
    from regimeshift.regimes.generic_walk import generic_walk_forward, make_estimator

    F = two_regime_features()
    spec = RegimeSpec(**WALK, model="jump", feature_names=tuple(F.columns))
    fits = []

    def failing_second_refit(p, penalty=None, n_init=None):
        est = make_estimator(p, penalty, n_init)
        fits.append(est)
        if len(fits) == 2:
            est.fit = lambda *a, **k: (_ for _ in ()).throw(FloatingPointError("every start failed"))
        return est

    res = generic_walk_forward(F, spec, make=failing_second_refit)
    assert list(res.refits["fallback"]) == [False, True] + [False] * (len(res.refits) - 2)
    assert res.probabilities.notna().all().all()  # the first fit labelled the failed refit's days


# -- configuration --------------------------------------------------------------------------------------------
def test_model_settings_in_config_and_the_hmm_hash_unchanged():
    cfg = load_config(None)
    raw = cfg.model_dump()
    raw["regimes"].update(model="jump", jump_penalty="cv", max_feats=3.0)
    jump_cfg = config_from_dict(raw)
    assert jump_cfg.regimes.model == "jump" and jump_cfg.digest() != cfg.digest()
    raw["regimes"].update(model="hmm", jump_penalty=50.0, max_feats=None)
    assert config_from_dict(raw).digest() == cfg.digest()  # defaults of the new settings do not move the hash
    with pytest.raises(Exception, match="model"):
        config_from_dict({**raw, "regimes": {**raw["regimes"], "model": "lstm"}})


def test_compare_models_reports_each_family_on_the_same_run():
    from regimeshift.data.market import MarketData
    from regimeshift.data.synthetic import generate_market
    from regimeshift.model_compare import compare_models, parse_models

    from tests.conftest import small_synthetic_config

    from regimeshift.backtests.config import config_from_dict

    raw = small_synthetic_config(cold_every=4, refit="yearly").model_dump()
    raw["data"]["synthetic_years"] = 5.0
    raw["report"]["enabled"] = False
    cfg = config_from_dict(raw)
    m = generate_market(seed=cfg.seed, years=cfg.data.synthetic_years)
    table = compare_models(cfg, parse_models("hmm, jump"), MarketData(m.prices, m.macro, None))
    assert list(table.index) == ["hmm", "jump"]
    assert np.isfinite(table.loc["hmm", "oos_loglik"]) and np.isnan(table.loc["jump", "oos_loglik"])
    for col in ("switches_per_year", "turnover", "sharpe", "timing_sharpe", *(f"days_{n}" for n in cfg.regimes.names)):
        assert table[col].notna().all(), col
    assert "daily excess returns over a zero rate" in table.attrs["basis"]  # the rate its Sharpe is measured over
    assert (table[[f"spell_{n}" for n in cfg.regimes.names]].fillna(1.0) >= 1.0).all().all()
    with pytest.raises(Exception, match="unknown model"):
        parse_models("hmm,lstm")


# -- the paper's penalty selection (penalty_cv = "walk"; Shu, Yu & Mulvey 2024, sec. 3.4.3) ----------------------
def _walk_cv_inputs():
    F = two_regime_features()
    returns = pd.Series(np.where(F["ret:X:21"] > 0, 0.002, -0.004), index=F.index)
    opts = RegimeConfig(model="jump", jump_penalty="cv", penalty_grid=(0.0, 20.0, 100.0), penalty_cv="walk",
                        cv_validation_days=120).model_options()
    return F, returns, opts


def test_walk_cv_uses_each_month_the_candidate_whose_own_walk_scored_best_on_the_days_before():
    from regimeshift.regimes.monthly_choice import WALK_CV_COST, WALK_CV_DELAY

    F, returns, opts = _walk_cv_inputs()
    res = walk_forward(F, model="jump", **opts, returns=returns, **WALK)
    own = {lam: walk_forward(F, model="jump", **{**opts, "jump_penalty": lam}, **WALK).probabilities
           for lam in opts["penalty_grid"]}
    chosen = res.refits["jump_penalty"]
    assert chosen.index.is_monotonic_increasing and len(set(chosen.index.to_period("M"))) == len(chosen)
    for k, (day, lam) in enumerate(chosen.items()):
        end = chosen.index[k + 1] if k + 1 < len(chosen) else None
        month = res.probabilities.loc[day:end].iloc[: None if end is None else -1]
        pd.testing.assert_frame_equal(month, own[lam].loc[month.index])  # that month is that candidate's signal
    # a decision with a full validation span: the best of the candidates' Sharpe over the 120 rows before it
    day = chosen.index[-1]
    p = res.probabilities.index.get_loc(day)
    window = res.probabilities.index[p - 120 : p]
    scores = {lam: strategy_sharpe(own[lam].loc[window].iloc[:, 0].to_numpy(), returns.loc[window].to_numpy(),
                                   delay=WALK_CV_DELAY, cost=WALK_CV_COST) for lam in own}
    best = max(scores.values())
    assert chosen.iloc[-1] == max(lam for lam, v in scores.items() if v >= best - 1e-12)
    assert res.refits["cv_days"].iloc[-1] == 120


def test_walk_cv_has_no_look_ahead():
    F, returns, opts = _walk_cv_inputs()
    full = walk_forward(F, model="jump", **opts, returns=returns, **WALK)
    rng = np.random.default_rng(1)
    cut = F.index[650]
    G, R = _future_replaced(F, returns, cut, rng)
    part = walk_forward(G, model="jump", **opts, returns=R, **WALK)
    pd.testing.assert_frame_equal(part.probabilities.loc[:cut], full.probabilities.loc[:cut])
    pd.testing.assert_series_equal(part.refits["jump_penalty"].loc[:cut], full.refits["jump_penalty"].loc[:cut])
