"""The screening engine: :func:`replay.replay_arrays`'s rules, stepping from decision to decision.

A sweep evaluates thousands of variants, so the per-bar Python loop of ``replay_arrays`` is the cost to cut.
Between two fills nothing but prices and cash interest moves: the holdings are fixed, so the closes are
marked with one matrix product and the cash compounds with one cumulative product. Python only runs once per
decision (drift-band check, :func:`replay.plan_orders` sizing, fills) -- the very same sizing function and
event order as the backtrader replay and its array twin:

- weights decided on the close of bar d fill at bar d+1 (its open, or its close for close-only data; with
  ``same_bar`` at d's close, booked on bar d+1 like backtrader's cheat-on-close);
- the fills of a bar come before that bar's interest, which is the previous close's cash times the rate known
  then; the value is marked at the close;
- a drift band skips a calendar check unless some held weight (marked at the check's close) is more than the
  band away from target; forced dates (regime changes) and the first decision are never skipped;
- a decision on the last bar has no bar to fill on.

Agreement with ``replay`` (backtrader) is tested in ``tests/test_sweep_screen.py``: relative equity difference
<= 1e-6 with fractional shares; with whole shares the same (the sizing is the same function; only float
summation order differs, which can flip a floor at an exact integer boundary -- the stated bound is 1e-4).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from regimeshift.backtests.config import ExecutionConfig
from regimeshift.backtests.costs import fill_cost, plan_orders, sizing_rules
from regimeshift.backtests.replay import check_inputs, cash_accrual
from regimeshift.backtests.screen_kernel import decide


@dataclass(frozen=True)
class ScreenResult:
    value: np.ndarray  # portfolio value at each close
    cash: np.ndarray
    n_orders: int
    n_rebalances: int
    traded_value: float  # sum of |size| * fill price (slippage included)
    commission: float
    slippage: float
    interest: float


def screen_arrays(
    close: np.ndarray,
    open_: np.ndarray | None,
    positions: np.ndarray,
    weights: np.ndarray,
    execution: ExecutionConfig,
    *,
    accrual: np.ndarray | None = None,
    forced: np.ndarray | None = None,
    decision_prices: tuple[np.ndarray, np.ndarray] | None = None,
    growth: tuple[np.ndarray, np.ndarray] | None = None,
    engine: str = "compiled",
) -> ScreenResult:
    """Replay target ``weights`` (one row per decision bar ``positions``, ascending) over ``close`` (T x K).

    ``open_``: fill prices (T x K) for next-bar timing, ``None`` = fill at the next close. ``accrual``: per-bar
    interest factor (entry t = rate known at close t-1; see ``replay.cash_accrual``). ``forced``: one flag per
    decision that a drift band does not filter. ``decision_prices``: :func:`decision_prices` of these
    arguments when the caller already has them -- a sweep screens every variant (and its static twin) on the
    same decision rows; ``growth``: :func:`cash_growth` of ``accrual``, likewise. ``engine``: ``"compiled"`` (:mod:`screen_kernel`) or ``"python"`` (the reference the
    compiled one is tested against; also what runs on non-finite weights, so they fail as they always have).
    """
    close = np.asarray(close, dtype=float)
    n_bars, k = close.shape
    growth, cum = growth or cash_growth(accrual, n_bars)
    weights = np.asarray(weights, dtype=float)
    positions = np.asarray(positions, dtype=np.int64)
    forced_flags = np.zeros(len(positions), bool) if forced is None else np.asarray(forced, bool)
    sizing = sizing_rules(execution)
    band = -1.0 if execution.drift_band is None else float(execution.drift_band)
    same_bar = execution.timing == "same_bar"
    if engine == "compiled" and np.isfinite(weights).all():
        close_d, fill_d = decision_prices or _decision_prices(close, open_, positions, same_bar)
        targets = np.ascontiguousarray(weights.reshape(len(positions), k))  # one compiled layout, not one per caller
        seg_start, seg_cash, seg_held, n_orders, n_rebalances, traded, commission_paid, slippage_paid = decide(
            positions, close_d, fill_d, cum, growth, targets, forced_flags, band, same_bar,
            float(execution.initial_cash), float(sizing["buffer"]), float(sizing["slippage"]),
            float(sizing["commission_bps"]), float(sizing["min_commission"]), bool(sizing["fractional"]))
    elif engine in ("compiled", "python"):
        seg_start, seg_cash, seg_held, n_orders, n_rebalances, traded, commission_paid, slippage_paid = (
            _decide_python(close, open_, positions, weights, execution, cum.tolist(), growth, forced_flags))
    else:
        raise ValueError(f"engine: expected 'compiled' or 'python', got {engine!r}")

    # every bar of a segment holds the segment's cash (grown by the cash rate) and shares: repeated rows
    starts = np.asarray(seg_start)
    lengths = np.diff(np.append(starts, n_bars))
    cashes = np.repeat(np.asarray(seg_cash), lengths) * (cum / np.repeat(cum[starts], lengths))
    held = np.repeat(np.asarray(seg_held, dtype=float).reshape(len(starts), k), lengths, axis=0)
    values = cashes + np.einsum("tk,tk->t", held, close)
    interest = float(np.sum(cashes[:-1] * (growth[1:] - 1.0))) if n_bars > 1 else 0.0
    return ScreenResult(values, cashes, int(n_orders), int(n_rebalances), float(traded), float(commission_paid),
                        float(slippage_paid), interest)


def cash_growth(accrual: np.ndarray | None, n_bars: int) -> tuple[np.ndarray, np.ndarray]:
    """Each bar's cash growth factor and their running product: cash held from the close of bar a to the close
    of bar t grows by ``cum[t] / cum[a]``."""
    growth = np.ones(n_bars) if accrual is None else 1.0 + np.asarray(accrual, dtype=float)
    return growth, np.cumprod(growth)


def decision_prices(close: np.ndarray, open_: np.ndarray | None, positions: np.ndarray,
                    execution: ExecutionConfig) -> tuple[np.ndarray, np.ndarray]:
    """The closes of the decision bars and the prices their orders fill at, sliced once for every screen on
    the same rows (``screen_arrays``' ``decision_prices``)."""
    return _decision_prices(np.asarray(close, dtype=float), open_, np.asarray(positions, dtype=np.int64),
                            execution.timing == "same_bar")


def _decision_prices(close: np.ndarray, open_: np.ndarray | None, positions: np.ndarray,
                     same_bar: bool) -> tuple[np.ndarray, np.ndarray]:
    close_d = np.ascontiguousarray(close[positions])
    if same_bar:
        return close_d, close_d
    fills = close if open_ is None else np.asarray(open_, dtype=float)
    # a decision on the last bar has no next bar: its row is never read (the walk stops there)
    return close_d, np.ascontiguousarray(fills[np.minimum(positions + 1, len(close) - 1)])


def _decide_python(close: np.ndarray, open_: np.ndarray | None, positions: np.ndarray, weights: np.ndarray,
                   execution: ExecutionConfig, cum: list[float], growth: np.ndarray,
                   forced_flags: np.ndarray) -> tuple[list[int], list[float], list[list[float]], int, int, float,
                                                      float, float]:
    """The walk from decision to decision in Python, calling :func:`costs.plan_orders` itself: the reference
    :func:`screen_kernel.decide` is held to."""
    n_bars, k = close.shape
    sizing = sizing_rules(execution)
    slip, bps, minimum = sizing["slippage"], sizing["commission_bps"], sizing["min_commission"]
    band, same_bar = execution.drift_band, execution.timing == "same_bar"
    seg_start = [0]  # segments: bars from a fill bar (or 0) to the next, holdings fixed
    seg_cash = [float(execution.initial_cash)]  # cash at the close of the segment's first bar
    seg_held: list[list[float]] = [[0.0] * k]
    n_orders = n_rebalances = 0
    traded = commission_paid = slippage_paid = 0.0
    started = False
    close_rows = close.tolist()
    fill_rows = close_rows if open_ is None else np.asarray(open_, dtype=float).tolist()
    held_list = [0.0] * k
    for j in range(len(positions)):
        d = int(positions[j])
        a = seg_start[-1]
        cash = seg_cash[-1] * (cum[d] / cum[a]) if d > a else seg_cash[-1]
        w = weights[j]
        if band is not None and started and not forced_flags[j]:
            row = close_rows[d]
            value = cash + sum(h * p for h, p in zip(held_list, row))
            if value > 0 and all(abs(h * p / value - x) <= band for h, p, x in zip(held_list, row, w.tolist())):
                continue
        started = True
        last = d + 1 >= n_bars
        if last and not same_bar:
            break  # the decision waits for a bar that has not happened
        px = close_rows[d] if same_bar else fill_rows[d + 1]
        n_rebalances += 1
        orders = plan_orders(cash, held_list, px, w.tolist(), **sizing)
        n_orders += len(orders)  # a same-bar decision on the last bar is placed (counted) but never fills
        if last or not orders:
            continue
        # fills on bar d+1, before its interest (cash at the close of d times the rate known then)
        delta = 0.0
        held_list = list(held_list)
        for i, q in orders:
            p, comm = fill_cost(q, px[i], slip, bps, minimum)
            notional = abs(q) * p
            delta -= q * p + comm
            held_list[i] += q
            traded += notional
            commission_paid += comm
            slippage_paid += abs(q) * px[i] * slip
        seg_start.append(d + 1)
        seg_cash.append(cash * float(growth[d + 1]) + delta)
        seg_held.append(held_list)
    return seg_start, seg_cash, seg_held, n_orders, n_rebalances, traded, commission_paid, slippage_paid


def screen_frames(
    prices: pd.DataFrame,
    targets: pd.DataFrame,
    execution: ExecutionConfig,
    opens: pd.DataFrame | None = None,
    *,
    cash_rate: pd.Series | None = None,
    forced: pd.DatetimeIndex | None = None,
) -> ScreenResult:
    """:func:`screen_arrays` with :func:`replay.replay`'s arguments (same checks, same meaning)."""
    prices, opens, positions = check_inputs(prices, targets, opens)
    order = np.argsort(positions, kind="stable")
    forced_flags = None
    if forced is not None:
        forced_flags = targets.index.isin(forced)[order]
    return screen_arrays(
        prices.to_numpy(dtype=float),
        None if opens is None else opens.to_numpy(dtype=float),
        positions[order],
        targets.to_numpy(dtype=float)[order],
        execution,
        accrual=cash_accrual(cash_rate, prices.index),
        forced=forced_flags,
    )
