"""Find a strategy by name: a module in ``strategies/`` or any importable ``package.module``."""
from __future__ import annotations

import importlib
from collections.abc import Callable

import pandas as pd

from backtests.errors import ConfigError
from strategies.base import StrategyContext

BUILTIN = ("liquidity_rotation", "regime_switch", "vol_target")


def resolve_strategy(name: str) -> Callable[[StrategyContext], pd.DataFrame]:
    module_name = name if "." in name else f"strategies.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and module_name.startswith(err.name):
            raise ConfigError(
                f"strategy.name: no strategy '{name}' (built-in: {', '.join(BUILTIN)}; or a dotted module path)"
            ) from None
        raise
    fn = getattr(module, "target_weights", None)
    if not callable(fn):
        raise ConfigError(f"strategy.name: module {module_name} has no target_weights(ctx) function")
    return fn
