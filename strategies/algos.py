"""Tiny composable allocation steps, in the spirit of bt's algos.

Each algo takes the current target-weight frame (date x sleeve, cash included) and the context, and returns a
new frame. A strategy is a list of algos run in order. All steps are vectorised over dates and causal.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from backtests.config import CASH
from strategies.base import StrategyContext, check_weights, regime_weight_matrix

Algo = Callable[[pd.DataFrame | None, StrategyContext], pd.DataFrame]


def run_algos(algos: Sequence[Algo], ctx: StrategyContext) -> pd.DataFrame:
    weights: pd.DataFrame | None = None
    for algo in algos:
        weights = algo(weights, ctx)
    assert weights is not None, "a strategy needs at least one algo"
    return check_weights(weights)


def blend_by_probability(_: pd.DataFrame | None, ctx: StrategyContext) -> pd.DataFrame:
    """Expected sleeve weights under the filtered regime distribution: W_t = p_t @ M."""
    m = regime_weight_matrix(ctx)
    p = ctx.probabilities[m.index]
    return pd.DataFrame(p.to_numpy() @ m.to_numpy(), index=p.index, columns=m.columns)


def hard_switch(threshold: float = 0.6, min_hold: int = 5) -> Algo:
    """Hold the weights of one regime; switch only when another regime's probability exceeds ``threshold``
    and the current regime has been held ``min_hold`` days (hysteresis against whipsaw)."""

    def algo(_: pd.DataFrame | None, ctx: StrategyContext) -> pd.DataFrame:
        m = regime_weight_matrix(ctx)
        p = ctx.probabilities[m.index].to_numpy()
        held = np.empty(len(p), dtype=int)
        cur, age = int(np.argmax(p[0])), 0
        for t in range(len(p)):
            best = int(np.argmax(p[t]))
            if best != cur and p[t, best] >= threshold and age >= min_hold:
                cur, age = best, 0
            held[t] = cur
            age += 1
        return pd.DataFrame(m.to_numpy()[held], index=ctx.probabilities.index, columns=m.columns)

    return algo


def vol_target(target: float = 0.10, lookback: int = 63, max_leverage: float = 1.0, into: str = "bonds") -> Algo:
    """Scale risky sleeves so the portfolio's trailing realised vol meets ``target``; the freed weight goes to
    ``into`` (a sleeve, or cash). Vol uses sleeve returns up to t-1 with weights of t (no look-ahead)."""

    def algo(weights: pd.DataFrame | None, ctx: StrategyContext) -> pd.DataFrame:
        if weights is None or ctx.sleeve_returns is None:
            raise ValueError("vol_target needs weights from a previous algo and sleeve returns")
        risky = [c for c in weights.columns if c not in (CASH, into)]
        rets = ctx.sleeve_returns.reindex(weights.index)[risky].fillna(0.0)
        # portfolio vol of today's risky weights over the trailing window (ex-ante, causal)
        port = (rets.shift(1) * weights[risky].to_numpy()).sum(axis=1)
        vol = port.rolling(lookback, min_periods=lookback).std() * np.sqrt(252)
        scale = (target / vol).clip(upper=max_leverage).fillna(1.0)
        out = weights.copy()
        out[risky] = weights[risky].mul(scale, axis=0)
        out[into] = out[into] + (weights[risky].sum(axis=1) - out[risky].sum(axis=1))
        return out

    return algo
