"""Any base strategy scaled to a target portfolio volatility; the rest goes to short bonds (or cash).

Params: ``base`` ("liquidity_rotation" or "regime_switch"), ``target`` (annual vol, default 0.10),
``lookback`` (days, default 63), ``into`` (sleeve receiving the freed weight, default "bonds").
"""
from __future__ import annotations

import pandas as pd

from strategies.algos import blend_by_probability, hard_switch, run_algos, vol_target
from strategies.base import StrategyContext


def target_weights(ctx: StrategyContext) -> pd.DataFrame:
    p = ctx.params
    base = p.get("base", "liquidity_rotation")
    first = (
        hard_switch(float(p.get("threshold", 0.6)), int(p.get("min_hold", 5)))
        if base == "regime_switch"
        else blend_by_probability
    )
    into = str(p.get("into", "bonds"))
    algo = vol_target(float(p.get("target", 0.10)), int(p.get("lookback", 63)), 1.0, into)
    return run_algos([first, algo], ctx)
