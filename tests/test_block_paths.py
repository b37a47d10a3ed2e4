"""The run aggregates the timing bootstrap folds resamples with (reports/block_paths.py): each equals the path it
stands for, and folding runs equals walking their days."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from regimeshift.reports.block_paths import RunTable, combine, reduce_rows, resample_runs


def _walk(log_growth: np.ndarray) -> np.ndarray:
    """(growth, highest, lowest, deepest fall from a running peak) of the log path from 0, day by day."""
    level = np.concatenate([[0.0], np.cumsum(log_growth)])
    peak = np.maximum.accumulate(level)
    return np.array([level[-1], level.max(), level.min(), (level - peak).min()])


series = st.lists(st.floats(-0.2, 0.2, allow_nan=False), min_size=1, max_size=70).map(np.array)


@settings(max_examples=150, deadline=None)
@given(g=series, data=st.data())
def test_a_run_of_days_has_the_aggregate_of_its_own_path(g: np.ndarray, data: st.DataObject) -> None:
    lo = data.draw(st.integers(0, len(g) - 1))
    hi = data.draw(st.integers(lo + 1, len(g)))
    got = RunTable(g).runs(np.array([lo]), np.array([hi]))[:, 0]
    np.testing.assert_allclose(got, _walk(g[lo:hi]), rtol=1e-12, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(parts=st.lists(series, min_size=1, max_size=6))
def test_folding_runs_in_a_tree_equals_walking_their_days_in_order(parts: list[np.ndarray]) -> None:
    runs = np.stack([_walk(p) for p in parts], axis=1)[:, None, :]  # one row of runs
    whole = reduce_rows(runs)[:, 0]
    np.testing.assert_allclose(whole, _walk(np.concatenate(parts)), rtol=1e-12, atol=1e-12)


def test_the_empty_path_is_the_identity_of_combine() -> None:
    a = _walk(np.array([0.05, -0.1, 0.02]))
    zero = np.zeros(4)
    assert np.array_equal(combine(a, zero), a) and np.array_equal(combine(zero, a), a)


def test_a_block_past_the_last_day_wraps_into_two_runs() -> None:
    n = 10
    draws = np.array([[8, 0, 0, 0, 3, 0, 0, 0, 0, 0]])
    fresh = np.zeros((1, n), dtype=bool)
    fresh[0, [0, 4]] = True  # blocks of days 0-3 (from day 8: 8, 9, 0, 1) and 4-9 (from day 3: 3..8)
    row, slot, lo, hi = resample_runs(draws, fresh, n)
    order = np.argsort(slot)
    assert list(zip(slot[order], lo[order], hi[order])) == [(0, 8, 10), (1, 0, 2), (2, 3, 9)]
    assert set(row) == {0}


@pytest.mark.parametrize("n", [1, 2, 5, 64, 65])
def test_every_run_of_a_short_or_power_of_two_series_is_exact(n: int) -> None:
    g = np.random.default_rng(n).normal(0, 0.02, n)
    lo, hi = np.triu_indices(n + 1, 1)
    got = RunTable(g).runs(lo, hi)
    want = np.stack([_walk(g[a:b]) for a, b in zip(lo, hi)], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
