"""Find a strategy by name: a module in ``strategies/``, a top-level module on ``sys.path``, or any dotted
``package.module`` path."""
from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from regimeshift.core.errors import ConfigError
from regimeshift.strategies.base import Param, StrategyContext, check_params

BUILTIN = ("liquidity_rotation", "regime_switch", "vol_target")


_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def _import(module_name: str, name: str):  # type: ignore[no-untyped-def]
    """The module, or None when the module itself does not exist; a module that fails while importing is a
    ConfigError naming the strategy and the error."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and (module_name == err.name or module_name.startswith(err.name + ".")):
            return None
        raise ConfigError(f"strategy.name: strategy '{name}' failed to import: {_say(err)}") from None
    except (Exception, SystemExit) as err:  # a user module: anything can happen at its top level
        raise ConfigError(f"strategy.name: strategy '{name}' failed to import: {_say(err)}") from None


def _say(err: BaseException) -> str:
    if isinstance(err, SystemExit):
        return f"it called sys.exit({err.code!r})"
    return " ".join(f"{type(err).__name__}: {err}".split())


def check_name(name: Any) -> str:
    """A strategy name must be a module name or an absolute dotted path (``pkg.module``)."""
    if not isinstance(name, str) or not _DOTTED.fullmatch(name):
        raise ConfigError(
            f"strategy.name: {name!r} is not a strategy name (expected a built-in such as liquidity_rotation, "
            "a module name or an absolute dotted path like package.module; no leading dots)"
        )
    return name


def resolve_strategy(name: str) -> Callable[[StrategyContext], pd.DataFrame]:
    """``name`` without a dot: ``strategies.<name>`` first, then a top-level module ``<name>``."""
    return getattr(_module(name), "target_weights")


def _module(name: str):  # type: ignore[no-untyped-def]
    check_name(name)
    candidates = [name] if "." in name else [f"regimeshift.strategies.{name}", name]
    module = None
    for module_name in candidates:
        module = _import(module_name, name)
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
    return module


def declared_params(name: str, params: Mapping[str, Any]) -> dict[str, Param] | None:
    """The parameters strategy ``name`` declares (``PARAMS``), plus those of the strategy it wraps
    (``PARAMS_OF``); None when it declares none (its table is then passed on unchecked)."""
    module = _module(name)
    declared = getattr(module, "PARAMS", None)
    if declared is None:
        return None
    out = dict(declared)
    wraps = getattr(module, "PARAMS_OF", None)
    if wraps is not None:
        inner = params.get(wraps, declared[wraps].default)
        if isinstance(inner, str) and inner.rsplit(".", 1)[-1] != name.rsplit(".", 1)[-1]:
            more = declared_params(inner, params)
            if more is None:
                return None
            out = {**more, **out}
    return out


def check_strategy(name: str, params: Mapping[str, Any]) -> None:
    """Import strategy ``name`` and check ``params`` against what it declares: one ConfigError line if wrong."""
    declared = declared_params(name, params)
    if declared is not None:
        check_params(f"strategy {name}", declared, params)
