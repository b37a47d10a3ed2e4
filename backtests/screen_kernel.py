"""The screen's per-decision work, compiled: :func:`costs.plan_orders` sizing, the drift band and the fills.

A sweep screens every variant (and its static twin) over ~250 decisions; in Python the sizing alone was half
of a screen. These kernels are :mod:`regimeshift.backtests.costs`' rules restated for numba -- that module stays
the one definition of the cost model (commission bps with a minimum, slippage against the trader, cash
buffer, whole shares, sells before buys, buys scaled and trimmed to the cash they can use): every operation
here is written in the same order on the same float64 values, so the orders are the Python ones to the last
bit on one machine (``tests/test_screen_kernel.py`` compares both on random books with hypothesis, and the
screen against the backtrader replay). A change of rule in ``costs.py`` must be made here too; that test fails
until it is.

The kernels read only the decision rows: the caller slices the closes and fill prices of those rows once.
Targets are per-asset weights at the decision rows, whatever produced them (a sleeve blend, member weights).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from regimeshift.backtests.costs import BPS

_TINY = 1e-9  # costs.plan_orders: a size change below this is no order, and floor() forgives this much
_HEADROOM = 1e-10  # costs.plan_orders: float headroom kept back from the buys' cash


@njit(cache=True)
def _commission(notional: float, bps: float, minimum: float) -> float:  # pragma: no cover - compiled
    c = notional * bps / BPS
    return c if c >= minimum else minimum  # max(c, minimum), first argument on ties as Python's max


@njit(cache=True)
def _affordable(cash: float, px: float, bps: float, minimum: float, fractional: bool) -> float:  # pragma: no cover
    if cash <= minimum:
        return 0.0
    q = cash / (px * (1.0 + bps / BPS))
    if _commission(q * px, bps, 0.0) < minimum:
        q = (cash - minimum) / px
    q *= 1.0 - 1e-12
    return q if fractional else np.floor(q)


@njit(cache=True)
def plan_into(cash: float, held: np.ndarray, prices: np.ndarray, targets: np.ndarray, buffer: float,
              slippage: float, bps: float, minimum: float, fractional: bool,
              out_asset: np.ndarray, out_size: np.ndarray) -> int:  # pragma: no cover - compiled
    """``costs.plan_orders`` (without ``keep``): writes the orders into ``out_asset``/``out_size`` (length K,
    sells then buys) and returns how many there are."""
    k = prices.shape[0]
    s = 0.0
    for i in range(k):
        s += held[i] * prices[i]
    value = cash + s
    budget = value * (1.0 - buffer)
    sell_i = np.empty(k, np.int64)
    sell_q = np.empty(k)
    buy_i = np.empty(k, np.int64)
    buy_q = np.empty(k)
    n_sell = n_buy = 0
    for i in range(k):
        want = budget * targets[i] / prices[i]
        if not fractional:
            want = np.floor(want + _TINY)
        delta = want - held[i]
        if abs(delta) < _TINY:
            continue
        if delta < 0:
            sell_i[n_sell] = i
            sell_q[n_sell] = delta
            n_sell += 1
        else:
            buy_i[n_buy] = i
            buy_q[n_buy] = delta
            n_buy += 1

    avail = cash
    n = 0
    for j in range(n_sell):
        i, delta = sell_i[j], sell_q[j]
        px = prices[i] * (1.0 - slippage)  # costs.fill_cost of a sell
        comm = abs(delta) * px * bps / BPS
        if not comm > minimum:
            comm = minimum
        notional = -delta * px
        if comm >= notional:
            continue
        avail += notional - comm
        out_asset[n] = i
        out_size[n] = delta
        n += 1
    if n_buy == 0:
        return n

    avail -= _HEADROOM * max(value, 1.0)
    total = 0.0
    for j in range(n_buy):
        pb = prices[buy_i[j]] * (1.0 + slippage)
        total += buy_q[j] * pb + _commission(buy_q[j] * pb, bps, minimum)
    if total > avail:
        factor = (avail if not 0.0 > avail else 0.0) / total  # max(avail, 0.0)
        left = avail
        m = 0
        for j in range(n_buy):
            i = buy_i[j]
            q = buy_q[j] * factor if fractional else np.floor(buy_q[j] * factor)
            if q <= 0:
                continue
            pb = prices[i] * (1.0 + slippage)
            if q * pb + _commission(q * pb, bps, minimum) > left:
                q = _affordable(left, pb, bps, minimum, fractional)
                if q <= 0:
                    continue
            left -= q * pb + _commission(q * pb, bps, minimum)
            buy_i[m] = i
            buy_q[m] = q
            m += 1
        n_buy = m
    for j in range(n_buy):
        pb = prices[buy_i[j]] * (1.0 + slippage)
        if _commission(buy_q[j] * pb, bps, minimum) >= buy_q[j] * pb:
            continue
        out_asset[n] = buy_i[j]
        out_size[n] = buy_q[j]
        n += 1
    return n


@njit(cache=True)
def decide(positions: np.ndarray, close_d: np.ndarray, fill_d: np.ndarray, cum: np.ndarray, growth: np.ndarray,
           targets: np.ndarray, forced: np.ndarray, band: float, same_bar: bool, initial_cash: float,
           buffer: float, slippage: float, bps: float, minimum: float, fractional: bool):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """The screen's walk from decision to decision (``screen.screen_arrays`` states the rules).

    ``close_d[j]`` / ``fill_d[j]``: the closes of decision bar ``positions[j]`` and the prices its orders fill
    at (the next bar's, or its own close with ``same_bar``); ``cum``/``growth``: the cash growth of every bar
    (only the decision bars' are read). ``band`` < 0: no drift band. Returns the segments (first bar, cash at
    its close, holdings) and the counts and cost totals."""
    n_bars = cum.shape[0]
    n_dec, k = targets.shape
    seg_start = np.empty(n_dec + 1, np.int64)
    seg_cash = np.empty(n_dec + 1)
    seg_held = np.zeros((n_dec + 1, k))
    seg_start[0] = 0
    seg_cash[0] = initial_cash
    n_seg = 1
    held = np.zeros(k)
    out_asset = np.empty(k, np.int64)
    out_size = np.empty(k)
    n_orders = n_rebalances = 0
    traded = commission_paid = slippage_paid = 0.0
    started = False
    for j in range(n_dec):
        d = positions[j]
        a = seg_start[n_seg - 1]
        cash = seg_cash[n_seg - 1] * (cum[d] / cum[a]) if d > a else seg_cash[n_seg - 1]
        w = targets[j]
        if band >= 0.0 and started and not forced[j]:
            row = close_d[j]
            s = 0.0
            for i in range(k):
                s += held[i] * row[i]
            value = cash + s
            if value > 0:
                inside = True
                for i in range(k):
                    if not abs(held[i] * row[i] / value - w[i]) <= band:
                        inside = False
                        break
                if inside:
                    continue
        started = True
        last = d + 1 >= n_bars
        if last and not same_bar:
            break  # the decision waits for a bar that has not happened
        px = close_d[j] if same_bar else fill_d[j]
        n_rebalances += 1
        n = plan_into(cash, held, px, w, buffer, slippage, bps, minimum, fractional, out_asset, out_size)
        n_orders += n  # a same-bar decision on the last bar is placed (counted) but never fills
        if last or n == 0:
            continue
        delta = 0.0
        for o in range(n):
            i, q = out_asset[o], out_size[o]
            p = px[i] * (1.0 + slippage) if q > 0 else px[i] * (1.0 - slippage)  # costs.fill_cost
            comm = abs(q) * p * bps / BPS
            if not comm > minimum:
                comm = minimum
            delta -= q * p + comm
            held[i] += q
            traded += abs(q) * p
            commission_paid += comm
            slippage_paid += abs(q) * px[i] * slippage
        seg_start[n_seg] = d + 1
        seg_cash[n_seg] = cash * growth[d + 1] + delta
        seg_held[n_seg] = held
        n_seg += 1
    return (seg_start[:n_seg], seg_cash[:n_seg], seg_held[:n_seg], n_orders, n_rebalances, traded,
            commission_paid, slippage_paid)


def plan_orders_compiled(cash: float, held: np.ndarray, prices: np.ndarray, targets: np.ndarray, *, buffer: float,
                         slippage: float, commission_bps: float, min_commission: float,
                         fractional: bool) -> list[tuple[int, float]]:
    """:func:`plan_into` with :func:`costs.plan_orders`' arguments and result (for tests and callers in Python)."""
    k = len(prices)
    out_asset = np.empty(k, np.int64)
    out_size = np.empty(k)
    n = plan_into(float(cash), np.asarray(held, float), np.asarray(prices, float), np.asarray(targets, float),
                  float(buffer), float(slippage), float(commission_bps), float(min_commission), bool(fractional),
                  out_asset, out_size)
    return [(int(out_asset[o]), float(out_size[o])) for o in range(n)]


def warm() -> None:
    """Load the compiled kernels (numba's on-disk cache, ~1 s) in this process: a sweep calls it before its
    workers fork, so each of them inherits them instead of loading them again."""
    one = np.ones((2, 1))
    decide(np.zeros(1, np.int64), one, one, np.ones(2), np.ones(2), np.full((1, 1), 0.5), np.zeros(1, np.bool_),
           -1.0, False, 1.0, 0.0, 0.0, 0.0, 0.0, True)
