"""Order sizing shared by the backtrader replay and its array twin: commission- and slippage-aware, sells before
buys, whole or fractional shares."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def _commission(notional: float, rate: float, minimum: float) -> float:
    return max(notional * rate, minimum)


def plan_orders(
    cash: float,
    held: Sequence[float],
    prices: Sequence[float],
    targets: Sequence[float] | np.ndarray,
    *,
    buffer: float,
    slippage: float,
    commission: float,
    min_commission: float,
    fractional: bool,
) -> list[tuple[int, float]]:
    """Orders ``(asset index, signed size)`` taking the book to ``targets``: sells first, then buys.

    ``prices`` are the unslipped prices the orders will fill at (before slippage), ``commission`` and
    ``slippage`` are fractions (bps / 1e4). Target size = value * (1 - buffer) * w / price (floored for whole
    shares). Then, so that no order can be rejected for cash:

    - a sell whose commission would be >= its proceeds is skipped (a sliver is cheaper to keep);
    - buys are paid from cash plus the sells' net proceeds: if they cost more (slippage and commission
      included), all buys are scaled down by the same factor, then trimmed in order to what is left
      (min commission included); a buy whose commission would be >= its notional is dropped.
    """
    k = len(prices)
    value = cash + sum(h * p for h, p in zip(held, prices))
    budget = value * (1.0 - buffer)
    sells: list[tuple[int, float]] = []
    buys: list[tuple[int, float]] = []
    for i in range(k):
        want = budget * targets[i] / prices[i]
        if not fractional:
            want = float(math.floor(want + 1e-9))
        delta = want - held[i]
        if abs(delta) < 1e-9:
            continue
        (sells if delta < 0 else buys).append((i, delta))

    avail = cash
    orders: list[tuple[int, float]] = []
    for i, delta in sells:
        px = prices[i] * (1.0 - slippage)
        notional = -delta * px
        comm = _commission(notional, commission, min_commission)
        if comm >= notional:
            continue
        avail += notional - comm
        orders.append((i, delta))
    if not buys:
        return orders

    # float headroom: backtrader adds the same numbers in a slightly different order
    avail -= 1e-10 * max(value, 1.0)
    px_buy = {i: prices[i] * (1.0 + slippage) for i, _ in buys}

    def cost(i: int, q: float) -> float:
        return q * px_buy[i] + _commission(q * px_buy[i], commission, min_commission)

    total = sum(cost(i, q) for i, q in buys)
    if total > avail:
        factor = max(avail, 0.0) / total
        scaled = [(i, q * factor if fractional else float(math.floor(q * factor))) for i, q in buys]
        buys = []
        left = avail
        for i, q in scaled:
            if q <= 0:
                continue
            if cost(i, q) > left:
                q = _affordable(left, px_buy[i], commission, min_commission, fractional)
                if q <= 0:
                    continue
            left -= cost(i, q)
            buys.append((i, q))
    for i, q in buys:
        if _commission(q * px_buy[i], commission, min_commission) >= q * px_buy[i]:
            continue
        orders.append((i, q))
    return orders


def _affordable(cash: float, px: float, rate: float, minimum: float, fractional: bool) -> float:
    """Largest size q with q * px + max(q * px * rate, minimum) <= cash."""
    if cash <= minimum:
        return 0.0
    q = cash / (px * (1.0 + rate))
    if q * px * rate < minimum:
        q = (cash - minimum) / px
    q *= 1.0 - 1e-12
    return q if fractional else float(math.floor(q))


