"""The two pieces of global state third-party packages need, set in one place, explicitly, once.

- backtrader's ``LineIterator.bindlines`` still uses ``collections.Iterable`` (removed in Python 3.10), and
  its plot module forces TkAgg on import, which fails on a headless machine;
- QuantStats draws through pyplot, which must never pick an interactive backend in a batch job.
"""
from __future__ import annotations

import collections
import collections.abc
import os
from types import ModuleType


def headless_matplotlib() -> None:
    """Agg unless the user chose a backend (``MPLBACKEND``); idempotent."""
    import matplotlib

    if not os.environ.get("MPLBACKEND") and matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg")


def backtrader() -> ModuleType:
    """backtrader, imported with its two compatibility needs met."""
    headless_matplotlib()
    import matplotlib.pyplot  # noqa: F401  (imported before backtrader, so its plot module finds a backend set)

    if not hasattr(collections, "Iterable"):
        collections.Iterable = collections.abc.Iterable  # type: ignore[attr-defined]
    import backtrader as bt

    return bt


def quiet_hmmlearn() -> None:
    """hmmlearn logs every non-monotone EM step at WARNING; convergence is judged and reported by regimeshift."""
    import logging

    logging.getLogger("hmmlearn.base").setLevel(logging.ERROR)
