"""The one cost model of a fill, read by the backtrader replay, its array twin, both screens and an account's orders.

- a fill of ``size`` shares (signed) at the unslipped ``price`` fills at ``price * (1 +/- slippage)``, against
  the trader, and pays ``max(|size| * fill price * commission_bps / 1e4, min_commission)`` (:func:`fill_cost`);
- bps meet money only here: slippage becomes a fraction in :func:`fraction` (backtrader's broker takes it so),
  commission is charged as bps of the traded value by :func:`commission` -- in the order of operations backtrader
  has always charged it, so the figures recorded in ``tests/golden`` stay the same to the last bit;
- orders are sized so that every one can be paid for: sells first, then buys trimmed to the cash they free,
  whole shares unless fractional, a cash buffer kept aside (:func:`plan_orders`).

The replay, the screens and the ticket must agree fill by fill, so each one calls these functions rather than
restating the arithmetic: a change of rule made here reaches all of them.
"""
from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import TypedDict

import numpy as np
from regimeshift.backtests.config import ExecutionConfig

BPS = 1e4  # basis points per unit


def fraction(bps: float) -> float:
    """A rate in basis points as a fraction (5 bp -> 0.0005)."""
    return bps / BPS


def commission(notional: float, bps: float, minimum: float) -> float:
    """Commission of one order: ``bps`` basis points of its traded value, at least ``minimum``."""
    return max(notional * bps / BPS, minimum)


def slipped_price(price: float, size: float, slippage: float) -> float:
    """The price a fill of ``size`` (buy > 0, sell < 0) gets: ``price`` moved against the trader."""
    return price * (1.0 + slippage) if size > 0 else price * (1.0 - slippage)


def fill_cost(size: float, price: float, slippage: float, commission_bps: float, minimum: float) -> tuple[float, float]:
    """``(fill price, commission)`` of a fill of ``size`` shares (signed) at the unslipped ``price``, ``slippage``
    a fraction; the cash it moves is ``-(size * fill price + commission)``."""
    # slipped_price and commission written out: the screen calls this once per fill, and a sweep screens
    # millions of fills (tests/test_costs.py holds it to the two functions)
    p = price * (1.0 + slippage) if size > 0 else price * (1.0 - slippage)
    comm = abs(size) * p * commission_bps / BPS
    return p, (comm if comm > minimum else minimum)


class SizingRules(TypedDict):
    """The keyword arguments of :func:`plan_orders` that an execution config implies."""

    buffer: float
    slippage: float  # a fraction
    commission_bps: float
    min_commission: float
    fractional: bool


def sizing_rules(execution: ExecutionConfig) -> SizingRules:
    return {
        "buffer": execution.cash_buffer,
        "slippage": fraction(execution.slippage_bps),
        "commission_bps": execution.commission_bps,
        "min_commission": execution.min_commission,
        "fractional": execution.fractional,
    }


def plan_orders(
    cash: float,
    held: Sequence[float],
    prices: Sequence[float],
    targets: Sequence[float] | np.ndarray,
    *,
    buffer: float,
    slippage: float,
    commission_bps: float,
    min_commission: float,
    fractional: bool,
    keep: Collection[int] = (),
) -> list[tuple[int, float]]:
    """Orders ``(asset index, signed size)`` taking the book to ``targets``: sells first, then buys.

    ``prices`` are the unslipped prices the orders will fill at (before slippage); the costs are
    :func:`sizing_rules`'. Target size = value * (1 - buffer) * w / price (floored
    for whole shares); the assets in ``keep`` stay as they are. Then, so that no order can be rejected for cash:

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
        if keep and i in keep:
            continue
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
        px, comm = fill_cost(delta, prices[i], slippage, commission_bps, min_commission)
        notional = -delta * px
        if comm >= notional:
            continue
        avail += notional - comm
        orders.append((i, delta))
    if not buys:
        return orders

    # float headroom: backtrader adds the same numbers in a slightly different order
    avail -= 1e-10 * max(value, 1.0)
    px_buy = {i: prices[i] * (1.0 + slippage) for i, _ in buys}  # slipped_price of a buy

    def cost(i: int, q: float) -> float:
        return q * px_buy[i] + commission(q * px_buy[i], commission_bps, min_commission)

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
                q = _affordable(left, px_buy[i], commission_bps, min_commission, fractional)
                if q <= 0:
                    continue
            left -= cost(i, q)
            buys.append((i, q))
    for i, q in buys:
        if commission(q * px_buy[i], commission_bps, min_commission) >= q * px_buy[i]:
            continue
        orders.append((i, q))
    return orders


def _affordable(cash: float, px: float, bps: float, minimum: float, fractional: bool) -> float:
    """Largest size q with q * px + commission(q * px, bps, minimum) <= cash."""
    if cash <= minimum:
        return 0.0
    q = cash / (px * (1.0 + fraction(bps)))
    if commission(q * px, bps, 0.0) < minimum:
        q = (cash - minimum) / px
    q *= 1.0 - 1e-12
    return q if fractional else float(math.floor(q))
