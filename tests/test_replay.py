"""The backtrader replay: costs on, next-bar fills, no rejected orders, equity checked by an independent replay."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from regimeshift.backtests.config import ExecutionConfig
from regimeshift.backtests.replay import (
    decision_dates,
    rebalance_dates,
    regime_change_dates,
    replay,
)


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


# -- execution timing -------------------------------------------------------------------------------------------
def test_with_opens_orders_fill_at_the_next_bar_open_moved_by_the_slippage():
    prices = _prices()
    opens = prices * np.exp(np.random.default_rng(2).normal(0, 0.004, prices.shape))
    targets = _targets(prices)
    res = replay(prices, targets, ExecutionConfig(slippage_bps=10), opens)
    op = np.array([opens.at[d, s] for d, s in zip(res.trades["date"], res.trades["symbol"])])
    side = np.sign(res.trades["size"].to_numpy())
    np.testing.assert_allclose(res.trades["price"].to_numpy(), op * (1 + side * 10e-4), rtol=1e-12)
    nxt = {prices.index[prices.index.get_loc(d) + 1] for d in targets.index if d != prices.index[-1]}
    assert set(res.trades["date"]) == nxt
    # the equity is still marked at the closes
    np.testing.assert_allclose(res.value.to_numpy(), _numpy_replay(prices, res.trades, 1e6), atol=1e-3)


def test_same_bar_fills_at_the_decision_close_with_slippage():
    prices = _prices()
    targets = _targets(prices)
    res = replay(prices, targets, ExecutionConfig(timing="same_bar", slippage_bps=10))
    assert set(res.trades["date"]) == set(targets.index)
    close = np.array([prices.at[d, s] for d, s in zip(res.trades["date"], res.trades["symbol"])])
    side = np.sign(res.trades["size"].to_numpy())
    np.testing.assert_allclose(res.trades["price"].to_numpy(), close * (1 + side * 10e-4), rtol=1e-12)


# -- costs ------------------------------------------------------------------------------------------------------
def test_whole_shares_by_default_fractional_on_request():
    prices = _prices()
    whole = replay(prices, _targets(prices), ExecutionConfig())
    frac = replay(prices, _targets(prices), ExecutionConfig(fractional=True))
    assert (whole.trades["size"] == whole.trades["size"].round()).all()
    assert (frac.trades["size"] != frac.trades["size"].round()).any()


def test_sells_are_sent_before_buys_on_every_rebalance():
    prices = _prices(400, seed=3)
    res = replay(prices, _targets(prices, seed=5), ExecutionConfig())
    for _, day in res.trades.groupby("date", sort=False):
        side = np.sign(day["size"].to_numpy())
        assert (np.diff(side) >= 0).all(), day  # -1 ... -1, +1 ... +1


def test_slippage_cost_is_recorded_per_fill():
    prices = _prices()
    res = replay(prices, _targets(prices), ExecutionConfig(slippage_bps=10))
    ref = np.array([prices.at[d, s] for d, s in zip(res.trades["date"], res.trades["symbol"])])
    assert list(res.trades.columns) == ["date", "symbol", "size", "price", "commission"]  # trades.csv contract
    np.testing.assert_allclose(res.slippage_costs, res.trades["size"].abs() * ref * 10e-4, rtol=1e-9)
    assert res.slippage == pytest.approx(float(res.slippage_costs.sum()))


def test_minimum_commission_and_no_cash_buffer_still_get_no_order_rejected():
    prices = _prices(500, seed=6)
    dates = rebalance_dates(prices.index, "weekly")
    w = np.random.default_rng(1).dirichlet(np.ones(3), len(dates))
    ex = ExecutionConfig(commission_bps=25, min_commission=400.0, slippage_bps=25, cash_buffer=0.0, initial_cash=100_000)
    res = replay(prices, pd.DataFrame(w, index=dates, columns=prices.columns), ex)
    assert res.n_orders > 50 and res.n_rejected == 0
    assert res.cash.min() >= 0
    assert (res.trades["commission"] >= 400.0 - 1e-9).all()


def test_naive_sizing_gets_orders_rejected_and_they_are_counted():
    """What cost-aware sizing prevents: sizing the full value without room for costs fails for cash."""
    prices = _prices(300, seed=4)
    dates = rebalance_dates(prices.index, "weekly")
    w = np.random.default_rng(9).dirichlet(np.ones(3), len(dates))
    ex = ExecutionConfig(commission_bps=20, slippage_bps=20, cash_buffer=0.0)
    res = replay(prices, pd.DataFrame(w, index=dates, columns=prices.columns), ex, cost_aware=False)
    assert res.n_rejected > 0
    # rejected orders leave no fill behind
    assert len(res.trades) == res.n_orders - res.n_rejected


def test_partial_fills_are_counted_and_every_piece_is_recorded():
    prices = _prices()
    targets = _targets(prices)
    def at_most_500(order, price, ago):  # a volume filler (the feeds carry no volume)
        return min(abs(order.executed.remsize), 500)

    res = replay(prices, targets, ExecutionConfig(), filler=at_most_500)
    assert res.n_partial > 0
    assert (res.trades["size"].abs() <= 500 + 1e-9).all()
    np.testing.assert_allclose(res.value.to_numpy(), _numpy_replay(prices, res.trades, 1e6), atol=1e-3)


# -- cash interest ----------------------------------------------------------------------------------------------
@settings(max_examples=8, deadline=None)
@given(rates=hnp.arrays(np.float64, 60, elements=st.floats(-0.5, 8.0)), timing=st.sampled_from(["next_bar", "same_bar"]))
def test_a_cash_only_strategy_returns_the_cash_rate(rates, timing):
    prices = _prices(60)
    per_bar = pd.Series(rates / 100 / 252, index=prices.index)
    targets = _targets(prices) * 0.0
    ex = ExecutionConfig(timing=timing)
    res = replay(prices, targets, ex, cash_rate=per_bar)
    growth = np.cumprod(np.r_[1.0, 1.0 + per_bar.to_numpy()[:-1]])  # day t earns the rate known at t-1
    np.testing.assert_allclose(res.value.to_numpy(), ex.initial_cash * growth, rtol=1e-12)
    assert len(res.trades) == 0
    # value - initial cash carries the rounding of a number near 1e6 (~1e-10 each step): an absolute floor, or a
    # near-zero rate (hypothesis finds them) fails on float noise alone
    assert res.interest == pytest.approx(res.value.iloc[-1] - ex.initial_cash, rel=1e-9, abs=1e-12 * ex.initial_cash)


def test_interest_is_credited_on_the_cash_left_over_by_a_rebalance():
    prices = _prices()
    targets = _targets(prices)
    rate = pd.Series(0.05 / 252, index=prices.index)
    res = replay(prices, targets, ExecutionConfig(), cash_rate=rate)
    base = replay(prices, targets, ExecutionConfig())
    expected = float((res.cash.shift(1) * 0.05 / 252).sum())
    assert res.interest == pytest.approx(expected, rel=1e-9)
    assert res.value.iloc[-1] > base.value.iloc[-1]


# -- rebalance rules --------------------------------------------------------------------------------------------
def test_regime_change_dates_and_forced_decisions():
    idx = pd.bdate_range("2021-01-04", periods=8)
    regime = pd.Series(["a", "a", "b", "b", "b", "a", "c", "c"], index=idx)
    assert list(regime_change_dates(regime)) == [idx[2], idx[5], idx[6]]
    cand, forced = decision_dates(idx, "never", regime)
    assert list(cand) == [idx[0], idx[2], idx[5], idx[6]] and list(forced) == [idx[2], idx[5], idx[6]]
    cand, forced = decision_dates(idx, "monthly")
    assert list(cand) == [idx[0]] and len(forced) == 0


def _holdings_at_close(prices: pd.DataFrame, trades: pd.DataFrame) -> pd.DataFrame:
    size = trades.pivot_table(index="date", columns="symbol", values="size", aggfunc="sum")
    return size.reindex(index=prices.index, columns=prices.columns).fillna(0.0).cumsum()


@pytest.mark.parametrize("band", [0.02, 0.08])
def test_drift_band_trades_exactly_when_held_weights_drift_past_the_band(band):
    prices = _prices(250, seed=8)
    w = np.tile([0.5, 0.3, 0.15], (len(prices), 1))  # constant targets checked every day
    targets = pd.DataFrame(w, index=prices.index, columns=prices.columns)
    res = replay(prices, targets, ExecutionConfig(rebalance="daily", drift_band=band, fractional=True))
    held = _holdings_at_close(prices, res.trades)
    weights = held * prices / res.value.to_numpy()[:, None]  # held weights marked at each close
    drift = (weights - w).abs().max(axis=1)
    decided = drift.index[drift > band]
    expected_fills = {prices.index[prices.index.get_loc(d) + 1] for d in decided if d != prices.index[-1]}
    assert set(res.trades["date"]) == expected_fills
    assert 1 < res.n_rebalances < 60  # the band really skips most days


def test_drift_band_does_not_filter_forced_regime_change_decisions():
    prices = _prices(120, seed=8)
    w = np.tile([0.5, 0.3, 0.15], (len(prices), 1))
    targets = pd.DataFrame(w, index=prices.index, columns=prices.columns)
    forced = prices.index[[30, 60]]
    ex = ExecutionConfig(rebalance="daily", drift_band=0.5, fractional=True)  # a band nothing crosses
    res = replay(prices, targets, ex, forced=forced)
    assert set(res.trades["date"]) == {prices.index[1], prices.index[31], prices.index[61]}
