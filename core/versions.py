"""Which versions produced a result: Python and every library whose code computes or renders it.

Recorded in every run's metrics.json, in the live registry and in the tearsheet's footer, so a number can be
traced to the machine that made it (a numpy upgrade or another CPU's SIMD kernels can move the last digits).
"""
from __future__ import annotations

import functools
import platform
from importlib import metadata

#: the distributions that produce a run's numbers and pages, in the order they are listed
LIBRARIES: tuple[str, ...] = (
    "numpy", "pandas", "scipy", "scikit-learn", "hmmlearn", "backtrader", "quantstats", "pydantic", "matplotlib",
    "jumpmodels", "numba", "regimeshift",
)


@functools.lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """``{"python": "3.11.7", "numpy": "2.4.6", ...}``; a library that is not installed reads "not installed"."""
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
