"""Forward-only (filtered) regime probabilities.

hmmlearn's ``predict_proba`` runs forward-backward and ``predict`` runs Viterbi: both let day t see days after t.
A backtest may only use p(state_t | x_1..x_t), the normalised forward variable, which is what this computes.
"""
from __future__ import annotations

import numpy as np
from regimeshift.regimes import (
    hmm_kernels as _hmmc,  # hmmlearn's compiled routines, one import site
)
from scipy.special import logsumexp


def forward_filter(startprob: np.ndarray, transmat: np.ndarray, log_frameprob: np.ndarray) -> np.ndarray:
    """Filtered state probabilities, shape (T, K): row t is p(s_t | x_0..x_t).

    Uses hmmlearn's compiled forward pass (the same one ``score`` uses), then normalises each row, so row t
    equals ``predict_proba(X[:t+1])[-1]`` of the same model.
    """
    log_frameprob = np.ascontiguousarray(log_frameprob, dtype=float)
    if len(log_frameprob) == 0:
        return np.empty((0, len(startprob)))
    _, fwd = _hmmc.forward_log(np.asarray(startprob, float), np.asarray(transmat, float), log_frameprob)
    p = np.exp(fwd - logsumexp(fwd, axis=1, keepdims=True))
    # when the log densities are huge (a day far outside every state) fwd - logsumexp loses digits and rows drift
    # from 1 by ~1e-9, which the allocation rightly refuses: normalise explicitly
    return p / p.sum(axis=1, keepdims=True)
