"""One thread for every BLAS and OpenMP pool around the regime fits.

These matrices are small, and threads fighting over 2 cores made EM 3-30x slower (measured); one thread also
makes every product's and every sum's order fixed (scikit-learn's k-means sums included: ``regimes.kmeans``
follows that order), so results do not depend on the machine's load or core count.
"""
from __future__ import annotations

from typing import Any

from threadpoolctl import ThreadpoolController

_CONTROLLER: list[ThreadpoolController] = []


def single_blas_thread() -> Any:
    """Context limiting BLAS/OpenMP to one thread (the controller is built once: building it scans libraries)."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1)
