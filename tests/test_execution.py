"""Execution verified, not assumed: the backtrader replay against pmorissette's ``bt`` and against its own array
twin, cash properties, benchmarks replayed beside the strategy, and the execution metrics of a whole run."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from regimeshift.backtests.benchmarks_beside import (
    benchmark_schedules,
    execution_metrics,
    replay_benchmarks,
)
from regimeshift.backtests.config import ExecutionConfig, config_from_dict
from regimeshift.data.market import MarketData, load_market, load_prices
from regimeshift.backtests.replay import rebalance_dates, replay, replay_arrays
from regimeshift.data.synthetic import generate_market
from regimeshift.core.constants import CASH

from regimeshift.pipeline import replay_stage, run_pipeline
from tests.conftest import REPO, SHARED_DATA, requires_shared, small_synthetic_config

SYMS = ["GROWTH", "VALUE", "BOND"]
# ffn (bt's dependency) calls pd.infer_freq the pandas-3 way pandas 4 will change
pytestmark = pytest.mark.filterwarnings("ignore:A future version of pandas will return a BaseOffset")


def _prices(n: int = 300, seed: int = 0, k: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2015-01-01", periods=n, name="date")
    rets = rng.normal([0.0005, 0.0002, 0.0001][:k], [0.02, 0.012, 0.002][:k], (n, k))
    return pd.DataFrame(100 * np.exp(np.cumsum(rets, axis=0)), index=idx, columns=SYMS[:k])


def _schedule(index: pd.DatetimeIndex, rule: str, seed: int, cash: bool = True) -> pd.DataFrame:
    dates = rebalance_dates(index, rule)
    w = np.random.default_rng(seed).dirichlet(np.ones(4 if cash else 3), len(dates))[:, :3]
    return pd.DataFrame(w, index=dates, columns=SYMS)


# -- against pmorissette's bt ------------------------------------------------------------------------------------
def _run_pmorissette_bt(prices: pd.DataFrame, targets: pd.DataFrame, ex: ExecutionConfig) -> pd.Series:
    """The same schedule in ``bt``, with the replay's execution rules mapped onto bt's model.

    bt trades at the close of the day its algos run. Our next-bar fill on close-only data is the next day's
    close, so each decision is handed to bt on the following trading day. bt has no slippage: a fill at
    p(1 +/- s) with commission c on the slipped notional costs the same cash as a fill at p with a fee of
    |q| p (s + c (1 +/- s)) (min commission applied to the commission part), which is what ``fee`` charges.
    """
    import bt as pmbt  # noqa: PLC0415

    s, c, m = ex.slippage_bps / 1e4, ex.commission_bps / 1e4, ex.min_commission

    def fee(q: float, p: float) -> float:
        if q == 0:
            return 0.0
        side = 1.0 if q > 0 else -1.0
        return s * abs(q) * p + max(c * abs(q) * p * (1 + side * s), m)

    pos = prices.index.get_indexer(targets.index) + 1
    keep = pos < len(prices)
    shifted = targets[keep].copy()
    shifted.index = prices.index[pos[keep]]
    strat = pmbt.Strategy("s", [pmbt.algos.WeighTarget(shifted), pmbt.algos.Rebalance()])
    test = pmbt.Backtest(strat, prices, initial_capital=ex.initial_cash, commissions=fee,
                         integer_positions=not ex.fractional, progress_bar=False)
    pmbt.run(test)
    return test.strategy.values.reindex(prices.index)


def _bt_gap(prices: pd.DataFrame, targets: pd.DataFrame, ex: ExecutionConfig) -> tuple[float, float]:
    ours = replay(prices, targets, ex)
    theirs = _run_pmorissette_bt(prices, targets, ex)
    gap = float((ours.value / theirs - 1.0).abs().max())
    costs = (ours.commission + ours.slippage) / ex.initial_cash
    return gap, costs


def test_equity_agrees_with_pmorissette_bt_exactly_without_costs():
    """Costs off, fractional shares, no cash buffer: both engines hold exactly w * value after every
    rebalance, so the equity curves agree to float precision (observed ~1e-15 relative; tolerance 1e-12)."""
    pytest.importorskip("bt")
    prices = _prices(1500, seed=11)
    ex = ExecutionConfig(commission_bps=0, slippage_bps=0, fractional=True, cash_buffer=0.0)
    gap, _ = _bt_gap(prices, _schedule(prices.index, "monthly", 3), ex)
    assert gap < 1e-12


@pytest.mark.parametrize(
    "ex",
    [
        ExecutionConfig(cash_buffer=0.0, fractional=True),
        ExecutionConfig(cash_buffer=0.0),
        ExecutionConfig(cash_buffer=0.0, commission_bps=10, slippage_bps=10, min_commission=20.0),
    ],
    ids=["fractional", "whole-shares", "min-commission"],
)
def test_equity_agrees_with_pmorissette_bt_with_costs(ex):
    """Costs on, the engines agree within 2e-3 of equity (observed max gap over the path 4.7e-4 .. 8.2e-4 over
    six years of monthly rebalancing, against total costs of 6-12% of initial capital).

    The one modelling difference: bt sizes each buy net of its own costs (it buys a bit less) and sells
    enough to also pay the sale's costs, so its costs come out of the positions; the replay targets
    w * value in shares and pays all costs from cash. The holdings differ by about the costs of one
    rebalance, and that difference earns asset-minus-cash returns until the next one, so the gap stays a
    small fraction (< 2%, checked) of the total costs paid. Whole shares add rounding (< one share per asset
    per rebalance) on both sides.
    """
    pytest.importorskip("bt")
    prices = _prices(1500, seed=11)
    gap, costs = _bt_gap(prices, _schedule(prices.index, "monthly", 3), ex)
    assert gap < 2e-3
    assert gap < 0.02 * costs


@requires_shared
@pytest.mark.realdata
def test_equity_agrees_with_pmorissette_bt_on_real_data_2007_2026():
    """QQQ/DVY/SHY/GLD, monthly, default costs (5 + 5 bp), whole shares, 2007-2026: within 2e-3 of equity
    (observed 6.0e-4 at worst, against total costs of 27% of initial capital), for the reason explained in
    the test above."""
    pytest.importorskip("bt")
    prices = load_prices(SHARED_DATA, ["QQQ", "DVY", "SHY", "GLD"], start="2007-01-01")
    dates = rebalance_dates(prices.index, "monthly")
    w = np.random.default_rng(7).dirichlet(np.ones(5), len(dates))[:, :4]
    targets = pd.DataFrame(w, index=dates, columns=prices.columns)
    gap, costs = _bt_gap(prices, targets, ExecutionConfig(cash_buffer=0.0))
    assert gap < 2e-3
    assert gap < 0.02 * costs


# -- against its own array twin ------------------------------------------------------------------------------------
EXECUTIONS = {
    "default": ExecutionConfig(),
    "fractional": ExecutionConfig(fractional=True),
    "same-bar": ExecutionConfig(timing="same_bar"),
    "min-commission-no-buffer": ExecutionConfig(min_commission=50.0, cash_buffer=0.0, initial_cash=200_000),
    "drift-band-daily": ExecutionConfig(rebalance="daily", drift_band=0.03),
    "weekly-high-costs": ExecutionConfig(rebalance="weekly", commission_bps=30, slippage_bps=30, cash_buffer=0.0),
    "same-bar-band": ExecutionConfig(timing="same_bar", rebalance="daily", drift_band=0.05, fractional=True),
}


@pytest.mark.parametrize("name", list(EXECUTIONS))
@pytest.mark.parametrize("with_opens", [False, True], ids=["close-only", "opens"])
def test_array_replay_reproduces_backtrader_fill_by_fill(name, with_opens):
    ex = EXECUTIONS[name]
    prices = _prices(260, seed=4)
    opens = prices * np.exp(np.random.default_rng(5).normal(0, 0.004, prices.shape)) if with_opens else None
    targets = _schedule(prices.index, ex.rebalance, 6, cash=ex.cash_buffer > 0)
    rate = pd.Series(np.random.default_rng(6).uniform(0, 5, len(prices)) / 100 / 252, index=prices.index)
    forced = prices.index[[40, 41, 150]]
    a = replay(prices, targets, ex, opens, cash_rate=rate, forced=forced)
    b = replay_arrays(prices, targets, ex, opens, cash_rate=rate, forced=forced)
    assert len(a.trades) > 10
    pd.testing.assert_frame_equal(a.trades[["date", "symbol"]], b.trades[["date", "symbol"]])
    np.testing.assert_allclose(a.trades["size"], b.trades["size"], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(a.trades[["price", "commission"]], b.trades[["price", "commission"]], rtol=1e-12)
    np.testing.assert_allclose(a.slippage_costs, b.slippage_costs, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(a.value, b.value, rtol=1e-12)
    np.testing.assert_allclose(a.cash, b.cash, rtol=1e-9, atol=1e-6)
    assert (a.n_orders, a.n_rebalances, a.n_rejected) == (b.n_orders, b.n_rebalances, 0)
    assert a.interest == pytest.approx(b.interest, rel=1e-12)


# -- properties of the replay ------------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    rule=st.sampled_from(["daily", "weekly", "monthly"]),
    bps=st.floats(0, 100),
    slip=st.floats(0, 100),
    min_comm=st.sampled_from([0.0, 5.0, 500.0]),
    buffer=st.sampled_from([0.0, 0.005]),
    fractional=st.booleans(),
    full=st.booleans(),
    timing=st.sampled_from(["next_bar", "same_bar"]),
)
def test_cash_never_goes_negative_and_no_order_is_rejected(seed, rule, bps, slip, min_comm, buffer, fractional, full, timing):
    rng = np.random.default_rng(seed)
    n = 90
    idx = pd.bdate_range("2015-01-01", periods=n, name="date")
    prices = pd.DataFrame(
        rng.uniform(5, 500, 3) * np.exp(np.cumsum(rng.normal(0, 0.04, (n, 3)), axis=0)), index=idx, columns=SYMS
    )
    dates = rebalance_dates(idx, rule)
    w = rng.dirichlet(np.ones(3 if full else 4) * 0.5, len(dates))[:, :3]  # full: every weight sums to 1
    ex = ExecutionConfig(
        commission_bps=bps, slippage_bps=slip, min_commission=min_comm, cash_buffer=buffer,
        fractional=fractional, timing=timing, rebalance=rule, initial_cash=float(rng.choice([20_000, 1_000_000])),
    )
    res = replay(prices, pd.DataFrame(w, index=dates, columns=SYMS), ex)
    assert res.cash.min() >= 0
    assert res.n_rejected == 0


@requires_shared
@pytest.mark.realdata
def test_cash_only_earns_the_lagged_t_bill_rate_on_real_irx():
    """IRX (13-week bill, % p.a.) loaded as macro, lagged one business day by the loader; a strategy holding
    only cash compounds exactly the rate known at each previous close."""
    cfg = config_from_dict({
        "data": {"dir": str(SHARED_DATA), "benchmark": "SPY", "cash_rate": "IRX", "start": "2018-01-01", "end": "2020-12-31"},
        "sleeves": {"growth": {"QQQ": 1.0}, "value": {"DVY": 1.0}, "bonds": {"SHY": 1.0}, "gold": {"GLD": 1.0}},
    })
    assert "IRX" in cfg.data.macro
    market = load_market(SHARED_DATA, cfg.symbols, cfg.data.macro, start=cfg.data.start, end=cfg.data.end)
    weights = pd.DataFrame(0.0, index=market.prices.index, columns=[*cfg.sleeves, CASH])
    weights[CASH] = 1.0
    rep = replay_stage(cfg, market, weights)
    irx = market.macro["IRX"].ffill().fillna(0.0).to_numpy()
    growth = np.cumprod(np.r_[1.0, 1.0 + irx[:-1] / 100 / 252])
    np.testing.assert_allclose(rep.value.to_numpy(), cfg.execution.initial_cash * growth, rtol=1e-12)
    assert 0.03 < rep.value.iloc[-1] / rep.value.iloc[0] - 1 < 0.06  # bills paid ~1.5-2.4% a year in 2018-2020


# -- benchmarks beside -----------------------------------------------------------------------------------------------
def _cfg(**overrides):  # type: ignore[no-untyped-def]
    raw = {
        "data": {"source": "synthetic", "benchmark": "MKT"},
        "sleeves": {"growth": {"G": 1.0}, "value": {"VA": 1.0, "VB": 1.0}, "bonds": {"B": 1.0}},
        "strategy": {"weights": {"abundant": {"growth": 1.0}, "tightening": {"value": 1.0}, "crunch": {"bonds": 1.0}}},
    }
    for k, v in overrides.items():
        raw.setdefault(k, {}).update(v)
    return config_from_dict(raw)


def _market_prices(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(12)
    idx = pd.bdate_range("2016-01-01", periods=n, name="date")
    cols = ["G", "VA", "VB", "B", "MKT"]
    return pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0.0003, 0.012, (n, 5)), axis=0)), index=idx, columns=cols)


def test_benchmark_schedules_buy_hold_sixty_forty_equal_weight():
    idx = _market_prices().index
    s = benchmark_schedules(_cfg(), idx)
    assert list(s["buy_hold"].index) == [idx[0]] and s["buy_hold"].iloc[0].to_dict() == {"MKT": 1.0}
    assert list(s["sixty_forty"].index) == list(rebalance_dates(idx, "monthly"))
    assert s["sixty_forty"].iloc[0].to_dict() == pytest.approx({"MKT": 0.6, "B": 0.4})
    assert s["equal_weight"].iloc[0].to_dict() == pytest.approx({"G": 1 / 3, "VA": 1 / 6, "VB": 1 / 6, "B": 1 / 3})
    assert "no sleeve named 'treasuries'" in benchmark_schedules(_cfg(data={"bond_sleeve": "treasuries"}), idx)["sixty_forty"]


def test_benchmarks_pay_the_same_costs_as_the_strategy_and_match_backtrader():
    prices = _market_prices()
    cfg = _cfg(execution={"commission_bps": 10, "slippage_bps": 10})
    rate = pd.Series(0.02 / 252, index=prices.index)
    beside = replay_benchmarks(cfg, prices, None, rate)
    for name, sched in benchmark_schedules(cfg, prices.index).items():
        if isinstance(sched, str):
            assert name == "static_twin"  # no strategy weights given: no twin to replay
            continue
        ref = replay(prices, sched, cfg.execution, cash_rate=rate)
        np.testing.assert_allclose(beside[name].value, ref.value, rtol=1e-12)
        assert beside[name].commission == pytest.approx(ref.commission, rel=1e-12) and ref.commission > 0
    bh = beside["buy_hold"]
    # bought once on day 1 at the close +10 bp, 10 bp commission; 0.5% buffer earns 2%
    size = bh.trades["size"].iloc[0]
    assert len(bh.trades) == 1 and bh.trades["date"].iloc[0] == prices.index[1]
    assert bh.value.iloc[-1] == pytest.approx(size * prices["MKT"].iloc[-1] + bh.cash.iloc[-1], rel=1e-12)
    # 60/40 is back at 60/40 after each monthly fill
    sf = beside["sixty_forty"]
    held = sf.trades.pivot_table(index="date", columns="symbol", values="size", aggfunc="sum").cumsum()
    for day in held.index[::3]:
        mkt, bond = held.at[day, "MKT"] * prices.at[day, "MKT"], held.at[day, "B"] * prices.at[day, "B"]
        assert mkt / (mkt + bond) == pytest.approx(0.6, abs=1e-3)


# -- a whole run ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_with_options():  # type: ignore[no-untyped-def]
    """Small synthetic run: regime-change rebalancing on top of quarterly checks, a drift band, and cash
    earning a made-up 3% rate series carried as macro."""
    base = small_synthetic_config()
    raw = base.model_dump()
    raw["data"]["cash_rate"] = "RATE"
    raw["execution"].update(rebalance="quarterly", on_regime_change=True, drift_band=0.05)
    cfg = config_from_dict(raw)
    m = generate_market(seed=cfg.seed, years=cfg.data.synthetic_years)
    macro = m.macro.assign(RATE=3.0)
    return cfg, run_pipeline(cfg, market=MarketData(m.prices, macro, None))


def test_metrics_carry_all_benchmarks_with_the_strategy_keys(run_with_options):
    cfg, result = run_with_options
    m = json.loads(json.dumps(result.metrics, default=float))
    assert set(m["benchmarks"]) == {"static_twin", "buy_hold", "sixty_forty", "equal_weight"}
    for b in m["benchmarks"].values():
        assert set(b) == set(m["strategy"])
        assert b["costs_total"] > 0 and b["interest_earned"] > 0
    # the tearsheet's benchmark stays the frictionless buy-and-hold of data.benchmark
    bench = result.market.prices[cfg.data.benchmark].loc[result.returns.index].pct_change().fillna(0.0)
    pd.testing.assert_series_equal(result.returns["benchmark"], bench, check_names=False)
    # the replayed buy-and-hold differs only by the first day (bought at day 1's close), costs, the 0.5% buffer
    assert m["benchmarks"]["buy_hold"]["cagr"] == pytest.approx(m["benchmark"]["cagr"], abs=0.005)


def test_turnover_costs_and_trades_in_metrics(run_with_options):
    cfg, result = run_with_options
    s, rep = result.metrics["strategy"], result.replay
    assert s["n_trades"] == len(rep.trades) > 0
    costs = rep.trades["commission"].sum() + rep.slippage_costs.sum()
    assert s["costs_total"] == pytest.approx(costs)
    gain = rep.value.iloc[-1] - cfg.execution.initial_cash
    assert s["cost_drag"] == pytest.approx(costs / gain) if gain > 0 else math.isnan(s["cost_drag"])
    years = len(rep.value) / 252
    assert s["turnover"] == pytest.approx((rep.trades["size"].abs() * rep.trades["price"]).sum() / rep.value.mean() / years)
    assert s["interest_earned"] > 0 and s["n_rejected_orders"] == 0


def test_every_regime_change_is_traded_on_the_next_bar(run_with_options):
    cfg, result = run_with_options
    regime = result.regimes.regime.loc[result.weights.index]
    idx = regime.index
    changes = idx[1:][regime.to_numpy()[1:] != regime.to_numpy()[:-1]]
    assert len(changes) > 3
    fills = set(result.replay.trades["date"])
    nxt = [idx[idx.get_loc(d) + 1] for d in changes if d != idx[-1]]
    assert all(d in fills for d in nxt)
    # and the band kept the quarterly checks from trading every time: fewer rebalances than candidates
    quarterly = rebalance_dates(idx, "quarterly")
    assert result.replay.n_rebalances <= len(quarterly.union(changes))


def test_on_regime_change_needs_the_regimes():
    cfg = _cfg(execution={"on_regime_change": True})
    prices = _market_prices(30)
    weights = pd.DataFrame(0.0, index=prices.index, columns=[*cfg.sleeves, CASH]).assign(cash=1.0)
    with pytest.raises(Exception, match="on_regime_change"):
        replay_stage(cfg, MarketData(prices, pd.DataFrame(index=prices.index)), weights)


def test_execution_metrics_of_a_cash_only_replay_are_zero_cost():
    prices = _prices(50)
    rep = replay_arrays(prices, _schedule(prices.index, "monthly", 1) * 0.0, ExecutionConfig())
    m = execution_metrics(rep, 1e6)
    assert m["n_trades"] == 0 and m["costs_total"] == 0 and m["turnover"] == 0
    assert math.isnan(m["cost_drag"])  # no gain to share costs with


# -- fills at the next bar's open ----------------------------------------------------------------------------------
def _tiny_ohlc() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Four days, two symbols: closes, opens, and decisions on Monday's and Wednesday's closes."""
    idx = pd.bdate_range("2021-03-01", periods=4, name="date")  # Mon .. Thu
    closes = pd.DataFrame({"A": [10.0, 11.0, 12.0, 13.0], "B": [20.0, 20.0, 20.0, 20.0]}, index=idx)
    opens = pd.DataFrame({"A": [9.5, 10.5, 11.5, 12.5], "B": [19.0, 21.0, 19.0, 21.0]}, index=idx)
    targets = pd.DataFrame({"A": [0.5, 0.0], "B": [0.25, 0.25]}, index=idx[[0, 2]])
    return closes, opens, targets


@pytest.mark.parametrize("engine", [replay, replay_arrays], ids=["backtrader", "arrays"])
def test_with_opens_a_decision_fills_at_the_next_bars_open_moved_by_the_slippage(engine):
    closes, opens, targets = _tiny_ohlc()
    rep = engine(closes, targets, ExecutionConfig(slippage_bps=10), opens)
    fills = rep.trades[["date", "symbol", "size", "price"]].itertuples(index=False)
    got = [(str(d.date()), s, q, p) for d, s, q, p in fills]
    # Monday's decision sized at Tuesday's opens from 995,000 (0.5% cash buffer): A 0.5 -> 47,380 shares at
    # 10.5 + 10 bp, B 0.25 -> 11,845 at 21 + 10 bp. Wednesday's decision sells A at Thursday's open 12.5 - 10 bp
    # and tops B up to floor(0.995 * 1,093,640.27 * 0.25 / 21) = 12,954 shares at 21 + 10 bp.
    assert got == [
        ("2021-03-02", "A", 47380.0, pytest.approx(10.5105, abs=1e-12)),
        ("2021-03-02", "B", 11845.0, pytest.approx(21.021, abs=1e-12)),
        ("2021-03-04", "A", -47380.0, pytest.approx(12.4875, abs=1e-12)),
        ("2021-03-04", "B", 1109.0, pytest.approx(21.021, abs=1e-12)),
    ]
    assert rep.fill_price == "next_open"
    # still marked at the closes: Tuesday = cash left + 47,380 x 11 + 11,845 x 20
    cash = 1e6 - 47380 * 10.5105 * 1.0005 - 11845 * 21.021 * 1.0005  # 5 bp commission on the slipped notional
    assert rep.value.iloc[1] == pytest.approx(cash + 47380 * 11 + 11845 * 20)


@pytest.mark.parametrize(
    ("timing", "opens", "expected"),
    [("next_bar", True, "next_open"), ("next_bar", False, "next_close"), ("same_bar", True, "same_bar_close")],
)
def test_replay_reports_what_the_orders_filled_at(timing, opens, expected):
    closes, open_prices, targets = _tiny_ohlc()
    ex = ExecutionConfig(timing=timing)
    for engine in (replay, replay_arrays):
        assert engine(closes, targets, ex, open_prices if opens else None).fill_price == expected


def _stage_inputs(drop: str | None = None, gap: str | None = None):  # type: ignore[no-untyped-def]
    """(market, weights) for ``_cfg()``: 60 days whose opens are the closes less 1%, everything in growth;
    ``drop`` leaves one symbol's opens out, ``gap`` blanks one of its opens."""
    prices = _market_prices(60).assign(FEATURE_ONLY=50.0)
    opens = (prices * 0.99).drop(columns=["FEATURE_ONLY"])  # a feature-only symbol needs no opens
    if drop:
        opens = opens.drop(columns=[drop])
    if gap:
        opens.iloc[30, opens.columns.get_loc(gap)] = np.nan
    weights = pd.DataFrame(0.0, index=prices.index, columns=[*_cfg().sleeves, CASH]).assign(growth=1.0)
    return MarketData(prices, pd.DataFrame(index=prices.index), opens=opens), weights


def test_replay_stage_fills_at_the_opens_when_every_traded_symbol_has_them():
    market, weights = _stage_inputs()
    rep = replay_stage(_cfg(), market, weights)
    assert rep.fill_price == "next_open"
    assert rep.trades["date"].iloc[0] == market.prices.index[1]
    assert rep.trades["price"].iloc[0] == pytest.approx(market.opens.at[market.prices.index[1], "G"] * 1.0005, rel=1e-12)
    assert all(b.fill_price == "next_open" for b in rep.beside.values())


@pytest.mark.parametrize(("drop", "gap"), [("MKT", None), (None, "B")], ids=["benchmark without opens", "a missing open"])
def test_replay_stage_falls_back_to_the_next_close_unless_every_traded_symbol_has_opens(drop, gap):
    market, weights = _stage_inputs(drop, gap)
    rep = replay_stage(_cfg(), market, weights)
    assert rep.fill_price == "next_close"
    assert rep.trades["price"].iloc[0] == pytest.approx(market.prices.at[market.prices.index[1], "G"] * 1.0005, rel=1e-12)
    assert all(b.fill_price == "next_close" for b in rep.beside.values())


def test_same_bar_timing_ignores_the_opens():
    market, weights = _stage_inputs()
    rep = replay_stage(_cfg(execution={"timing": "same_bar"}), market, weights)
    assert rep.fill_price == "same_bar_close"
    assert rep.trades["price"].iloc[0] == pytest.approx(market.prices.at[market.prices.index[0], "G"] * 1.0005, rel=1e-12)


def test_metrics_say_what_the_orders_filled_at(run_with_options):
    _, result = run_with_options  # synthetic market: closes only
    assert result.metrics["strategy"]["fill_price"] == "next_close"
    assert {b["fill_price"] for b in result.metrics["benchmarks"].values()} == {"next_close"}


# -- the shipped next-open config on the real OHLC files -----------------------------------------------------------
@pytest.fixture(scope="module")
def next_open_run(tmp_path_factory):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner  # noqa: PLC0415

    from regimeshift.cli.app import main  # noqa: PLC0415

    if not (SHARED_DATA / "ohlcv_alphavantage_to_2020" / "SPY.csv").is_file():
        pytest.skip(f"real OHLC data not found at {SHARED_DATA / 'ohlcv_alphavantage_to_2020'}")
    out = tmp_path_factory.mktemp("next_open") / "run"
    res = CliRunner().invoke(
        main, ["run", str(REPO / "backtests/configs/next_open_2020.toml"), "--data-dir", str(SHARED_DATA), "--out", str(out)]
    )
    assert res.exit_code == 0, res.stderr
    return out


def _adjusted_opens_by_hand(symbol: str) -> dict[str, float]:
    """open * adjusted_close / close of every row of an Alpha Vantage file, read without the loader."""
    out = {}
    lines = (SHARED_DATA / "ohlcv_alphavantage_to_2020" / f"{symbol}.csv").read_text().splitlines()
    for line in lines[1:]:
        day, open_, _, _, close, adjusted = line.split(",")[:6]
        out[day] = float(open_) * float(adjusted) / float(close)
    return out


@requires_shared
@pytest.mark.realdata
def test_next_open_config_fills_every_order_at_the_next_days_adjusted_open(next_open_run):
    trades = pd.read_csv(next_open_run / "trades.csv")
    weights = pd.read_csv(next_open_run / "weights.csv", index_col="date", parse_dates=True)
    assert len(trades) > 100
    opens = {s: _adjusted_opens_by_hand(s) for s in trades["symbol"].unique()}
    expected = [opens[s][d] * (1 + np.sign(q) * 5e-4) for d, s, q in zip(trades["date"], trades["symbol"], trades["size"])]
    np.testing.assert_allclose(trades["price"], expected, rtol=1e-9)  # trades.csv keeps 10 significant digits
    # each fill is on the trading day after a monthly decision (the first trading day of a month)
    days = weights.index
    decisions = rebalance_dates(days, "monthly")
    assert set(pd.to_datetime(trades["date"])) == {days[days.get_loc(d) + 1] for d in decisions if d != days[-1]}


@requires_shared
@pytest.mark.realdata
def test_next_open_run_says_it_filled_at_the_open_in_metrics_and_tearsheet(next_open_run):
    m = json.loads((next_open_run / "metrics.json").read_text())
    assert m["strategy"]["fill_price"] == "next_open"
    assert {b["fill_price"] for b in m["benchmarks"].values()} == {"next_open"}
    # the regime model learns from 1999 (history_start), so trading starts with the sleeves in 2005
    assert m["end"] == "2020-12-11" and m["start"] == "2005-01-03"
    assert "<td>Execution</td><td>fills at next bar&#x27;s open (OHLC data), rebalance monthly" in (
        next_open_run / "tearsheet.html"
    ).read_text(encoding="utf-8")


def test_replay_overhead_benchmark_skips_clearly_without_data(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "replay_overhead.py"), "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "SKIPPED - real data not found" in proc.stdout
