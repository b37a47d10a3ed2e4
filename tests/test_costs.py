"""The one cost model (backtests/costs.py): bps as fractions, the fill price and commission of a fill, the sizing
that keeps every order payable -- and the replay, its array twin, the screen and backtrader's commission all
charge exactly what it says."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from regimeshift.backtests.config import ExecutionConfig
from regimeshift.backtests.costs import commission, fill_cost, fraction, plan_orders, sizing_rules, slipped_price
from regimeshift.backtests.replay import rebalance_dates, replay, replay_arrays
from regimeshift.backtests.screen import screen_frames

NO_COSTS = {"buffer": 0.0, "slippage": 0.0, "commission_bps": 0.0, "min_commission": 0.0, "fractional": False}


def test_basis_points_become_a_fraction_of_ten_thousand():
    assert fraction(5.0) == 0.0005
    assert fraction(0.0) == 0.0


def test_sizing_rules_read_slippage_as_a_fraction_and_commission_in_bps():
    ex = ExecutionConfig(commission_bps=7.0, slippage_bps=12.0, min_commission=1.5, cash_buffer=0.02, fractional=True)
    assert sizing_rules(ex) == {"buffer": 0.02, "slippage": 0.0012, "commission_bps": 7.0, "min_commission": 1.5,
                                "fractional": True}


def test_commission_is_the_bps_of_the_traded_value_with_a_minimum():
    assert commission(10_000.0, 5.0, 1.0) == 5.0
    assert commission(1_000.0, 5.0, 1.0) == 1.0  # 0.50 is below the minimum


def test_slippage_moves_a_buy_up_and_a_sell_down():
    assert slipped_price(100.0, 3.0, 0.001) == pytest.approx(100.1, rel=1e-15)
    assert slipped_price(100.0, -3.0, 0.001) == pytest.approx(99.9, rel=1e-15)


def test_a_fill_pays_commission_on_its_slipped_value():
    price, comm = fill_cost(-200.0, 50.0, 0.001, 5.0, 0.0)
    assert price == pytest.approx(49.95, rel=1e-15)
    assert comm == pytest.approx(200 * 49.95 * 0.0005, rel=1e-15)


def test_a_fill_below_the_minimum_commission_pays_the_minimum():
    assert fill_cost(2.0, 50.0, 0.0, 5.0, 9.99) == (50.0, 9.99)


def test_sizing_keeps_the_cash_buffer_aside_and_floors_to_whole_shares():
    orders = plan_orders(10_000.0, [0.0, 0.0], [30.0, 70.0], [0.5, 0.5], **{**NO_COSTS, "buffer": 0.01})
    assert orders == [(0, 165.0), (1, 70.0)]  # 9,900 * 0.5 / 30 = 165, 4,950 / 70 = 70.7 -> 70


def test_sizing_sells_first_and_pays_the_buys_from_their_net_proceeds():
    rules = {**NO_COSTS, "commission_bps": 10.0, "fractional": True}
    orders = plan_orders(0.0, [100.0, 0.0], [10.0, 20.0], [0.0, 1.0], **rules)
    assert orders[0] == (0, -100.0)
    # 1,000 sold, 1.00 commission: 999 buys q at 20 plus 0.1 % -> q = 999 / 20.02
    assert orders[1][0] == 1 and orders[1][1] == pytest.approx(999 / 20.02, rel=1e-9)
    assert orders[1][1] * 20 * 1.001 <= 999.0


def test_sizing_skips_a_sale_whose_minimum_commission_eats_its_proceeds():
    orders = plan_orders(1_000.0, [0.5], [10.0], [0.0], **{**NO_COSTS, "min_commission": 5.0, "fractional": True})
    assert orders == []  # 5.00 of proceeds, 5.00 of commission


def test_sizing_leaves_the_kept_assets_alone():
    orders = plan_orders(0.0, [10.0, 10.0], [100.0, 100.0], [0.0, 1.0], **NO_COSTS, keep={0})
    assert orders == []  # asset 0's sale would have paid for asset 1


def _market() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    idx = pd.bdate_range("2018-01-01", periods=400)
    prices = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (400, 2)), axis=0)), index=idx,
                          columns=["A", "B"])
    dates = rebalance_dates(idx, "monthly")
    w = rng.dirichlet(np.ones(3), len(dates))[:, :2]
    return prices, pd.DataFrame(w, index=dates, columns=prices.columns)


EX = ExecutionConfig(commission_bps=8.0, slippage_bps=15.0, min_commission=30.0)


@pytest.mark.parametrize("engine", [replay, replay_arrays], ids=["backtrader", "array twin"])
def test_every_replayed_fill_costs_what_the_cost_model_says(engine):
    prices, targets = _market()
    trades = engine(prices, targets, EX).trades
    assert len(trades) > 10 and (trades["commission"] == 30.0).any() and (trades["commission"] > 30.0).any()
    for _, t in trades.iterrows():
        unslipped = prices.loc[t["date"], t["symbol"]]  # close-only data: a next-bar fill is at that bar's close
        price, comm = fill_cost(t["size"], unslipped, fraction(15.0), 8.0, 30.0)
        assert t["price"] == pytest.approx(price, rel=1e-12)
        assert t["commission"] == pytest.approx(comm, rel=1e-12)


def test_the_screen_charges_the_cost_models_commission_and_slippage():
    prices, targets = _market()
    trades = replay_arrays(prices, targets, EX).trades
    screened = screen_frames(prices, targets, EX)
    paid = sum(fill_cost(t.size, prices.loc[t.date, t.symbol], fraction(15.0), 8.0, 30.0)[1]
               for t in trades.itertuples())
    assert screened.commission == pytest.approx(paid, rel=1e-12)
    slip = sum(abs(t.size) * prices.loc[t.date, t.symbol] * fraction(15.0) for t in trades.itertuples())
    assert screened.slippage == pytest.approx(slip, rel=1e-12)


@pytest.mark.parametrize("size, price, slippage, bps, minimum", [
    (3.0, 101.37, 0.0005, 5.0, 0.0), (-7.0, 99.91, 0.0012, 8.0, 0.0), (2.0, 50.0, 0.0, 5.0, 9.99),
    (-1e-3, 1234.5, 0.002, 25.0, 1.0), (11.0, 3.3, 0.0, 0.0, 0.0),
])
def test_fill_cost_is_exactly_the_slipped_price_and_its_commission(size, price, slippage, bps, minimum):
    p = slipped_price(price, size, slippage)
    assert fill_cost(size, price, slippage, bps, minimum) == (p, commission(abs(size) * p, bps, minimum))
