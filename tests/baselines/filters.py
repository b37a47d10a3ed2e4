"""Numpy references the compiled paths are tested against (tests and benchmarks only; the product never imports
this package)."""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp


def forward_filter_numpy(startprob: np.ndarray, transmat: np.ndarray, log_frameprob: np.ndarray) -> np.ndarray:
    """The same recursion written out in numpy; the reference the compiled path is tested against."""
    T, K = log_frameprob.shape
    out = np.empty((T, K))
    log_a = np.log(np.maximum(transmat, 1e-300))
    alpha = np.log(np.maximum(startprob, 1e-300)) + log_frameprob[0]
    out[0] = alpha - logsumexp(alpha)
    for t in range(1, T):
        alpha = logsumexp(out[t - 1][:, None] + log_a, axis=0) + log_frameprob[t]
        out[t] = alpha - logsumexp(alpha)
    return np.exp(out)
