"""Measured quality: true-regime recovery on the synthetic market, crunch detection on real data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from regimeshift.backtests.config import load_config
from tests.baselines.recovery import (
    oracle_regimes,
    recovery,
    recovery_for_config,
    returns_oracle_regimes,
)

from tests.conftest import REPO, SHARED_DATA, requires_shared


def test_oracle_is_the_true_parameter_forward_filter():
    from regimeshift.data.synthetic import generate_market

    m = generate_market(seed=7, years=3)
    o = oracle_regimes(m)
    assert list(o.columns) == list(m.params.names) and o.index.equals(m.prices.index[1:])
    np.testing.assert_allclose(o.sum(axis=1), 1.0)
    truth = m.true_regimes.loc[o.index].astype(str)
    assert (o.idxmax(axis=1) == truth).mean() > 0.9


def test_oracle_uses_the_macro_series_and_fat_tails_to_beat_the_returns_only_filter():
    from regimeshift.data.synthetic import generate_market

    m = generate_market(seed=3, years=20)
    truth = m.true_regimes.iloc[1:].astype(str)
    full = (oracle_regimes(m).idxmax(axis=1) == truth).mean()
    weak = (returns_oracle_regimes(m.prices, m.params).idxmax(axis=1) == truth).mean()
    assert full > weak + 0.02, (full, weak)


def test_oracle_on_day_t_ignores_returns_after_t_and_macro_values_published_after_t():
    from regimeshift.data.synthetic import MACRO, generate_market

    m = generate_market(seed=5, years=2)
    cut = 300
    base = oracle_regimes(m)
    later = m.macro.index[cut + 1:]  # macro row t+1 holds the value of day t, published on t+1
    changed = type(m)(
        prices=m.prices.mul(np.where(m.prices.index > m.prices.index[cut], 1.3, 1.0), axis=0),
        macro=m.macro.assign(**{c: m.macro[c].where(~m.macro.index.isin(later), 60.0) for c in MACRO}),
        true_regimes=m.true_regimes,
        params=m.params,
    )
    moved = oracle_regimes(changed)
    t = m.prices.index[cut]
    pd.testing.assert_frame_equal(base.loc[:t], moved.loc[:t])
    assert not np.allclose(base.loc[t:].iloc[1:5], moved.loc[t:].iloc[1:5])


def test_walk_forward_recovers_the_true_regimes_within_six_points_of_the_oracle():
    """benchmarks/regime_recovery.py measures 0.881 against the full-information oracle's 0.932 on the default config
    (seed 7): a gap of 5.1 points (4.6 with hmmlearn's cold start, which the seed moves elsewhere; over the market
    seeds 7, 1-4 the mean gaps are 10.7 points with the local start, 11.2 with hmmlearn's). Other seeds have wider gaps (the benchmark
    prints them); most of it is the model class, not the walk-forward (see the benchmark's docstring)."""
    rec, result = recovery_for_config(load_config(None))
    assert rec.n_days > 4000
    assert rec.oracle > 0.9 and rec.oracle > rec.returns_oracle
    assert rec.model >= rec.oracle - 0.06, (rec.model, rec.oracle)
    assert rec.model >= 0.80
    # every regime is found: the recall of each true regime is well above chance
    recall = np.diag(rec.confusion.to_numpy()) / rec.confusion.sum(axis=1).to_numpy()
    assert recall.min() > 0.5, rec.confusion


def test_recovery_scores_a_perfect_labelling_as_one():
    from regimeshift.data.synthetic import generate_market

    m = generate_market(seed=1, years=3)
    truth = m.true_regimes.iloc[100:].astype(str)
    perfect = pd.get_dummies(truth).reindex(columns=list(m.params.names), fill_value=0).astype(float)
    rec = recovery(perfect, m)
    assert rec.model == 1.0 and rec.gap_points < 0


@requires_shared
@pytest.mark.realdata
def test_crunch_is_the_most_probable_regime_within_five_trading_days_of_lehman_and_covid():
    from regimeshift.backtests.config import with_overrides

    from regimeshift.pipeline import feature_stage, load_stage, regime_stage

    cfg = with_overrides(load_config(REPO / "backtests" / "configs" / "liquidity_rotation.toml"), dir=str(SHARED_DATA))
    result = regime_stage(cfg, feature_stage(cfg, load_stage(cfg)), cache=False)
    regime = result.regime
    for event in ("2008-09-15", "2020-03-09"):
        window = regime.loc[event:].iloc[:6]  # the event day and the five trading days after it
        assert window.index[0] <= pd.Timestamp(event) + pd.Timedelta(days=3)
        assert (window == "crunch").any(), f"{event}: {window.to_dict()}"


@requires_shared
@pytest.mark.realdata
def test_the_crunch_is_detected_not_assumed_a_month_before_it_was_calm_or_tightening():
    """The test above would pass trivially with a model that calls everything a crunch."""
    from regimeshift.backtests.config import with_overrides

    from regimeshift.pipeline import feature_stage, load_stage, regime_stage

    cfg = with_overrides(load_config(REPO / "backtests" / "configs" / "liquidity_rotation.toml"), dir=str(SHARED_DATA))
    regime = regime_stage(cfg, feature_stage(cfg, load_stage(cfg)), cache=False).regime
    assert regime.loc[:"2008-09-15"].iloc[-21] == "tightening"  # mid-August 2008: stressed, not yet a crunch
    assert regime.loc[:"2020-03-09"].iloc[-21] == "abundant"  # early February 2020
    assert (regime == "crunch").mean() < 0.2
