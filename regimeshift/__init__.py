"""regimeshift: test liquidity-regime rotation ideas honestly.

``import regimeshift as rs`` is cheap: the public API below is loaded on first use, so the CLI's ``--help`` and
one-line config errors never pay for pandas, hmmlearn, backtrader or QuantStats.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_API = {
    "load_config": "regimeshift.api",
    "run": "regimeshift.api",
    "fit_regimes": "regimeshift.api",
    "RunResult": "regimeshift.api",
    "RegimeFit": "regimeshift.api",
    "SweepResult": "regimeshift.sweep.notebook",
    "RunConfig": "regimeshift.backtests.config",
    "RegimeshiftError": "regimeshift.core.errors",
    "ConfigError": "regimeshift.core.errors",
    "DataError": "regimeshift.core.errors",
}

__all__ = ["__version__", "sweep", *_API]

if TYPE_CHECKING:  # noqa: SIM108  (names for type checkers; loaded lazily below)
    from regimeshift.api import RegimeFit, RunResult, fit_regimes, load_config, run  # noqa: F401
    from regimeshift.backtests.config import RunConfig  # noqa: F401
    from regimeshift.core.errors import ConfigError, DataError, RegimeshiftError  # noqa: F401
    from regimeshift.sweep.notebook import SweepResult, sweep  # noqa: F401


def _version() -> str:
    from importlib import metadata  # ~0.1 s of imports: only when asked

    try:
        return metadata.version("regimeshift")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()["__version__"] = value = _version()
        return value
    if name == "sweep":
        # the sweep package itself, which answers rs.sweep(spec) (regimeshift/sweep/__init__.py): a function of
        # that name would hide the package from every "regimeshift.sweep.x" attribute lookup once it was read
        value = import_module("regimeshift.sweep")
        globals()[name] = value
        return value
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'regimeshift' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
