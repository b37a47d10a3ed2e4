"""The screen's compiled sizing (backtests/screen_kernel.py) is backtests/costs.py's rules, restated for numba: on
any book it places the orders ``costs.plan_orders`` places, and a whole compiled screen walks the same path as
the Python walk that calls ``plan_orders`` itself. Two code paths, so floats compare at rtol 1e-12; whole-share
sizes and order counts compare exactly."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from regimeshift.backtests.config import ExecutionConfig
from regimeshift.backtests.costs import plan_orders
from regimeshift.backtests.replay import decision_dates
from regimeshift.backtests.screen import decision_prices, screen_arrays
from regimeshift.backtests.screen_kernel import plan_orders_compiled

RTOL = 1e-12


@st.composite
def books(draw: st.DrawFn) -> dict:
    """A book, its prices and targets, and cost rules: small accounts and big minimum commissions included, so
    the scaled, trimmed and dropped buys and the skipped sells all occur."""
    k = draw(st.integers(1, 6))
    fractional = draw(st.booleans())
    prices = np.array(draw(st.lists(st.floats(0.5, 2_000.0), min_size=k, max_size=k)))
    held = np.array(draw(st.lists(st.floats(0.0, 500.0), min_size=k, max_size=k)))
    if not fractional:
        held = np.floor(held)
    raw = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=k, max_size=k)))
    invested = draw(st.sampled_from([1.0, 0.999, 0.9, draw(st.floats(0.0, 1.0))]))
    targets = raw / raw.sum() * invested if raw.sum() > 0 else raw
    return {
        "cash": draw(st.floats(0.0, 200_000.0)),
        "held": held,
        "prices": prices,
        "targets": targets,
        "rules": {"buffer": draw(st.sampled_from([0.0, 0.001, 0.02])),
                  "slippage": draw(st.sampled_from([0.0, 0.0005, 0.003])),
                  "commission_bps": draw(st.sampled_from([0.0, 1.0, 5.0, 30.0])),
                  "min_commission": draw(st.sampled_from([0.0, 1.0, 25.0])),
                  "fractional": fractional},
    }


def _same_orders(compiled: list[tuple[int, float]], python: list[tuple[int, float]], fractional: bool) -> None:
    assert [i for i, _ in compiled] == [i for i, _ in python]
    sizes, want = np.array([q for _, q in compiled]), np.array([q for _, q in python])
    if fractional:
        np.testing.assert_allclose(sizes, want, rtol=RTOL, atol=0.0)
    else:
        assert sizes.tolist() == want.tolist()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=books())
def test_compiled_sizing_places_the_orders_plan_orders_places(book: dict) -> None:
    python = plan_orders(book["cash"], book["held"].tolist(), book["prices"].tolist(), book["targets"].tolist(),
                         **book["rules"])
    compiled = plan_orders_compiled(book["cash"], book["held"], book["prices"], book["targets"], **book["rules"])
    _same_orders(compiled, python, book["rules"]["fractional"])


@pytest.mark.parametrize("cash, held, targets, rules, orders", [
    # the buys cost more than the cash: every buy scaled by one factor, then floored
    (10_000.0, [0.0, 0.0], [0.5, 0.5], dict(commission_bps=50.0), [(0, 49.0), (1, 49.0)]),
    # a sale whose minimum commission eats its proceeds is kept, not sold
    (0.0, [1.0, 0.0], [0.0, 0.0], dict(min_commission=150.0), []),
    # a buy whose minimum commission is as big as the buy is dropped
    (150.0, [0.0, 0.0], [1.0, 0.0], dict(min_commission=100.0), []),
])
def test_compiled_sizing_takes_the_cost_models_special_branches(cash, held, targets, rules, orders) -> None:
    rules = {"buffer": 0.0, "slippage": 0.0, "commission_bps": 0.0, "min_commission": 0.0, "fractional": False,
             **rules}
    prices = [100.0, 100.0]
    assert plan_orders(cash, held, prices, targets, **rules) == orders
    assert plan_orders_compiled(cash, np.array(held), np.array(prices), np.array(targets), **rules) == orders


def _market(n: int, seed: int) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2015-01-02", periods=n)
    rets = rng.normal([0.0005, 0.0003, 0.0001, 0.0002], [0.02, 0.013, 0.002, 0.01], (n, 4))
    close = 100 * np.exp(np.cumsum(rets, axis=0))
    opens = close * np.exp(rng.normal(0, 0.003, (n, 4)))
    accrual = np.r_[0.0, rng.uniform(0.0, 5.0, n - 1) / 100 / 252]
    return idx, close, opens, accrual


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), rebalance=st.sampled_from(["daily", "weekly", "monthly"]),
       timing=st.sampled_from(["next_bar", "same_bar"]), opens=st.booleans(), fractional=st.booleans(),
       band=st.sampled_from([None, 0.02, 0.1]), costs=st.sampled_from([(0.0, 0.0, 0.0), (5.0, 5.0, 0.0),
                                                                         (10.0, 30.0, 2.0)]),
       buffer=st.sampled_from([0.0, 0.01]), cash=st.sampled_from([5_000.0, 1e6]),
       invested=st.sampled_from([1.0, 0.95]))
def test_the_compiled_screen_walks_the_python_screens_path(seed, rebalance, timing, opens, fractional, band, costs,
                                                           buffer, cash, invested) -> None:
    idx, close, op, accrual = _market(160, seed)
    bps, slip, minimum = costs
    ex = ExecutionConfig(rebalance=rebalance, timing=timing, fractional=fractional, drift_band=band,
                         commission_bps=bps, slippage_bps=slip, min_commission=minimum, cash_buffer=buffer,
                         initial_cash=cash)
    cands, forced = decision_dates(idx, rebalance)
    rows = idx.get_indexer(cands)
    rng = np.random.default_rng(seed + 1)
    weights = rng.dirichlet(np.ones(4), len(rows)) * invested
    flags = rng.random(len(rows)) < 0.2  # forced decisions (regime changes) that a band does not skip
    fill = op if opens else None
    compiled = screen_arrays(close, fill, rows, weights, ex, accrual=accrual, forced=flags)
    python = screen_arrays(close, fill, rows, weights, ex, accrual=accrual, forced=flags, engine="python")
    np.testing.assert_allclose(compiled.value, python.value, rtol=RTOL)
    np.testing.assert_allclose(compiled.cash, python.cash, rtol=RTOL, atol=1e-6)
    assert (compiled.n_orders, compiled.n_rebalances) == (python.n_orders, python.n_rebalances)
    for field in ("traded_value", "commission", "slippage", "interest"):
        assert getattr(compiled, field) == pytest.approx(getattr(python, field), rel=RTOL, abs=1e-9), field


def test_decision_prices_sliced_once_give_the_same_screen() -> None:
    idx, close, op, accrual = _market(300, 7)
    ex = ExecutionConfig(rebalance="weekly", drift_band=0.03)
    rows = idx.get_indexer(decision_dates(idx, "weekly")[0])
    weights = np.random.default_rng(3).dirichlet(np.ones(4), len(rows))
    sliced = decision_prices(close, op, rows, ex)
    a = screen_arrays(close, op, rows, weights, ex, accrual=accrual, decision_prices=sliced)
    b = screen_arrays(close, op, rows, weights, ex, accrual=accrual)
    assert np.array_equal(a.value, b.value) and a.n_orders == b.n_orders


def test_non_finite_weights_take_the_python_path_and_fail_as_before() -> None:
    idx, close, _, _ = _market(60, 1)
    rows = idx.get_indexer(decision_dates(idx, "monthly")[0])
    weights = np.full((len(rows), 4), 0.25)
    weights[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        screen_arrays(close, None, rows, weights, ExecutionConfig(fractional=False))
