"""Forward-only (filtered) regime probabilities.

hmmlearn's ``predict_proba`` runs forward-backward and ``predict`` runs Viterbi: both let day t see days after t.
A backtest may only use p(state_t | x_1..x_t), the normalised forward variable, which is what this computes.
"""
from __future__ import annotations

import numpy as np
from hmmlearn import _hmmc
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
    return np.exp(fwd - logsumexp(fwd, axis=1, keepdims=True))


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
