"""The run's metrics are computed without scipy.stats or arch (about 1.5 s of imports a run), and give the very
numbers those libraries give: the PSR's skewness and kurtosis, the normal cdf and quantile, the bootstrap's
block length and its resampled days."""
from __future__ import annotations

import numpy as np
import pytest

from regimeshift.reports.metrics import _skew_kurtosis
from regimeshift.reports.overfitting import expected_max_sharpe, probabilistic_sharpe
from regimeshift.reports.timing import _stationary_block_length, stationary_indices


def _samples(seed: int, count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        n = int(rng.integers(20, 6000))
        x = rng.standard_t(3, size=n) * 0.01 + rng.normal() * 0.001
        out.append(np.cumsum(x) * 0.01 if i % 3 == 0 else x**2 if i % 5 == 0 else x)
    return out


def test_skewness_and_kurtosis_equal_scipy_stats_to_the_bit() -> None:
    stats = pytest.importorskip("scipy.stats")
    for x in _samples(1, 200):
        assert _skew_kurtosis(x) == (float(stats.skew(x)), float(stats.kurtosis(x, fisher=False)))
    constant = np.full(50, 0.01)
    assert all(np.isnan(_skew_kurtosis(constant)))


def test_the_normal_cdf_and_quantile_are_scipy_stats_norm_to_the_bit() -> None:
    norm = pytest.importorskip("scipy.stats").norm
    for sharpe, n, skew, kurt in ((0.05, 5000, -0.3, 6.0), (0.01, 300, 0.2, 3.5), (-0.02, 2500, -1.0, 12.0)):
        denom = 1.0 - skew * sharpe + (kurt - 1.0) / 4.0 * sharpe**2
        want = float(norm.cdf(sharpe * np.sqrt(n - 1) / np.sqrt(denom)))
        assert probabilistic_sharpe(sharpe, 0.0, n, skew, kurt) == want
    n = 40.0
    want = np.sqrt(0.01) * ((1.0 - 0.5772156649015329) * norm.ppf(1.0 - 1.0 / n)
                            + 0.5772156649015329 * norm.ppf(1.0 - 1.0 / (n * np.e)))
    assert expected_max_sharpe(0.01, 40) == float(want)


def test_block_length_equals_arch_optimal_block_length_to_the_bit() -> None:
    bootstrap = pytest.importorskip("arch.bootstrap")
    for x in _samples(3, 120):
        assert _stationary_block_length(x) == float(bootstrap.optimal_block_length(x)["stationary"].iloc[0])


def test_resampled_days_equal_arch_stationary_bootstrap_from_the_same_generator() -> None:
    bootstrap = pytest.importorskip("arch.bootstrap")
    rng = np.random.default_rng(5)
    for _ in range(40):
        n, block, seed = int(rng.integers(5, 3000)), float(rng.random() * 30 + 1), int(rng.integers(1000))
        bs = bootstrap.StationaryBootstrap(block, np.arange(n), seed=np.random.default_rng(seed))
        want = np.array([bs.update_indices() for _ in range(37)])
        gen = np.random.default_rng(seed)  # drawn in two batches: a batch boundary changes nothing
        got = np.vstack([stationary_indices(gen, n, block, 20), stationary_indices(gen, n, block, 17)])
        assert np.array_equal(got, want)
