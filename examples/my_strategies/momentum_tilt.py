"""Momentum tilt: the regime blend, then weight moved toward the sleeves with the strongest trailing trend."""
import numpy as np
from regimeshift.strategies.algos import blend_by_probability, run_algos
from regimeshift.strategies.base import Param

PARAMS = {"lookback": Param(int, 126, "trading days of momentum"),
          "strength": Param(float, 0.5, "how far the trend ranks move weight, 0..1 (0: the plain blend)")}


def tilt(w, ctx):
    p = {key: ctx.params.get(key, param.default) for key, param in PARAMS.items()}
    risky = [c for c in w.columns if c != "cash"]
    trend = np.log1p(ctx.sleeve_returns[risky].fillna(0.0)).rolling(p["lookback"]).sum()  # up to t: causal
    rank = trend.rank(axis=1, pct=True).fillna(0.5)  # 1 = the strongest sleeve that day
    tilted = w[risky] * (1 + p["strength"] * (2 * rank - 1))
    scale = (w[risky].sum(axis=1) / tilted.sum(axis=1)).fillna(0.0)  # cash keeps its blended weight
    return w.assign(**tilted.mul(scale, axis=0))


def target_weights(ctx):
    return run_algos([blend_by_probability, tilt], ctx)
