"""Event-by-event replay of a precomputed target-weight schedule with backtrader.

The regime work is done before the replay: the strategy inside backtrader only reads the target weights for the
current bar, so the per-bar path stays as cheap as a bare backtrader run.

Timing contract (``timing="next_bar"``, the default): weights decided on the close of day t become market orders
that fill on the next bar. The shipped data is close-only, so each feed's open equals its close and "next bar's
open" is the next day's close. ``timing="same_bar"`` fills at the decision bar's close (cheat-on-close); it is
optimistic and the report says so.
"""
from __future__ import annotations

import collections
import collections.abc
import os
import time
from dataclasses import dataclass

import matplotlib

if not os.environ.get("MPLBACKEND"):
    # backtrader's plot module forces TkAgg on import, which fails on a headless machine
    matplotlib.use("Agg")
import matplotlib.pyplot  # noqa: E402,F401  (must be imported before backtrader)

if not hasattr(collections, "Iterable"):
    # backtrader's LineIterator.bindlines still uses the pre-3.10 alias
    collections.Iterable = collections.abc.Iterable  # type: ignore[attr-defined]

import backtrader as bt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from backtests.config import ExecutionConfig  # noqa: E402
from backtests.errors import RegimeshiftError  # noqa: E402


@dataclass(frozen=True)
class ReplayResult:
    value: pd.Series  # portfolio value at each close
    cash: pd.Series
    trades: pd.DataFrame  # date, symbol, size, price, commission (one row per fill)
    n_orders: int
    n_rejected: int
    seconds: float

    @property
    def returns(self) -> pd.Series:
        first = self.value.iloc[0]
        prev = self.value.shift(1)
        prev.iloc[0] = first
        return (self.value / prev - 1.0).rename("strategy")


def rebalance_dates(index: pd.DatetimeIndex, rule: str) -> pd.DatetimeIndex:
    """Decision dates: the first trading day of each period (known without peeking at the calendar ahead)."""
    if rule == "daily":
        return index
    if rule == "weekly":
        key = index.isocalendar().week.to_numpy() + 100 * index.isocalendar().year.to_numpy()
    elif rule == "monthly":
        key = index.year * 12 + index.month
    elif rule == "quarterly":
        key = index.year * 4 + (index.month - 1) // 3
    else:
        raise RegimeshiftError(f"execution.rebalance: unknown rule '{rule}' (daily, weekly, monthly, quarterly)")
    key = np.asarray(key)
    return index[np.r_[True, key[1:] != key[:-1]]]


class BpsCommission(bt.CommInfoBase):
    """Commission as basis points of traded value with an optional minimum per order."""

    params = (
        ("bps", 5.0),
        ("min_per_order", 0.0),
        ("stocklike", True),
        ("commtype", bt.CommInfoBase.COMM_FIXED),
    )

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        if not size:
            return 0.0
        return max(abs(size) * price * self.p.bps / 1e4, self.p.min_per_order)


class _ScheduleFollower(bt.Strategy):
    """Reads the precomputed target weights of the bar, if any, and trades towards them."""

    params = (("schedule", None), ("buffer", 0.0), ("fractional", False), ("same_bar", False), ("slippage", 0.0))

    def __init__(self) -> None:
        self.values: list[float] = []
        self.cashes: list[float] = []
        self.fills: list[tuple] = []
        self.n_orders = 0
        self.n_rejected = 0

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed:
            self.fills.append(
                (
                    bt.num2date(order.executed.dt),
                    order.data._name,
                    order.executed.size,
                    order.executed.price,
                    order.executed.comm,
                )
            )
        elif order.status in (order.Margin, order.Rejected, order.Canceled):
            self.n_rejected += 1

    def next_open(self) -> None:
        # cheat-on-open: runs at bar t+1 before its orders execute, so the order for a decision made on
        # the close of t is sized at the price it will fill at (a notional order), not at a stale close
        if not self.p.same_bar:
            # in next_open len(self) still counts bars up to the previous one, i.e. the decision bar
            targets = self.p.schedule.get(len(self) - 1)
            if targets is not None:
                self._rebalance(targets, [d.open[0] for d in self.datas])

    def next(self) -> None:
        if self.p.same_bar:
            targets = self.p.schedule.get(len(self) - 1)
            if targets is not None:
                self._rebalance(targets, [d.close[0] for d in self.datas])
        self.values.append(self.broker.getvalue())
        self.cashes.append(self.broker.getcash())

    def _rebalance(self, targets: np.ndarray, prices: list[float]) -> None:
        value = self.broker.getcash() + sum(
            self.getposition(d).size * p for d, p in zip(self.datas, prices)
        )
        budget = value * (1.0 - self.p.buffer)
        sells, buys = [], []
        for data, w, price in zip(self.datas, targets, prices):
            want = budget * w / (price * (1.0 + self.p.slippage))
            want = want if self.p.fractional else float(np.floor(want))
            delta = want - self.getposition(data).size
            if abs(delta) < 1e-9:
                continue
            (sells if delta < 0 else buys).append((data, delta))
        # sells first so their proceeds pay for the buys filled on the same bar
        for data, delta in sells + buys:
            self.n_orders += 1
            if delta > 0:
                self.buy(data=data, size=delta)
            else:
                self.sell(data=data, size=-delta)


def replay(prices: pd.DataFrame, targets: pd.DataFrame, execution: ExecutionConfig) -> ReplayResult:
    """Replay ``targets`` (decision date x symbol weights, rows only on decision dates) over ``prices``."""
    t0 = time.perf_counter()
    missing = [s for s in targets.columns if s not in prices.columns]
    if missing:
        raise RegimeshiftError(f"replay: no prices for {', '.join(missing)}")
    prices = prices[list(targets.columns)]
    positions = prices.index.get_indexer(targets.index)
    if (positions < 0).any():
        raise RegimeshiftError(f"replay: decision date {targets.index[positions < 0][0].date()} is not a trading day")
    schedule = {int(p): row for p, row in zip(positions, targets.to_numpy(dtype=float))}

    same_bar = execution.timing == "same_bar"
    cerebro = bt.Cerebro(stdstats=False, maxcpus=1, cheat_on_open=not same_bar)
    for sym in prices.columns:
        px = prices[sym].astype(float)
        frame = pd.DataFrame({"open": px, "high": px, "low": px, "close": px, "volume": 0.0})
        cerebro.adddata(bt.feeds.PandasData(dataname=frame, openinterest=None), name=sym)
    broker = cerebro.broker
    broker.setcash(execution.initial_cash)
    # a sell's proceeds only exist once it fills, so judge cash at execution, not at submission
    broker.set_checksubmit(False)
    broker.addcommissioninfo(
        BpsCommission(bps=execution.commission_bps, min_per_order=execution.min_commission)
    )
    if execution.slippage_bps:
        # slip_out: close-only bars have high == low == close, so without it slippage would be clipped to zero
        broker.set_slippage_perc(execution.slippage_bps / 1e4, slip_open=True, slip_match=True, slip_out=True)
    if same_bar:
        broker.set_coc(True)
    cerebro.addstrategy(
        _ScheduleFollower,
        schedule=schedule,
        buffer=execution.cash_buffer,
        fractional=execution.fractional,
        same_bar=same_bar,
        slippage=execution.slippage_bps / 1e4,
    )
    strat = cerebro.run()[0]

    idx = prices.index[: len(strat.values)]
    trades = pd.DataFrame(strat.fills, columns=["date", "symbol", "size", "price", "commission"])
    trades["date"] = pd.to_datetime(trades["date"]).dt.normalize()
    return ReplayResult(
        value=pd.Series(strat.values, index=idx, name="value"),
        cash=pd.Series(strat.cashes, index=idx, name="cash"),
        trades=trades,
        n_orders=strat.n_orders,
        n_rejected=strat.n_rejected,
        seconds=time.perf_counter() - t0,
    )
