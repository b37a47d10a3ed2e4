"""Find a strategy by name: a module in ``strategies/``, a top-level module on ``sys.path``, or any dotted
``package.module`` path."""
from __future__ import annotations

import importlib
from collections.abc import Callable

import pandas as pd
from regimeshift.core.errors import ConfigError
from regimeshift.strategies.base import StrategyContext

BUILTIN = ("liquidity_rotation", "regime_switch", "vol_target")


def _import(module_name: str):  # type: ignore[no-untyped-def]
    """The module, or None when the module itself does not exist (an import error inside it propagates)."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and (module_name == err.name or module_name.startswith(err.name + ".")):
            return None
        raise


def resolve_strategy(name: str) -> Callable[[StrategyContext], pd.DataFrame]:
    """``name`` without a dot: ``strategies.<name>`` first, then a top-level module ``<name>``."""
    candidates = [name] if "." in name else [f"regimeshift.strategies.{name}", name]
    module = None
    for module_name in candidates:
        module = _import(module_name)
        if module is not None:
            break
    if module is None:
        raise ConfigError(
            f"strategy.name: no strategy '{name}' (built-in: {', '.join(BUILTIN)}; or a module on sys.path, "
            "or a dotted module path)"
        )
    fn = getattr(module, "target_weights", None)
    if not callable(fn):
        raise ConfigError(f"strategy.name: module {module.__name__} has no target_weights(ctx) function")
    return fn
