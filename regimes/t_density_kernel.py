"""Student-t emission densities and E-step weights from the Gaussian ones, in one compiled pass.

Why compiled: a t state's log density and weight follow from the Gaussian log density of the same scale
matrix (its squared Mahalanobis distance), elementwise; in numpy that took six (T, K) temporaries and 15 % of
a Student-t walk-forward. Same formulas as ``fast_hmm.student_t_log_density`` (tests/test_student_t_emissions.py
compares them).
"""
from __future__ import annotations

import numpy as np
from numba import njit

_LOG_2PI = float(np.log(2 * np.pi))


@njit(cache=True)
def t_from_gaussian(
    log_gauss: np.ndarray, logdet: np.ndarray, d: int, dofs: np.ndarray, consts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """(log densities (T, K), weights (dof + d) / (dof + maha)) of states with degrees of freedom ``dofs`` (K,)
    (inf: a Gaussian state, its density kept and weight 1) and log normalising constants ``consts`` (K,), from
    the Gaussian log densities ``log_gauss`` of the same scale matrices with log-determinants ``logdet``."""
    n, k = log_gauss.shape
    out = np.empty((n, k))
    u = np.empty((n, k))
    for j in range(k):
        v = dofs[j]
        if not np.isfinite(v):
            for t in range(n):
                out[t, j] = log_gauss[t, j]
                u[t, j] = 1.0
            continue
        base = consts[j] - 0.5 * logdet[j]
        half = 0.5 * (v + d)
        for t in range(n):
            maha = -2.0 * log_gauss[t, j] - d * _LOG_2PI - logdet[j]
            if maha < 0.0:
                maha = 0.0
            out[t, j] = base - half * np.log1p(maha / v)
            u[t, j] = (v + d) / (v + maha)
    return out, u


@njit(cache=True)
def weighted_log_u_minus_u(post: np.ndarray, u: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Per state k, sum_t post[t, k] (log u[t, k] - u[t, k]): the data term of the dof update (``update_dofs``),
    in one pass instead of four numpy passes with (T, K) temporaries (93 against 211 us at 5,000 x 3, measured)."""
    n, k = u.shape
    out = np.zeros(k)
    for t in range(n):
        for j in range(k):
            out[j] += post[t, j] * (np.log(u[t, j]) - u[t, j])
    return out
