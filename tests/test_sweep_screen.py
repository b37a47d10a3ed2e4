"""The sweep's screening engine follows the backtrader replay's rules: same equity, fill for fill in effect.

Stated bounds: relative equity difference <= 1e-6 on every bar with fractional shares, and <= 1e-4 with whole
shares (the same sizing function runs in both; float summation order is the only difference, and it could
flip a floor at an exact share boundary -- in practice the difference is ~1e-12).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from regimeshift.backtests.config import ExecutionConfig
from regimeshift.backtests.replay import decision_dates, rebalance_dates, replay, replay_arrays
from regimeshift.backtests.screen import screen_frames
from regimeshift.reports.metrics import performance_metrics

SYMS = ["GROWTH", "VALUE", "BOND", "GOLD"]
FRACTIONAL_BOUND = 1e-6
WHOLE_SHARE_BOUND = 1e-4


def _market(n: int = 700, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2012-01-02", periods=n, name="date")
    rets = rng.normal([0.0005, 0.0003, 0.0001, 0.0002], [0.02, 0.013, 0.002, 0.01], (n, 4))
    close = pd.DataFrame(100 * np.exp(np.cumsum(rets, axis=0)), index=idx, columns=SYMS)
    opens = close.shift(1).fillna(close) * np.exp(rng.normal(0, 0.003, (n, 4)))
    rate = pd.Series(rng.uniform(0.0, 5.0, n), index=idx) / 100 / 252
    return close, opens, rate


def _targets(index: pd.DatetimeIndex, dates: pd.DatetimeIndex, seed: int) -> pd.DataFrame:
    w = np.random.default_rng(seed).dirichlet(np.ones(5), len(dates))[:, :4]
    return pd.DataFrame(w, index=dates, columns=SYMS)


CASES = {
    "monthly, next close, costs": dict(rebalance="monthly"),
    "weekly, drift band, min commission, small account": dict(rebalance="weekly", drift_band=0.04,
                                                               min_commission=1.0, initial_cash=20_000.0),
    "daily, same-bar fills, big slippage": dict(rebalance="daily", timing="same_bar", slippage_bps=30.0),
    "quarterly, regime changes forced, no costs": dict(rebalance="quarterly", commission_bps=0.0, slippage_bps=0.0,
                                                       drift_band=0.1),
}


def _case(name: str, fractional: bool, opens: bool) -> tuple:
    close, op, rate = _market()
    ex = ExecutionConfig(fractional=fractional, **CASES[name])
    regime = pd.Series(np.random.default_rng(1).integers(0, 3, len(close)), index=close.index).rolling(9).max()
    regime = regime.fillna(0).astype(int).astype(str)
    cands, forced = decision_dates(close.index, ex.rebalance, regime if "forced" in name else None)
    targets = _targets(close.index, cands, seed=len(name))
    return close, (op if opens and ex.timing == "next_bar" else None), rate, ex, targets, forced


@pytest.mark.parametrize("fractional,bound", [(True, FRACTIONAL_BOUND), (False, WHOLE_SHARE_BOUND)])
@pytest.mark.parametrize("name", list(CASES))
def test_screen_equals_the_backtrader_replay(name: str, fractional: bool, bound: float) -> None:
    close, opens, rate, ex, targets, forced = _case(name, fractional, opens=True)
    bt_run = replay(close, targets, ex, opens, cash_rate=rate, forced=forced)
    s = screen_frames(close, targets, ex, opens, cash_rate=rate, forced=forced)
    rel = np.max(np.abs(s.value / bt_run.value.to_numpy() - 1.0))
    assert rel <= bound, f"{name}: relative equity difference {rel:.2e} > {bound:g}"
    assert s.n_orders == bt_run.n_orders
    assert s.commission == pytest.approx(bt_run.commission, rel=1e-6, abs=1e-6)
    assert s.interest == pytest.approx(bt_run.interest, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("name", list(CASES))
def test_screen_equals_the_array_replay_to_float_noise(name: str) -> None:
    close, opens, rate, ex, targets, forced = _case(name, fractional=False, opens=False)
    a = replay_arrays(close, targets, ex, opens, cash_rate=rate, forced=forced)
    s = screen_frames(close, targets, ex, opens, cash_rate=rate, forced=forced)
    assert np.max(np.abs(s.value / a.value.to_numpy() - 1.0)) < 1e-10
    assert (s.n_orders, s.n_rebalances) == (a.n_orders, a.n_rebalances)


def test_a_decision_on_the_last_bar_fills_nowhere() -> None:
    close, _, _ = _market(60)
    dates = rebalance_dates(close.index, "monthly").append(close.index[-1:])
    targets = _targets(close.index, dates, 0)
    s = screen_frames(close, targets, ExecutionConfig())
    a = replay_arrays(close, targets, ExecutionConfig())
    assert s.n_rebalances == a.n_rebalances == len(dates) - 1
    np.testing.assert_allclose(s.value, a.value.to_numpy(), rtol=1e-12)


def test_path_metrics_are_the_runs_daily_excess_return_metrics() -> None:
    from regimeshift.reports.metrics import RiskFree
    from regimeshift.sweep.screen import path_metrics

    close, _, rate = _market()
    targets = _targets(close.index, rebalance_dates(close.index, "monthly"), 2)
    a = replay_arrays(close, targets, ExecutionConfig(), cash_rate=rate)
    rf = RiskFree("RATE", rate)
    ours = path_metrics(a.value.to_numpy(), rf.on(a.returns.index))
    run = performance_metrics(a.returns, rf)
    assert abs(run["sharpe"] - performance_metrics(a.returns)["sharpe"]) > 0.01  # the rate matters here
    for key in ("cagr", "sharpe", "sortino", "max_drawdown", "volatility", "calmar"):
        assert ours[key] == pytest.approx(run[key], rel=1e-12), key
