"""Tiny composable allocation steps, in the spirit of bt's algos.

Each algo takes the current target-weight frame (date x sleeve, cash included) and the context, and returns a
new frame. A strategy is a list of algos run in order. All steps are vectorised over dates (or one cheap pass
over the rows) and causal: row t uses rows <= t only.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from regimeshift.core.constants import CASH, TRADING_DAYS
from regimeshift.core.errors import ConfigError
from regimeshift.strategies.base import (
    StrategyContext,
    check_weights,
    regime_weight_matrix,
)

Algo = Callable[[pd.DataFrame | None, StrategyContext], pd.DataFrame]


def run_algos(algos: Sequence[Algo], ctx: StrategyContext) -> pd.DataFrame:
    weights: pd.DataFrame | None = None
    for algo in algos:
        weights = algo(weights, ctx)
    if weights is None:
        raise ConfigError("strategy: a strategy needs at least one algo")
    return check_weights(weights)


def blend_by_probability(_: pd.DataFrame | None, ctx: StrategyContext) -> pd.DataFrame:
    """Expected sleeve weights under the filtered regime distribution: W_t = p_t @ M."""
    m = regime_weight_matrix(ctx)
    p = ctx.probabilities[m.index]
    return pd.DataFrame(p.to_numpy() @ m.to_numpy(), index=p.index, columns=m.columns)


def held_regime(probabilities: np.ndarray, threshold: float, min_hold: int) -> np.ndarray:
    """Index of the regime held each day under the hysteresis rule of :func:`hard_switch`."""
    p = np.asarray(probabilities, dtype=float)
    held = np.empty(len(p), dtype=int)
    if len(p) == 0:
        return held
    best_all = np.argmax(p, axis=1)
    cur, age = int(best_all[0]), 0
    for t in range(len(p)):
        best = int(best_all[t])
        if best != cur and p[t, best] > threshold and age >= min_hold:
            cur, age = best, 0
        held[t] = cur
        age += 1
    return held


def hard_switch(threshold: float = 0.6, min_hold: int = 5) -> Algo:
    """Hold the weights of one regime at a time, with hysteresis against whipsaw.

    Day 0 holds the most probable regime. Afterwards the strategy switches to the most probable regime only
    when its probability is strictly above ``threshold`` and the current regime has been held for at least
    ``min_hold`` days (so every holding lasts >= ``min_hold`` days, except the last one).
    """
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"strategy.params.threshold: {threshold} must be between 0 and 1")
    if min_hold < 1:
        raise ConfigError(f"strategy.params.min_hold: {min_hold} must be >= 1 day")

    def algo(_: pd.DataFrame | None, ctx: StrategyContext) -> pd.DataFrame:
        m = regime_weight_matrix(ctx)
        held = held_regime(ctx.probabilities[m.index].to_numpy(), threshold, min_hold)
        return pd.DataFrame(m.to_numpy()[held], index=ctx.probabilities.index, columns=m.columns)

    return algo


def trailing_covariance(returns: np.ndarray, lookback: int) -> np.ndarray:
    """Sample covariance (ddof=1) of rows ``t-lookback .. t-1`` for each t (NaN for t < lookback).

    Row t excludes day t's own return, so it is known before the close of t. Missing returns count as 0.
    """
    x = np.nan_to_num(np.asarray(returns, dtype=float))
    n, k = x.shape
    cov = np.full((n, k, k), np.nan)
    if n <= lookback:
        return cov
    s1 = np.concatenate([np.zeros((1, k)), np.cumsum(x, axis=0)])
    s2 = np.concatenate([np.zeros((1, k, k)), np.cumsum(x[:, :, None] * x[:, None, :], axis=0)])
    t = np.arange(lookback, n)
    a, b = s1[t] - s1[t - lookback], s2[t] - s2[t - lookback]
    cov[t] = (b - a[:, :, None] * a[:, None, :] / lookback) / (lookback - 1)
    return cov


def vol_target(target: float = 0.10, lookback: int = 63, max_leverage: float = 1.0, into: str = "bonds") -> Algo:
    """Scale the risky sleeves so their ex-ante volatility meets ``target``; the freed weight goes to ``into``.

    Risky = every sleeve except cash and ``into`` (short bonds or cash, whose own volatility is treated as
    negligible). The ex-ante annual vol on day t is ``sqrt(252 * w_t' C_t w_t)`` with ``w_t`` today's risky
    weights and ``C_t`` the sample covariance of sleeve returns over the ``lookback`` days before t (causal).
    Scale = min(target / vol, max_leverage); before a full window exists, or when vol is 0, scale = 1.
    """
    if not target > 0:
        raise ConfigError(f"strategy.params.target: {target} must be a positive annual volatility")
    if lookback < 2:
        raise ConfigError(f"strategy.params.lookback: {lookback} must be >= 2 days")
    if not 0 < max_leverage <= 1:
        raise ConfigError(f"strategy.params.max_leverage: {max_leverage} must be in (0, 1] (no borrowing)")

    def algo(weights: pd.DataFrame | None, ctx: StrategyContext) -> pd.DataFrame:
        if weights is None or ctx.sleeve_returns is None:
            raise ConfigError("vol_target: needs weights from a previous algo and sleeve returns in the context")
        if into not in weights.columns:
            raise ConfigError(
                f"strategy.params.into: '{into}' is not a sleeve (sleeves: {', '.join(map(str, weights.columns))})"
            )
        risky = [c for c in weights.columns if c not in (CASH, into)]
        w = weights[risky].to_numpy(dtype=float)
        rets = ctx.sleeve_returns.reindex(weights.index)[risky].to_numpy(dtype=float)
        cov = trailing_covariance(rets, lookback)
        with np.errstate(all="ignore"):
            vol = np.sqrt(TRADING_DAYS * np.einsum("ti,tij,tj->t", w, cov, w))
            scale = np.minimum(target / vol, max_leverage)
        scale = np.where(np.isfinite(scale), scale, 1.0)
        out = weights.copy()
        out[risky] = w * scale[:, None]
        out[into] = weights[into].to_numpy() + w.sum(axis=1) * (1.0 - scale)
        return out

    return algo
