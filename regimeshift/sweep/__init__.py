"""`regimeshift sweep`: thousands of variants screened, ranked honestly, the best replayed in full.

spec.py (SWEEP.toml), screen.py (one variant through the pipeline's stages and the array engine), store.py
(durable, resumable results), leaderboard.py (table, DSR, PBO, pictures, page), run.py (orchestration and
executors: process pool or Dask). The overfitting math is in ``regimeshift.reports.overfitting``.
"""
from __future__ import annotations

import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    """``rs.sweep(spec)`` is the notebook API (``sweep/notebook.py``: a ``SweepResult``). The name is this
    package's too, and Python binds ``regimeshift.sweep`` to the package whenever it is imported, so a function of
    that name would be hidden, or would hide the package from attribute lookups: the package answers the call."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from regimeshift.sweep.notebook import sweep

        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
