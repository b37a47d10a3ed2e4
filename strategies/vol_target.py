"""Any strategy scaled to a target portfolio volatility; the rest goes to short bonds (or cash).

Params: ``base`` (the strategy to scale: "liquidity_rotation" (default), "regime_switch", or any strategy name
or dotted module path other than vol_target itself; its own params, e.g. ``threshold``, are read from the same
table), ``target`` (annual vol, default 0.10), ``lookback`` (days, default 63), ``into`` (sleeve receiving the
freed weight, default "bonds"; "cash" keeps it in cash).
"""
from __future__ import annotations

import pandas as pd
from regimeshift.core.errors import ConfigError
from regimeshift.strategies.algos import run_algos, vol_target
from regimeshift.strategies.base import Param, StrategyContext

PARAMS = {
    "base": Param(str, "liquidity_rotation", "the strategy to scale"),
    "target": Param(float, 0.10, "annual volatility to aim at"),
    "lookback": Param(int, 63, "days of sleeve returns the volatility is estimated from"),
    "into": Param(str, "bonds", "sleeve receiving the freed weight, or cash"),
}
# the strategy named by this parameter reads its own parameters from the same table
PARAMS_OF = "base"


def target_weights(ctx: StrategyContext) -> pd.DataFrame:
    from regimeshift.strategies.registry import resolve_strategy  # noqa: PLC0415  (registry imports strategies lazily)

    p = ctx.params
    base = str(p.get("base", "liquidity_rotation"))
    if base.rsplit(".", 1)[-1] == "vol_target":
        raise ConfigError("strategy.params.base: vol_target cannot scale itself")
    base_weights = resolve_strategy(base, ctx.strategy_path)(ctx)
    algo = vol_target(float(p.get("target", 0.10)), int(p.get("lookback", 63)), 1.0, str(p.get("into", "bonds")))
    return run_algos([lambda _w, _c: base_weights, algo], ctx)
