"""What the non-HMM regime models (jump, GMM-HMM) share: the training window's scaler, naming their states by
the stress order and carrying names across refits, and the diagnostics in named order.

The Gaussian HMM has its own, richer rule (``regimes.naming``, with standard errors); these models have no state
covariances to weigh, so they name by the signed standardised means (``regimes.model.stress_scores``).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from regimeshift.regimes.model import align_order, contradicts_stress, stress_scores


def window_scaler(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The training window's feature means and sds (a constant feature's sd counts as 1)."""
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale < 1e-12] = 1.0
    return mean, scale


def name_states(
    raw_means: np.ndarray,
    scaler_mean: np.ndarray,
    scaler_scale: np.ndarray,
    stress_signs: Sequence[float] | None,
    prev_means: np.ndarray | None,
    empty: np.ndarray | None = None,
) -> tuple[np.ndarray, bool]:
    """``(order, relabelled)``: ``order[k]`` is the raw state named names[k].

    Without a previous fit (``prev_means``, its means in named order), states are named by stress order. With
    one, each state takes the name of the previous state it matches (Hungarian on the scaled means) unless that
    clearly contradicts the stress order. ``empty`` marks states no day visited: they match by nothing and keep
    the name they are given, and their mean (a stand-in) is replaced in ``raw_means`` by the previous fit's mean
    of that name, so the name carries over.
    """
    empty = np.zeros(len(raw_means), dtype=bool) if empty is None else np.asarray(empty, dtype=bool)
    score = stress_scores((raw_means - scaler_mean) / scaler_scale, stress_signs)
    if prev_means is not None:
        new = raw_means.copy()
        new[empty] = np.nan
        order = align_order(new, prev_means, scaler_scale)
        if empty.any() or not contradicts_stress(score, order):
            for j, raw in enumerate(order):
                if empty[raw]:
                    raw_means[raw] = prev_means[j]
            return order, False
    return np.argsort(score, kind="stable"), True


class NamedStates:
    """Diagnostics in named order for a model with ``raw_means_``, ``raw_transmat_`` and ``order_``."""

    raw_means_: Any
    raw_transmat_: Any
    order_: Any

    @property
    def means_(self) -> np.ndarray:
        """State means in original feature units, rows in ``names`` order."""
        return self.raw_means_[self.order_]

    @property
    def transmat_(self) -> np.ndarray:
        o = self.order_
        return np.asarray(self.raw_transmat_)[np.ix_(o, o)]

    @property
    def expected_durations_(self) -> np.ndarray:
        return 1.0 / np.maximum(1.0 - np.diag(self.transmat_), 1e-12)
