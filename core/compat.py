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


def quiet_matplotlib_fonts() -> None:
    """Headless machines log hundreds of "findfont: Font family 'Arial' not found" lines (PITFALLS.md)."""
    import logging

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def headless_matplotlib() -> None:
    """Agg for pyplot in a batch job; idempotent. Leaves alone a backend the user chose: ``MPLBACKEND``, or
    pyplot already imported (a notebook's inline backend)."""
    import sys

    quiet_matplotlib_fonts()
    if os.environ.get("MPLBACKEND") or "matplotlib.pyplot" in sys.modules:
        return
    import matplotlib

    matplotlib.use("Agg")


def backtrader() -> ModuleType:
    """backtrader, imported with its compatibility need met. Its plot module (the one that forces TkAgg) is
    imported only by ``Cerebro.plot``, which no replay calls: ``import backtrader`` loads no matplotlib, so
    neither does a replay (pyplot alone was ~0.4 s of a warm run's start-up). Whoever plots a cerebro calls
    :func:`headless_matplotlib` first."""
    if not hasattr(collections, "Iterable"):
        collections.Iterable = collections.abc.Iterable  # type: ignore[attr-defined]
    import backtrader as bt

    return bt


def quiet_hmmlearn() -> None:
    """hmmlearn logs every non-monotone EM step (hmmlearn.base) and every GMM-HMM covariance with a null
    eigenvalue (hmmlearn.hmm) at WARNING, one stderr line each; convergence and failed fits are judged and
    reported by regimeshift (refits.csv: converged, fallback)."""
    import logging

    logging.getLogger("hmmlearn").setLevel(logging.ERROR)
