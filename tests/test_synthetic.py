"""Specifications for the embedded synthetic market (data/synthetic.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hmmlearn import _hmmc
from hmmlearn.hmm import GaussianHMM
from regimeshift.data.synthetic import (
    MACRO,
    REGIMES,
    SYMBOLS,
    RegimeParams,
    SyntheticMarket,
    _simulate,
    generate_market,
    stationary_distribution,
)


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return generate_market(seed=7)


@pytest.fixture(scope="module")
def long_market() -> SyntheticMarket:
    return generate_market(seed=7, years=200)


def _log_returns(m: SyntheticMarket) -> tuple[pd.DataFrame, pd.Series]:
    """Daily log returns (day 1 on) and the regime that generated each one."""
    rets = np.log(m.prices).diff().iloc[1:]
    return rets, m.true_regimes.iloc[1:]


def _run_lengths(codes: np.ndarray) -> list[np.ndarray]:
    return np.split(codes, np.flatnonzero(np.diff(codes)) + 1)


# -- determinism ---------------------------------------------------------------------------------------------
def test_same_seed_gives_bit_identical_frames():
    a, b = generate_market(seed=11), generate_market(seed=11)
    pd.testing.assert_frame_equal(a.prices, b.prices, check_exact=True)
    pd.testing.assert_frame_equal(a.macro, b.macro, check_exact=True)
    pd.testing.assert_series_equal(a.true_regimes, b.true_regimes)


def test_different_seeds_give_different_paths():
    a, b = generate_market(seed=1), generate_market(seed=2)
    assert not np.allclose(a.prices.to_numpy(), b.prices.to_numpy())
    assert not a.true_regimes.equals(b.true_regimes)


# -- shape, index, columns ------------------------------------------------------------------------------------
def test_frames_share_a_business_day_index_of_round_years_times_252_rows(market):
    idx = market.prices.index
    assert len(idx) == 20 * 252
    assert isinstance(idx, pd.DatetimeIndex) and idx.name == "date"
    assert idx[0] == pd.Timestamp("2006-01-02")
    assert idx.is_monotonic_increasing and idx.is_unique
    assert (idx.day_of_week < 5).all()
    assert idx.equals(pd.bdate_range("2006-01-02", periods=20 * 252))
    assert market.macro.index.equals(idx)
    assert market.true_regimes.index.equals(idx)


def test_years_and_start_set_the_calendar():
    m = generate_market(seed=3, years=2.5, start="2015-06-01")
    assert len(m.prices) == round(2.5 * 252) == 630
    assert m.prices.index[0] == pd.Timestamp("2015-06-01")


def test_columns_are_symbols_and_macro_in_order(market):
    assert list(market.prices.columns) == list(SYMBOLS) == ["GROWTH", "VALUE", "SHORTBOND", "GOLD", "MARKET"]
    assert list(market.macro.columns) == list(MACRO) == ["VOLINDEX", "CREDITSPREAD"]


def test_true_regimes_are_named_regimes_and_all_three_occur(market):
    assert set(market.true_regimes.astype(str).unique()) == set(REGIMES)
    assert REGIMES == ("abundant", "tightening", "crunch")


def test_prices_are_positive_finite_and_start_at_100(market):
    p = market.prices.to_numpy()
    assert np.isfinite(p).all() and (p > 0).all()
    assert (market.prices.iloc[0] == 100.0).all()


# -- macro publication lag ------------------------------------------------------------------------------------
def test_macro_first_row_is_nan_and_the_rest_is_complete(market):
    assert market.macro.iloc[0].isna().all()
    assert market.macro.iloc[1:].notna().all().all()


def test_macro_on_day_t_is_the_raw_value_of_day_t_minus_1():
    m = generate_market(seed=5)
    _, raw, _, _ = _simulate(seed=5)
    np.testing.assert_array_equal(m.macro.iloc[1:].to_numpy(), raw.iloc[:-1].to_numpy())
    assert m.macro.index.equals(raw.index)


def test_macro_levels_look_like_a_vix_and_a_high_yield_spread(long_market):
    vol, cs = long_market.macro["VOLINDEX"], long_market.macro["CREDITSPREAD"]
    by = long_market.macro.groupby(long_market.true_regimes.shift(1), observed=True).median()
    assert vol.min() >= 9 and vol.max() <= 90
    assert cs.min() >= 2 and cs.max() <= 25
    assert 12 < by.loc["abundant", "VOLINDEX"] < 17
    assert 18 < by.loc["tightening", "VOLINDEX"] < 26
    assert 30 < by.loc["crunch", "VOLINDEX"] < 55
    assert 3 < by.loc["abundant", "CREDITSPREAD"] < 4.2
    assert 6 < by.loc["crunch", "CREDITSPREAD"] < 11


def test_volindex_rises_when_the_market_falls(long_market):
    dvol = np.log(long_market.macro["VOLINDEX"]).diff().shift(-1)  # raw change on day t (lag undone)
    mkt = np.log(long_market.prices["MARKET"]).diff()
    both = pd.concat([dvol, mkt], axis=1).dropna()
    assert both.corr().iloc[0, 1] < -0.5


# -- the regime chain -----------------------------------------------------------------------------------------
def test_true_params_are_consistent_and_positive_definite(market):
    p = market.params
    assert isinstance(p, RegimeParams) and p.names == REGIMES
    assert p.transmat.shape == (3, 3) and p.means.shape == (3, 5) and p.covs.shape == (3, 5, 5)
    np.testing.assert_allclose(p.transmat.sum(axis=1), 1.0)
    np.testing.assert_allclose(p.startprob, stationary_distribution(p.transmat))
    for cov in p.covs:
        np.testing.assert_allclose(cov, cov.T)
        assert np.linalg.eigvalsh(cov).min() > 0
    with pytest.raises(ValueError):
        p.transmat[0, 0] = 0.5  # read-only: the truth cannot be edited by accident


def test_stationary_shares_and_durations_are_liquidity_like(market):
    pi = market.params.stationary
    np.testing.assert_allclose(pi, [0.578, 0.327, 0.095], atol=0.005)
    np.testing.assert_allclose(market.params.expected_durations, [250, 80, 40])
    t = market.params.transmat
    assert t[0, 1] > 10 * t[0, 2]  # a crunch rarely comes straight out of abundance
    assert t[2, 1] > t[2, 0]  # crunches mostly ease into tightening


def test_empirical_regime_shares_match_the_stationary_distribution(long_market):
    shares = long_market.true_regimes.value_counts(normalize=True).reindex(list(REGIMES)).to_numpy()
    np.testing.assert_allclose(shares, long_market.params.stationary, atol=0.04)


def test_mean_crunch_run_length_is_between_15_and_60_days(long_market):
    codes = long_market.true_regimes.cat.codes.to_numpy()
    crunch = REGIMES.index("crunch")
    runs = [len(r) for r in _run_lengths(codes) if r[0] == crunch]
    assert len(runs) >= 50
    assert 15 <= np.mean(runs) <= 60


# -- returns by regime ----------------------------------------------------------------------------------------
def test_in_a_crunch_gold_and_market_fall_while_short_bonds_rise(long_market):
    rets, regimes = _log_returns(long_market)
    crunch = rets[(regimes == "crunch").to_numpy()].mean()
    assert crunch["GOLD"] < 0
    assert crunch["MARKET"] < 0
    assert crunch["SHORTBOND"] > 0


def test_gold_market_correlation_is_higher_in_crunch_than_in_abundance(long_market):
    rets, regimes = _log_returns(long_market)

    def corr(name: str) -> float:
        sub = rets[(regimes == name).to_numpy()]
        return float(sub["GOLD"].corr(sub["MARKET"]))

    assert corr("crunch") > 0.35
    assert abs(corr("abundant")) < 0.1
    assert corr("crunch") - corr("abundant") > 0.3


def test_realised_regime_volatility_matches_the_true_covariances(long_market):
    rets, regimes = _log_returns(long_market)
    for k, name in enumerate(REGIMES):
        realised = rets[(regimes == name).to_numpy()].std().to_numpy()
        true = np.sqrt(np.diag(long_market.params.covs[k]))
        np.testing.assert_allclose(realised, true, rtol=0.1)


# -- identifiability: an oracle HMM with the TRUE parameters recovers the regimes --------------------------------
def _oracle(params: RegimeParams) -> GaussianHMM:
    hmm = GaussianHMM(n_components=3, covariance_type="full", init_params="", params="")
    hmm.n_features = len(SYMBOLS)
    hmm.startprob_ = np.array(params.startprob)
    hmm.transmat_ = np.array(params.transmat)
    hmm.means_ = np.array(params.means)
    hmm.covars_ = np.array(params.covs)
    return hmm


def test_oracle_filtered_regime_matches_truth_on_at_least_85_percent_of_days(market):
    rets, regimes = _log_returns(market)
    hmm = _oracle(market.params)
    X = rets.to_numpy()
    _, fwd = _hmmc.forward_log(hmm.startprob_, hmm.transmat_, hmm._compute_log_likelihood(X))
    accuracy = float(np.mean(fwd.argmax(axis=1) == regimes.cat.codes.to_numpy()))
    assert accuracy >= 0.85


def test_oracle_viterbi_path_matches_truth_on_at_least_85_percent_of_days(market):
    rets, regimes = _log_returns(market)
    decoded = _oracle(market.params).predict(rets.to_numpy())
    accuracy = float(np.mean(decoded == regimes.cat.codes.to_numpy()))
    assert accuracy >= 0.85
