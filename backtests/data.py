"""Moved to :mod:`regimeshift.data` (``market``, ``csv_files``, ``sources``); this alias stays for one release so a
user's ``from regimeshift.backtests.data import load_market`` keeps working, with a DeprecationWarning."""
from __future__ import annotations

import warnings
from typing import Any

_NEW = ("regimeshift.data.market", "regimeshift.data.csv_files", "regimeshift.data.sources")


def __getattr__(name: str) -> Any:
    from importlib import import_module

    for module in _NEW:
        mod = import_module(module)
        if not name.startswith("_") and hasattr(mod, name):
            warnings.warn(f"regimeshift.backtests.data.{name} moved to {module}.{name}", DeprecationWarning,
                          stacklevel=2)
            return getattr(mod, name)
    raise AttributeError(f"module 'regimeshift.backtests.data' has no attribute {name!r}")
