"""No look-ahead: change every input after t and nothing decided up to t may change.

The whole pipeline runs twice, once on the original market and once on a market whose prices and macro
series after the cut date are replaced by a different path; regimes, target weights, trades and portfolio
value up to the cut must be identical.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from regimeshift.backtests.config import config_from_dict, load_config
from regimeshift.data.market import MarketData
from regimeshift.data.synthetic import generate_market

from regimeshift.pipeline import PipelineResult, load_stage, run_pipeline
from tests.conftest import REPO, SHARED_DATA, requires_shared, small_synthetic_config


def _rewrite_after(market: MarketData, cut: pd.Timestamp, seed: int) -> MarketData:
    """Same calendar, different future: prices after ``cut`` follow another random path, macro is scrambled
    (the regime history too, when there is one)."""
    rng = np.random.default_rng(seed)
    prices = market.prices.copy()
    after = prices.index > cut
    shocks = np.exp(rng.normal(0.0, 0.02, (int(after.sum()), prices.shape[1])).cumsum(axis=0))
    prices.loc[after] = prices.loc[~after].iloc[-1].to_numpy() * shocks
    macro = market.macro.copy()
    macro.loc[after] = macro.loc[after].to_numpy()[rng.permutation(int(after.sum()))] * 1.7
    history = None if market.history is None else _rewrite_after(market.history, cut, seed + 1)
    return MarketData(prices=prices, macro=macro, true_regimes=None, history=history)


def _assert_same_up_to(a: PipelineResult, b: PipelineResult, cut: pd.Timestamp) -> None:
    pd.testing.assert_frame_equal(a.regimes.probabilities.loc[:cut], b.regimes.probabilities.loc[:cut])
    pd.testing.assert_frame_equal(a.weights.loc[:cut], b.weights.loc[:cut])
    pd.testing.assert_series_equal(a.replay.value.loc[:cut], b.replay.value.loc[:cut])
    ta, tb = (r.replay.trades[r.replay.trades["date"] <= cut].reset_index(drop=True) for r in (a, b))
    pd.testing.assert_frame_equal(ta, tb)
    # and the future really was different, so the test had something to catch
    assert not a.regimes.probabilities.loc[cut:].iloc[5:].equals(b.regimes.probabilities.loc[cut:].iloc[5:])


@pytest.fixture(scope="module")
def synthetic_base() -> tuple:
    cfg = small_synthetic_config()
    m = generate_market(seed=cfg.seed, years=cfg.data.synthetic_years)
    market = MarketData(m.prices, m.macro, None)
    return cfg, market, run_pipeline(cfg, market=market)


@settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frac=st.floats(min_value=0.45, max_value=0.9), seed=st.integers(0, 2**16))
def test_synthetic_future_changes_nothing_up_to_the_cut(synthetic_base, frac, seed):
    cfg, market, base = synthetic_base
    probs = base.regimes.probabilities.index
    cut = probs[int(frac * (len(probs) - 1))]
    changed = run_pipeline(cfg, market=_rewrite_after(market, cut, seed))
    _assert_same_up_to(base, changed, cut)


def test_a_longer_regime_history_changes_nothing_up_to_the_cut():
    raw = small_synthetic_config().model_dump()
    raw["data"]["start"] = "2010-01-04"
    raw["regimes"]["history_start"] = "2006-01-01"
    cfg = config_from_dict(raw)
    market = load_stage(cfg)
    base = run_pipeline(cfg, market=market)
    cut = pd.Timestamp("2011-06-15")
    _assert_same_up_to(base, run_pipeline(cfg, market=_rewrite_after(market, cut, 3)), cut)


@requires_shared
@pytest.mark.realdata
@pytest.mark.parametrize("cut", ["2015-06-15", "2026-02-11"])
def test_real_data_future_changes_nothing_up_to_the_cut(cut):
    raw = load_config(REPO / "backtests" / "configs" / "liquidity_rotation.toml").model_dump()
    raw["regimes"].update(refit="quarterly", n_init=1)
    raw["data"]["dir"] = str(SHARED_DATA)
    cfg = config_from_dict(raw)
    market = load_stage(cfg)  # with the shipped config's regime history, if it has one
    base = run_pipeline(cfg, market=market)
    cut_ts = pd.Timestamp(cut)
    changed = run_pipeline(cfg, market=_rewrite_after(market, cut_ts, 11))
    _assert_same_up_to(base, changed, cut_ts)
