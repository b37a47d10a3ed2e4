"""The backtrader replay: costs on, next-bar fills, no rejected orders, equity checked by an independent replay."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtests.config import ExecutionConfig
from backtests.replay import rebalance_dates, replay


def _prices(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2020-01-01", periods=n, name="date")
    rets = rng.normal([0.0005, 0.0002, 0.0001], [0.02, 0.012, 0.002], (n, 3))
    return pd.DataFrame(100 * np.exp(np.cumsum(rets, axis=0)), index=idx, columns=["GROWTH", "VALUE", "BOND"])


def _targets(prices: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = rebalance_dates(prices.index, "monthly")
    w = rng.dirichlet(np.ones(4), len(dates))[:, :3]  # last column is cash
    return pd.DataFrame(w, index=dates, columns=prices.columns)


def _numpy_replay(prices: pd.DataFrame, trades: pd.DataFrame, cash0: float) -> np.ndarray:
    """Independent few-line replay of the recorded fills: cash and holdings marked at each close."""
    pos = np.zeros(prices.shape[1])
    cash = cash0
    col = {s: i for i, s in enumerate(prices.columns)}
    by_day = {d: g for d, g in trades.groupby("date")}
    out = []
    for day, close in zip(prices.index, prices.to_numpy()):
        for _, tr in by_day.get(day, pd.DataFrame()).iterrows():
            pos[col[tr["symbol"]]] += tr["size"]
            cash -= tr["size"] * tr["price"] + tr["commission"]
        out.append(cash + pos @ close)
    return np.array(out)


@pytest.mark.parametrize("fractional", [False, True])
def test_equity_matches_an_independent_numpy_replay_of_the_same_trades(fractional):
    prices, ex = _prices(), ExecutionConfig(fractional=fractional)
    res = replay(prices, _targets(prices), ex)
    np.testing.assert_allclose(res.value.to_numpy(), _numpy_replay(prices, res.trades, ex.initial_cash), rtol=0, atol=1e-9 * ex.initial_cash)


def test_orders_fill_on_the_bar_after_the_decision():
    prices = _prices()
    targets = _targets(prices)
    res = replay(prices, targets, ExecutionConfig())
    fill_days = set(res.trades["date"])
    next_days = {prices.index[prices.index.get_loc(d) + 1] for d in targets.index if d != prices.index[-1]}
    assert fill_days == next_days


def test_fill_price_is_next_close_moved_against_the_trader_by_the_slippage():
    prices = _prices()
    res = replay(prices, _targets(prices), ExecutionConfig(slippage_bps=10))
    close = np.array([prices.at[d, s] for d, s in zip(res.trades["date"], res.trades["symbol"])])
    side = np.sign(res.trades["size"].to_numpy())
    np.testing.assert_allclose(res.trades["price"].to_numpy(), close * (1 + side * 10e-4), rtol=1e-12)


def test_commission_is_the_configured_bps_of_traded_value_with_a_minimum():
    prices = _prices()
    res = replay(prices, _targets(prices), ExecutionConfig(commission_bps=7, min_commission=25.0))
    notional = (res.trades["size"].abs() * res.trades["price"]).to_numpy()
    np.testing.assert_allclose(res.trades["commission"].to_numpy(), np.maximum(notional * 7e-4, 25.0), rtol=1e-12)


def test_full_investment_with_costs_gets_no_order_rejected():
    prices = _prices(600, seed=4)
    dates = rebalance_dates(prices.index, "weekly")
    rng = np.random.default_rng(9)
    w = rng.dirichlet(np.ones(3), len(dates))  # sums to exactly 1: no cash left on purpose
    res = replay(prices, pd.DataFrame(w, index=dates, columns=prices.columns), ExecutionConfig(commission_bps=20, slippage_bps=20))
    assert res.n_orders > 100
    assert res.n_rejected == 0
    assert res.cash.min() >= 0


def test_cash_only_schedule_keeps_initial_capital_without_trading():
    prices = _prices()
    targets = _targets(prices) * 0.0
    res = replay(prices, targets, ExecutionConfig())
    assert len(res.trades) == 0
    assert (res.value == ExecutionConfig().initial_cash).all()


def test_same_bar_timing_fills_at_the_decision_close():
    prices = _prices()
    targets = _targets(prices)
    res = replay(prices, targets, ExecutionConfig(timing="same_bar", slippage_bps=0))
    first = res.trades[res.trades["date"] == res.trades["date"].min()]
    assert first["date"].iloc[0] == targets.index[0]
    assert first["price"].iloc[0] == pytest.approx(prices.at[targets.index[0], first["symbol"].iloc[0]])


def test_monthly_rebalance_dates_are_first_trading_day_of_each_month():
    idx = pd.bdate_range("2021-01-01", "2021-04-30")
    assert list(rebalance_dates(idx, "monthly").strftime("%Y-%m-%d")) == ["2021-01-01", "2021-02-01", "2021-03-01", "2021-04-01"]
