"""Event-by-event replay of a precomputed target-weight schedule with backtrader.

The regime work is done before the replay: the strategy inside backtrader only looks up the target weights of
the current bar (and, with a drift band, marks its holdings), so the per-bar path stays as cheap as a bare
backtrader run that submits the same orders (``benchmarks/replay_overhead.py`` measures the ratio).

Timing contract (``timing="next_bar"``, the default): weights decided on the close of day t become market
orders that fill at the next bar's open. When only closes exist (the shipped data) each feed's open equals
its close, so "next bar's open" is the next day's close; pass ``opens`` to fill at real opens (the loader
provides them for OHLC files; ``ReplayResult.fill_price`` records which applied). Orders are
sized at the price they will fill at (cheat-on-open sizing, decided at t, priced at t+1's open).
``timing="same_bar"`` fills at the decision bar's close (cheat-on-close); it is optimistic and the report
says so.

Costs: commission in bps of traded value with a minimum per order, slippage in bps moving every fill against
the trader, whole or fractional shares. Sizing is commission- and slippage-aware (:func:`plan_orders`):
sells are sent before buys and buys are trimmed so that they can always be paid for, so no order is ever
rejected for cash and cash never goes negative. Rejected and partially filled orders are still counted.

Cash earns ``cash_rate`` (fraction per bar, e.g. T-bill % p.a. / 100 / 252, the rate known at the previous
close): each bar credits ``cash at the previous close * rate of the previous close`` before the close is
marked.

:func:`replay_arrays` is an exact array re-implementation of the same rules (same sizing function, same event
order) without backtrader: about 100x faster, used for the benchmarks reported beside every backtest and
checked against backtrader fill by fill in ``tests/test_execution.py``.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from regimeshift.backtests.config import ExecutionConfig
# re-exported: the cost model both replays share, where callers have always found it
from regimeshift.backtests.costs import SizingRules, fill_cost, fraction, plan_orders, sizing_rules  # noqa: F401
from regimeshift.core.errors import RegimeshiftError

TRADE_COLUMNS = ["date", "symbol", "size", "price", "commission"]  # trades.csv: a contract other tools read


@dataclass(frozen=True)
class ReplayResult:
    value: pd.Series  # portfolio value at each close
    cash: pd.Series
    trades: pd.DataFrame  # one row per fill: date, symbol, size (signed), price (slippage included), commission
    n_orders: int
    n_rejected: int  # margin / rejected / cancelled orders
    seconds: float
    n_partial: int = 0  # orders that filled in more than one piece
    interest: float = 0.0  # interest credited on cash
    n_rebalances: int = 0  # decisions that were acted on (a drift band skips some calendar checks)
    # benchmark replays beside the strategy (same execution); a string says why one was skipped
    beside: Mapping[str, ReplayResult | str] = field(default_factory=dict)
    slippage_rate: float = 0.0  # fraction of the price every fill moved against the trader
    fill_price: str = "next_close"  # "next_open", "next_close" or "same_bar_close": what the orders filled at
    # the book after the last bar (shares per symbol), and the target weights decided on the last close that
    # wait for a bar that has not happened yet (None: nothing pending) -- what a live run trades next
    holdings: pd.Series | None = None
    pending: pd.Series | None = None

    @property
    def returns(self) -> pd.Series:
        first = self.value.iloc[0]
        prev = self.value.shift(1)
        prev.iloc[0] = first
        return (self.value / prev - 1.0).rename("strategy")

    @property
    def commission(self) -> float:
        return float(self.trades["commission"].sum()) if len(self.trades) else 0.0

    @property
    def slippage_costs(self) -> pd.Series:
        """Slippage cost of each fill in currency: |size| * |price - unslipped price|."""
        size = self.trades["size"].to_numpy(dtype=float)
        price = self.trades["price"].to_numpy(dtype=float)
        unslipped = price / (1.0 + np.sign(size) * self.slippage_rate)
        return pd.Series(np.abs(size) * np.abs(price - unslipped), index=self.trades.index, name="slippage")

    @property
    def slippage(self) -> float:
        return float(self.slippage_costs.sum()) if len(self.trades) else 0.0

    @property
    def traded_value(self) -> float:
        return float((self.trades["size"].abs() * self.trades["price"]).sum()) if len(self.trades) else 0.0


# -- decision dates -------------------------------------------------------------------------------------------
def rebalance_dates(index: pd.DatetimeIndex, rule: str) -> pd.DatetimeIndex:
    """Calendar check dates: the first trading day of each period (known without peeking at the calendar
    ahead); ``never`` is the first day only (the initial allocation)."""
    if rule == "daily":
        return index
    if rule == "never":
        return index[:1]
    if rule == "weekly":
        iso = index.isocalendar()
        key = iso.week.to_numpy() + 100 * iso.year.to_numpy()
    elif rule == "monthly":
        key = index.year * 12 + index.month
    elif rule == "quarterly":
        key = index.year * 4 + (index.month - 1) // 3
    else:
        raise RegimeshiftError(
            f"execution.rebalance: unknown rule '{rule}' (daily, weekly, monthly, quarterly, never)"
        )
    key = np.asarray(key)
    return index[np.r_[True, key[1:] != key[:-1]]] if len(index) else index


def regime_change_dates(regime: pd.Series) -> pd.DatetimeIndex:
    """Days whose most probable regime differs from the previous day's.

    This is exactly "differs from the regime at the last rebalance" when every such day triggers a
    rebalance: after a regime-change rebalance the held label equals the current one until it changes again,
    and a calendar rebalance in between sets it to the same label.
    """
    lab = regime.astype(object).to_numpy()
    changed = np.r_[False, lab[1:] != lab[:-1]]
    return pd.DatetimeIndex(regime.index[changed])


def decision_dates(
    index: pd.DatetimeIndex, rule: str, regime: pd.Series | None = None
) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """(candidate decision dates, forced dates): calendar checks plus regime changes (when ``regime`` is
    given); forced dates are the regime changes, which a drift band does not filter."""
    calendar = rebalance_dates(index, rule)
    if regime is None:
        return calendar, index[:0]
    forced = regime_change_dates(regime.reindex(index))
    return calendar.union(forced), forced


def check_inputs(
    prices: pd.DataFrame, targets: pd.DataFrame, opens: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame | None, np.ndarray]:
    missing = [s for s in targets.columns if s not in prices.columns]
    if missing:
        raise RegimeshiftError(f"replay: no prices for {', '.join(map(str, missing))}")
    prices = prices[list(targets.columns)]
    if opens is not None:
        missing = [s for s in targets.columns if s not in opens.columns]
        if missing:
            raise RegimeshiftError(f"replay: no opens for {', '.join(map(str, missing))}")
        opens = opens[list(targets.columns)].reindex(prices.index)
        if opens.isna().any().any():
            raise RegimeshiftError("replay: opens must cover every price date (or pass opens=None)")
    positions = prices.index.get_indexer(targets.index)
    if (positions < 0).any():
        raise RegimeshiftError(f"replay: decision date {targets.index[positions < 0][0].date()} is not a trading day")
    return prices, opens, positions


def cash_accrual(cash_rate: pd.Series | None, index: pd.DatetimeIndex) -> np.ndarray | None:
    """Per-bar interest factor: entry t = rate known at close t-1 (``cash_rate`` is a fraction per bar)."""
    if cash_rate is None:
        return None
    r = pd.Series(cash_rate, dtype=float).reindex(index).ffill().fillna(0.0).to_numpy()
    return np.r_[0.0, r[:-1]]


def fill_price(execution: ExecutionConfig, opens: pd.DataFrame | None) -> str:
    """What orders fill at: the next bar's open or close, or (optimistic) the decision bar's close."""
    if execution.timing == "same_bar":
        return "same_bar_close"
    return "next_close" if opens is None else "next_open"


def _trades_frame(fills: list[tuple], dates: pd.DatetimeIndex | None = None) -> pd.DataFrame:
    trades = pd.DataFrame(fills, columns=TRADE_COLUMNS)
    if dates is None:  # backtrader's float day numbers
        from regimeshift.backtests.bt_engine import bt

        trades["date"] = pd.to_datetime([bt.num2date(d) for d in trades["date"]]).normalize()
    else:
        trades["date"] = dates[trades["date"].to_numpy(dtype=int)] if len(trades) else pd.DatetimeIndex([])
    trades["date"] = pd.to_datetime(trades["date"])
    trades["size"] = trades["size"].astype(float)
    return trades


def replay(
    prices: pd.DataFrame,
    targets: pd.DataFrame,
    execution: ExecutionConfig,
    opens: pd.DataFrame | None = None,
    *,
    cash_rate: pd.Series | None = None,
    forced: pd.DatetimeIndex | None = None,
    cost_aware: bool = True,
    filler: object | None = None,
) -> ReplayResult:
    """Replay ``targets`` (decision date x symbol weights, rows only on decision dates) over ``prices``.

    ``opens``: optional open prices (same dates and symbols); without them open = close. ``cash_rate``: a
    per-bar interest rate as a fraction (T-bill % p.a. / 100 / 252) known at each close. ``forced``: decision
    dates that ``execution.drift_band`` does not filter. ``cost_aware=False`` (tests) sizes naively from
    value without regard to costs; ``filler`` (tests) is a backtrader volume filler for partial fills.
    """
    # backtrader (and the global state it needs) only when a replay actually runs
    from regimeshift.backtests.bt_engine import BpsCommission, LongOnlyBroker, ScheduleFollower, bt
    from regimeshift.backtests.bt_feed import day_numbers, list_feed  # PandasData read from lists: same values

    t0 = time.perf_counter()
    prices, opens, positions = check_inputs(prices, targets, opens)
    schedule = {int(p): row for p, row in zip(positions, targets.to_numpy(dtype=float))}
    forced_pos = frozenset(int(p) for p in prices.index.get_indexer(forced) if p >= 0) if forced is not None else frozenset()

    same_bar = execution.timing == "same_bar"
    cerebro = bt.Cerebro(stdstats=False, maxcpus=1, cheat_on_open=not same_bar)
    cerebro.broker = LongOnlyBroker()  # BackBroker without its two no-op loops per bar (bt_engine.py)
    dates, feed = day_numbers(prices.index), list_feed()
    for sym in prices.columns:
        close = prices[sym].astype(float)
        op = close if opens is None else opens[sym].astype(float)
        frame = pd.DataFrame(
            {"open": op, "high": np.maximum(op, close), "low": np.minimum(op, close), "close": close, "volume": 0.0}
        )
        cerebro.adddata(feed(dataname=frame, openinterest=None, dates=dates), name=sym)
    broker = cerebro.broker
    broker.setcash(execution.initial_cash)
    # a sell's proceeds only exist once it fills, so judge cash at execution, not at submission
    broker.set_checksubmit(False)
    broker.addcommissioninfo(BpsCommission(bps=execution.commission_bps, min_per_order=execution.min_commission))
    if execution.slippage_bps:
        # slip_out: close-only bars have high == low == close, so without it slippage would be clipped to zero
        broker.set_slippage_perc(fraction(execution.slippage_bps), slip_open=True, slip_match=True, slip_out=True)
    if same_bar:
        broker.set_coc(True)
    if filler is not None:
        broker.set_filler(filler)
    cerebro.addstrategy(
        ScheduleFollower,
        schedule=schedule,
        forced=forced_pos,
        band=execution.drift_band,
        accrual=cash_accrual(cash_rate, prices.index),
        same_bar=same_bar,
        sizing=sizing_rules(execution) if cost_aware else None,
    )
    strat = cerebro.run()[0]

    idx = prices.index[: len(strat.values)]
    holdings = pd.Series([strat.getposition(d).size for d in strat.datas], index=prices.columns, name="shares",
                         dtype="float64")
    # a decision on the last bar has no later bar to fill on, whatever the timing (backtrader books even a
    # cheat-on-close order on the next bar's cycle)
    last = strat.last_decision
    pending = None
    if last is not None and last[0] == len(strat.values) - 1:
        pending = pd.Series(last[1], index=prices.columns, name="target")
    return ReplayResult(
        value=pd.Series(strat.values, index=idx, name="value"),
        cash=pd.Series(strat.cashes, index=idx, name="cash"),
        trades=_trades_frame(strat.fills),
        n_orders=strat.n_orders,
        n_rejected=strat.n_rejected,
        seconds=time.perf_counter() - t0,
        n_partial=len(strat.partial),
        interest=strat.interest,
        n_rebalances=strat.n_rebalances,
        slippage_rate=fraction(execution.slippage_bps),
        fill_price=fill_price(execution, opens),
        holdings=holdings,
        pending=pending,
    )


# -- the same rules without backtrader --------------------------------------------------------------------------
def replay_arrays(
    prices: pd.DataFrame,
    targets: pd.DataFrame,
    execution: ExecutionConfig,
    opens: pd.DataFrame | None = None,
    *,
    cash_rate: pd.Series | None = None,
    forced: pd.DatetimeIndex | None = None,
) -> ReplayResult:
    """:func:`replay` without backtrader: the same sizing (:func:`plan_orders`), fills, costs, interest, drift
    band and event order, in a plain loop over bars (~100x faster). Agrees with :func:`replay` fill by fill;
    the only differences are float rounding in the order cash is summed (~1e-12 relative)."""
    t0 = time.perf_counter()
    prices, opens, positions = check_inputs(prices, targets, opens)
    schedule = {int(p): [float(x) for x in row] for p, row in zip(positions, targets.to_numpy(dtype=float))}
    forced_pos = set(int(p) for p in prices.index.get_indexer(forced) if p >= 0) if forced is not None else set()
    close = prices.to_numpy(dtype=float).tolist()
    open_ = close if opens is None else opens.to_numpy(dtype=float).tolist()
    accrual = cash_accrual(cash_rate, prices.index)
    acc = accrual.tolist() if accrual is not None else None
    sizing = sizing_rules(execution)
    slip, bps, minimum = sizing["slippage"], sizing["commission_bps"], sizing["min_commission"]
    band, same_bar = execution.drift_band, execution.timing == "same_bar"

    k = prices.shape[1]
    cash, held = float(execution.initial_cash), [0.0] * k
    values, cashes, fills = [], [], []
    pending: list[float] | None = None  # next_bar: targets decided at the previous close
    coc: list[tuple[int, float]] = []  # same_bar: orders placed at the previous close
    coc_px: list[float] = []
    last_cash, interest, n_orders, n_rebalances = cash, 0.0, 0, 0
    started = False

    def fill(t: int, i: int, q: float, px: float) -> None:
        nonlocal cash
        p, comm = fill_cost(q, px, slip, bps, minimum)
        cash -= q * p + comm
        held[i] += q
        fills.append((t, i, q, p, comm))

    for t in range(len(close)):
        if pending is not None:
            n_rebalances += 1
            orders = plan_orders(cash, held, open_[t], pending, **sizing)
            n_orders += len(orders)
            for i, q in orders:
                fill(t, i, q, open_[t][i])
            pending = None
        if coc_px:
            for i, q in coc:
                fill(t - 1, i, q, coc_px[i])
            coc, coc_px = [], []
        if acc is not None and t:
            x = last_cash * acc[t]
            cash += x
            interest += x
        row = close[t]
        value = cash + sum(h * p for h, p in zip(held, row))
        values.append(value)
        cashes.append(cash)
        last_cash = cash
        w = schedule.get(t)
        if w is None:
            continue
        if band is not None and started and t not in forced_pos and value > 0:
            if all(abs(h * p / value - x) <= band for h, p, x in zip(held, row, w)):
                continue
        started = True
        if same_bar:
            n_rebalances += 1
            coc = plan_orders(cash, held, row, w, **sizing)
            coc_px = row
            n_orders += len(coc)
        else:
            pending = w

    idx = prices.index
    trades = _trades_frame([(t, prices.columns[i], q, p, c) for t, i, q, p, c in fills], dates=idx)
    return ReplayResult(
        value=pd.Series(values, index=idx, name="value"),
        cash=pd.Series(cashes, index=idx, name="cash"),
        trades=trades,
        n_orders=n_orders,
        n_rejected=0,
        seconds=time.perf_counter() - t0,
        n_partial=0,
        interest=interest,
        n_rebalances=n_rebalances,
        slippage_rate=slip,
        fill_price=fill_price(execution, opens),
    )
