"""The thesis: sleeve weights per regime, blended by the filtered regime probabilities.

With p_t the filtered probabilities and M the regime x sleeve weight table from the config, the target is
W_t = p_t @ M: a confident model holds one regime's portfolio, an unsure one holds the mix.
"""
from __future__ import annotations

import pandas as pd
from regimeshift.strategies.algos import blend_by_probability, run_algos
from regimeshift.strategies.base import Param, StrategyContext

PARAMS: dict[str, Param] = {}  # none: the blend is the config's regime weights


def target_weights(ctx: StrategyContext) -> pd.DataFrame:
    return run_algos([blend_by_probability], ctx)
