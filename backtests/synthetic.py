"""Moved to :mod:`regimeshift.data.synthetic`; this alias stays for one release so a user's
``from regimeshift.backtests.synthetic import generate_market`` keeps working, with a DeprecationWarning."""
from __future__ import annotations

import warnings
from typing import Any


def __getattr__(name: str) -> Any:
    from regimeshift.data import synthetic

    if not name.startswith("_") and hasattr(synthetic, name):
        warnings.warn(f"regimeshift.backtests.synthetic.{name} moved to regimeshift.data.synthetic.{name}",
                      DeprecationWarning, stacklevel=2)
        return getattr(synthetic, name)
    raise AttributeError(f"module 'regimeshift.backtests.synthetic' has no attribute {name!r}")
