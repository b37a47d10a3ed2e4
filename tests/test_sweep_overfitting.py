"""Deflated Sharpe ratio and probability of backtest overfitting, against numbers worked by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest
from regimeshift.reports.overfitting import (
    deflated_sharpe,
    expected_max_sharpe,
    moments,
    pbo_cscv,
    probabilistic_sharpe,
)
from scipy.stats import norm


def test_expected_max_sharpe_by_hand() -> None:
    # V[SR] = 0.5 / 250 (annual 0.5, daily data), N = 100 trials:
    # sqrt(0.002) * (0.42278 * z(0.99) + 0.57722 * z(1 - 1/(100 e)))
    # = 0.0447214 * (0.42278 * 2.326348 + 0.57722 * 2.680360) = 0.0447214 * 2.530653 = 0.113174
    # (the paper's 0.1132)
    assert expected_max_sharpe(0.5 / 250, 100) == pytest.approx(0.113174, abs=5e-6)
    assert expected_max_sharpe(0.01, 1) == 0.0


def test_deflated_sharpe_by_hand() -> None:
    # the paper's example: annual SR 2.5 over 1250 days, skew -3, kurtosis 10, 100 trials, V[SR] 0.5/yr
    sr = 2.5 / math.sqrt(250)  # 0.158114
    # z = (0.158114 - 0.113174) * sqrt(1249) / sqrt(1 + 3 * 0.158114 + 9/4 * 0.025) = 1.58825 / 1.23717 = 1.28378
    dsr = deflated_sharpe(sr, 1250, -3.0, 10.0, 100, 0.5 / 250)
    assert dsr == pytest.approx(norm.cdf(1.28378), abs=1e-4)
    assert dsr == pytest.approx(0.9004, abs=1e-3)  # the paper's DSR
    # more trials, same evidence: less confidence
    assert deflated_sharpe(sr, 1250, -3.0, 10.0, 10_000, 0.5 / 250) < dsr


def test_probabilistic_sharpe_of_a_normal_sample_by_hand() -> None:
    # skew 0, kurtosis 3: z = (0.1 - 0) * sqrt(99) / sqrt(1 + 0.5 * 0.01) = 0.994987 / 1.002497 = 0.992509
    assert probabilistic_sharpe(0.1, 0.0, 100, 0.0, 3.0) == pytest.approx(norm.cdf(0.992509), abs=1e-6)


def test_moments() -> None:
    m = moments(np.array([1.0, 2.0, 3.0, 4.0]))
    assert m["sr"] == pytest.approx(2.5 / np.std([1, 2, 3, 4], ddof=1))
    assert m["skew"] == pytest.approx(0.0)
    assert m["kurtosis"] == pytest.approx(1.64)  # mean(c^4) / m2^2 = 5.3125 / 1.5625^2


def test_pbo_by_hand_two_blocks() -> None:
    # two variants, two blocks of two periods. A wins block 1, B wins block 2.
    a = [0.02, 0.03, -0.01, 0.00]
    b = [0.00, 0.01, 0.01, 0.02]
    # split {block 1} in sample: A best (SR 0.025/0.00707 vs 0.005/0.00707); out of sample B beats A,
    # so A ranks 1 of 2: w = 1/3, logit < 0 -> overfit. Split {block 2}: B best in sample, and out of sample
    # (block 1) A beats B: overfit again. PBO = 2/2.
    res = pbo_cscv(np.array([a, b]).T, n_blocks=2)
    assert res.n_splits == 2
    assert res.pbo == 1.0
    np.testing.assert_allclose(res.logits, [math.log(0.5), math.log(0.5)])
    # a variant better in both halves is never overfit
    c = [0.03, 0.04, 0.02, 0.03]
    res = pbo_cscv(np.array([a, b, c]).T, n_blocks=2)
    assert res.pbo == 0.0
    np.testing.assert_allclose(res.logits, [math.log(3.0), math.log(3.0)])  # rank 3 of 3: w = 3/4


def test_pbo_is_high_for_pure_noise() -> None:
    # 50 variants of pure noise: the in-sample winner is a coin flip out of sample
    noise = np.random.default_rng(0).normal(0.0, 0.01, (240, 50))
    assert pbo_cscv(noise, n_blocks=10).pbo > 0.5  # 0.70 for this seed
    # over several noise sweeps the estimate centres on 1/2 (0.70, 0.62, 0.52, 0.51, 0.41, 0.25: mean 0.50)
    values = [pbo_cscv(np.random.default_rng(s).normal(0, 0.01, (240, 50)), n_blocks=10).pbo for s in range(6)]
    assert abs(np.mean(values) - 0.5) < 0.05


def test_pbo_is_low_with_one_genuinely_better_variant() -> None:
    rng = np.random.default_rng(1)
    m = rng.normal(0.0, 0.01, (240, 50))
    m[:, 17] += 0.006  # Sharpe ~0.6 per period above the rest
    res = pbo_cscv(m, n_blocks=10)
    assert res.pbo < 0.05


def test_pbo_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError):
        pbo_cscv(np.zeros((10, 1)))
    with pytest.raises(ValueError):
        pbo_cscv(np.zeros((10, 3)), n_blocks=3)


def test_rank_labels_are_spread_at_least_a_gap_apart_inside_the_axes() -> None:
    from regimeshift.sweep.leaderboard import spread_labels

    assert spread_labels([0.5, 0.5, 0.5], 0.1) == pytest.approx([0.5, 0.6, 0.7])
    # near the top they are pushed down, and one far below stays where it is
    assert spread_labels([0.99, 0.98, 0.1], 0.1) == pytest.approx([1.0, 0.9, 0.1])
    assert spread_labels([0.3, 0.1], 0.05) == [0.3, 0.1]  # far enough apart: left alone
    twenty = spread_labels([0.95] * 20, 1 / 20)
    gaps = np.diff(sorted(twenty))
    assert min(twenty) >= 0.0 and max(twenty) <= 1.0 and gaps.min() >= 1 / 20 - 1e-12


def test_probabilities_on_the_leaderboard_tell_0_98_from_0_9994() -> None:
    from regimeshift.sweep.leaderboard import _fmt

    assert [_fmt("dsr", x) for x in (0.9994, 0.98, 0.12345, 0.0001)] == ["> 0.999", "0.980", "0.123", "< 0.001"]
    assert _fmt("timing_sharpe", 0.0213) == "+0.02" and _fmt("timing_max_drawdown", 0.24) == "+24.00 pts"
