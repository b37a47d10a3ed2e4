"""State names across refits (Hungarian matching with a stress-order safety net) and model selection."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from regimeshift.regimes.model import LiquidityHMM, align_order, select_n_states

MEANS = np.array([[0.0, 10.0], [2.0, 20.0], [5.0, 35.0]])
SDS = np.array([[0.4, 1.5], [0.5, 2.0], [0.7, 3.0]])


def _stable(seed: int = 0, n_blocks: int = 12) -> np.ndarray:
    """A stationary three-regime series: blocks of calm, tight, crunch, tight, calm... with fixed parameters."""
    rng = np.random.default_rng(seed)
    out = []
    for b in range(n_blocks):
        k = (0, 1, 2, 1)[b % 4]
        out.append(rng.normal(MEANS[k], SDS[k], (rng.integers(40, 90), 2)))
    return np.concatenate(out)


def test_hungarian_assignment_matches_states_to_their_previous_names():
    prev = np.array([[0.0, 10.0], [1.5, 20.0], [4.0, 40.0]])
    new = prev[[2, 0, 1]] + 0.05  # the same states, fitted in another raw order
    order = align_order(new, prev, scale=np.array([1.0, 10.0]))
    assert list(order) == [1, 2, 0]  # name j is raw state order[j]
    np.testing.assert_allclose(new[order], prev + 0.05)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 7).flatmap(lambda k: st.tuples(
    st.just(k), st.lists(st.integers(0, 4) | st.floats(0, 1e6, allow_nan=False), min_size=k * k, max_size=k * k))))
def test_the_assignment_is_scipys_whatever_the_costs_ties_included(case: tuple[int, list[float]]) -> None:
    """Small integers make ties (scipy decides those); floats make unique optima (every assignment tried)."""
    from scipy.optimize import linear_sum_assignment

    from regimeshift.regimes.naming import assignment

    k, values = case
    cost = np.array(values, dtype=float).reshape(k, k)
    rows, cols = assignment(cost)
    want_rows, want_cols = linear_sum_assignment(cost)
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_array_equal(cols, want_cols)


def test_labels_do_not_flip_between_refits_on_stable_data():
    """Cold refits with different seeds come back in arbitrary raw order; with stress signs that cannot tell
    the states apart (all zero), stress ordering then renames them at random, matching never does."""
    X = _stable()
    first = LiquidityHMM(init="mixed", n_init=1, stress_signs=[0, 0], random_state=0).fit(X[:400])
    matched, by_stress = first, first
    flips = 0
    for i, end in enumerate(range(460, len(X) + 1, 60)):
        seed = 10 + i  # a new k-means seed per refit: a new raw order
        m = LiquidityHMM(init="mixed", n_init=1, stress_signs=[0, 0], random_state=seed).fit(X[:end], align_to=matched)
        s = LiquidityHMM(init="mixed", n_init=1, stress_signs=[0, 0], random_state=seed).fit(X[:end])
        # matched names keep meaning the same state: each named mean stays next to the first fit's
        np.testing.assert_allclose(m.means_, first.means_, atol=2.5)
        assert list(align_order(m.means_, matched.means_, m.scaler_scale_)) == [0, 1, 2]
        assert not m.relabelled_
        flips += int(list(align_order(s.means_, by_stress.means_, s.scaler_scale_)) != [0, 1, 2])
        matched, by_stress = m, s
    assert flips > 0, "the test needs stress ordering to flip at least once to show anything"


def test_first_fit_names_follow_the_stress_ordering():
    X = _stable(1)
    m = LiquidityHMM(init="mixed", n_init=2, stress_signs=[1, 1]).fit(X)
    assert list(np.argsort(m.means_[:, 1])) == [0, 1, 2]
    np.testing.assert_allclose(m.means_[:, 1], MEANS[:, 1], atol=3.0)


def test_a_clear_contradiction_of_the_stress_order_renames_by_stress():
    """If matching would call the calmest state 'crunch' (states reorganised), names follow stress again."""
    X = _stable(2)
    m = LiquidityHMM(init="mixed", n_init=2, stress_signs=[1, 1]).fit(X)
    fake_prev = LiquidityHMM(init="mixed", n_init=1, stress_signs=[1, 1]).fit(X)
    fake_prev.order_ = fake_prev.order_[::-1].copy()  # a previous model whose names are upside down
    m2 = LiquidityHMM(init="mixed", n_init=2, stress_signs=[1, 1]).fit(X, align_to=fake_prev)
    assert m2.relabelled_
    np.testing.assert_allclose(m2.means_, m.means_)


def test_select_n_states_reports_bic_and_out_of_sample_side_by_side():
    X = _stable(3, n_blocks=24)
    table = select_n_states(X, init="mixed", n_states=(2, 3, 4), n_init=2, holdout=0.3)
    assert list(table.index) == [2, 3, 4]
    for col in ("bic", "oos_loglik", "oos_loglik_per_day", "train_loglik", "n_params", "best_bic", "best_oos"):
        assert col in table
    assert table["n_params"].is_monotonic_increasing
    assert int(table.index[table["best_bic"]][0]) == 3
    assert int(table.index[table["best_oos"]][0]) in (3, 4)
    # two states cannot describe three regimes, in sample or out of sample
    assert table.loc[2, "oos_loglik"] < table.loc[3, "oos_loglik"]
    assert table.loc[2, "bic"] > table.loc[3, "bic"]


def test_the_bic_shown_is_minus_twice_the_train_loglik_shown_plus_the_penalty():
    X = _stable(3, n_blocks=12) * 50.0  # units far from 1, where a scaled and an original log-lik differ
    table = select_n_states(X, init="mixed", n_states=(2, 3), n_init=1, holdout=0.3)
    penalty = table["n_params"] * np.log(table["n_train"])
    np.testing.assert_allclose(table["bic"], -2 * table["train_loglik"] + penalty, rtol=1e-12)


def test_predictive_loglik_is_the_forward_filter_continued_into_the_held_out_rows():
    X = _stable(4)
    m = LiquidityHMM(init="mixed", n_init=1, stress_signs=[1, 1]).fit(X[:500])
    whole = m.score(X) - len(X) * 0  # standardised units
    part = m.score(X[:500])
    jac = np.log(m.scaler_scale_).sum()
    assert m.predictive_loglik(X[:500], X[500:]) == pytest.approx(whole - part - (len(X) - 500) * jac, rel=1e-9)
