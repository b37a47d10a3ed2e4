"""Hard switch to the most probable regime's weights, with hysteresis.

Params: ``threshold`` (a new regime is entered only when its probability is strictly above it, default 0.6),
``min_hold`` (days a regime is held before another can replace it, default 5).
"""
from __future__ import annotations

import pandas as pd
from regimeshift.strategies.algos import hard_switch, run_algos
from regimeshift.strategies.base import Param, StrategyContext

PARAMS = {
    "threshold": Param(float, 0.6, "probability a new regime must exceed, between 0 and 1"),
    "min_hold": Param(int, 5, "days a regime is held before another can replace it"),
}


def target_weights(ctx: StrategyContext) -> pd.DataFrame:
    p = ctx.params
    return run_algos([hard_switch(float(p.get("threshold", 0.6)), int(p.get("min_hold", 5)))], ctx)
