"""Find a strategy by name: a module in the config's ``strategy.path`` folder, a module in ``strategies/``, an
entry point of the ``regimeshift.strategies`` group (an installed package), a top-level module on ``sys.path``,
or any dotted ``package.module`` path -- in that order.

A user's folder is read with ``importlib.util.spec_from_file_location``: the folder never joins ``sys.path``, so
a file named like an installed package (``numpy.py``) still loads the user's file and shadows nothing else.
An error in a user's module is one ConfigError line naming its file and line; the original exception is its
``__cause__`` (raised ``from`` it: the CLI prints that traceback under ``REGIMESHIFT_DEBUG=1``).
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import re
import sys
import traceback
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from regimeshift.core.errors import ConfigError
from regimeshift.strategies.base import Param, StrategyContext, check_params

BUILTIN = ("liquidity_rotation", "regime_switch", "vol_target")
ENTRY_POINT_GROUP = "regimeshift.strategies"


_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
# a user's file, loaded once per process (a sweep worker resolves the same strategy for every variant)
_LOADED: dict[Path, types.ModuleType] = {}


def where_raised(err: BaseException, files: tuple[str, ...] = ()) -> str:
    """``file:line`` of the deepest frame of ``err`` inside one of ``files`` (the user's code, not the library it
    called); a SyntaxError's own position; "" when none of ``files`` is on the traceback."""
    if isinstance(err, SyntaxError) and err.filename:
        return f"{err.filename}:{err.lineno}"
    wanted = {str(Path(f).resolve()) for f in files}
    found = ""
    for frame in traceback.extract_tb(err.__traceback__):
        if not wanted or str(Path(frame.filename).resolve()) in wanted:
            found = f"{frame.filename}:{frame.lineno}"
    return found


def _failed(name: str, err: BaseException, files: tuple[str, ...]) -> ConfigError:
    at = where_raised(err, files)
    prefix = f"{at}: " if at else ""
    return ConfigError(f"{prefix}strategy '{name}' failed to import: {_say(err)}")


def _import(module_name: str, name: str):  # type: ignore[no-untyped-def]
    """The module, or None when the module itself does not exist; a module that fails while importing is a
    ConfigError naming the strategy, the error and where it was raised."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and (module_name == err.name or module_name.startswith(err.name + ".")):
            return None
        raise _failed(name, err, _files_of(err, module_name)) from err
    except (Exception, SystemExit) as err:  # a user module: anything can happen at its top level
        raise _failed(name, err, _files_of(err, module_name)) from err


def _files_of(err: BaseException, module_name: str) -> tuple[str, ...]:
    """Where to look for the line to name: the module's own file when the error passed through it (not the
    library it called at its top level), else the deepest frame outside importlib's own machinery."""
    try:
        spec = importlib.util.find_spec(module_name)
    except (Exception, SystemExit):
        spec = None
    origin = spec.origin if spec is not None else None
    if origin and where_raised(err, (origin,)):
        return (origin,)
    frames = [f.filename for f in traceback.extract_tb(err.__traceback__) if "importlib" not in f.filename]
    return (frames[-1],) if frames else ()


def _from_file(file: Path, name: str) -> types.ModuleType:
    """Execute a user's strategy file as a module of its own (under a private name keyed by its path, so two
    folders with the same file name never meet in ``sys.modules``)."""
    file = file.resolve()
    if file in _LOADED:
        return _LOADED[file]
    tag = hashlib.sha256(str(file).encode()).hexdigest()[:10]
    module_name = f"_regimeshift_user_{tag}.{name}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{file}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and typing resolve names through sys.modules
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as err:
        del sys.modules[module_name]
        raise _failed(name, err, (str(file),)) from err
    _LOADED[file] = module
    return module


def _in_folder(name: str, path: str | Path) -> types.ModuleType | None:
    folder = Path(path)
    if not folder.is_dir():
        raise ConfigError(f"strategy.path: folder {folder} does not exist (expected a folder of strategy modules, "
                          "relative to the config file)")
    if "." in name:
        return None
    for file in (folder / f"{name}.py", folder / name / "__init__.py"):
        if file.is_file():
            return _from_file(file, name)
    return None


def _entry_point(name: str) -> Any:
    """What the installed entry point ``name`` of the ``regimeshift.strategies`` group loads, or None."""
    found = [ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        return None
    ep = found[0]
    try:
        obj = ep.load()
    except (Exception, SystemExit) as err:
        raise _failed(name, err, _files_of(err, ep.module)) from err
    if isinstance(obj, types.ModuleType) or hasattr(obj, "target_weights"):
        return obj
    if callable(obj):  # the entry point names the function itself
        return types.SimpleNamespace(__name__=ep.value, target_weights=obj, PARAMS=getattr(obj, "PARAMS", None))
    raise ConfigError(f"strategy.name: entry point {name} = {ep.value} ({ENTRY_POINT_GROUP}) is neither a module "
                      "nor a target_weights(ctx) function")


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


def resolve_strategy(name: str, path: str | Path | None = None) -> Callable[[StrategyContext], pd.DataFrame]:
    """The ``target_weights`` of strategy ``name``; ``path``: the config's ``strategy.path`` folder, searched first."""
    return getattr(_module(name, path), "target_weights")


def strategy_file(name: str, path: str | Path | None = None) -> str | None:
    """The file strategy ``name`` was loaded from (None for an object without one)."""
    return getattr(_module(name, path), "__file__", None)


def _module(name: str, path: str | Path | None = None):  # type: ignore[no-untyped-def]
    check_name(name)
    module = _in_folder(name, path) if path is not None else None
    if module is None and "." not in name:
        module = _import(f"regimeshift.strategies.{name}", name)
    if module is None and "." not in name:
        module = _entry_point(name)
    if module is None:
        module = _import(name, name)
    if module is None:
        folder = f"the folder {path}, " if path is not None else ""
        raise ConfigError(
            f"strategy.name: no strategy '{name}' (built-in: {', '.join(BUILTIN)}; or a module in {folder}"
            f"strategy.path, an installed '{ENTRY_POINT_GROUP}' entry point, a module on sys.path, "
            "or a dotted module path)"
        )
    fn = getattr(module, "target_weights", None)
    if not callable(fn):
        raise ConfigError(f"strategy.name: module {module.__name__} has no target_weights(ctx) function")
    return module


def declared_params(name: str, params: Mapping[str, Any], path: str | Path | None = None) -> dict[str, Param] | None:
    """The parameters strategy ``name`` declares (``PARAMS``), plus those of the strategy it wraps
    (``PARAMS_OF``); None when it declares none (its table is then passed on unchecked)."""
    module = _module(name, path)
    declared = getattr(module, "PARAMS", None)
    if declared is None:
        return None
    out = dict(declared)
    wraps = getattr(module, "PARAMS_OF", None)
    if wraps is not None:
        inner = params.get(wraps, declared[wraps].default)
        if isinstance(inner, str) and inner.rsplit(".", 1)[-1] != name.rsplit(".", 1)[-1]:
            more = declared_params(inner, params, path)
            if more is None:
                return None
            out = {**more, **out}
    return out


def check_strategy(name: str, params: Mapping[str, Any], path: str | Path | None = None) -> None:
    """Import strategy ``name`` and check ``params`` against what it declares: one ConfigError line if wrong."""
    declared = declared_params(name, params, path)
    if declared is not None:
        check_params(f"strategy {name}", declared, params)


def forget_loaded_files() -> None:
    """Load strategy files afresh on their next use (``run --watch`` re-runs after the user edits one)."""
    for file, module in list(_LOADED.items()):
        sys.modules.pop(module.__name__, None)
        del _LOADED[file]
