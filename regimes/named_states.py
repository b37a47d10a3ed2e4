"""What the non-HMM regime models (jump, GMM-HMM) share: the training window's scaler, each state's moments,
naming the states by the HMM's own rule and carrying names across refits, and the diagnostics in named order.

The rule is the one ``LiquidityHMM`` uses (``regimes.naming``: ``order_by`` = "risk", "signed_mean" or a
feature), fed with what each family knows of its states in original feature units:
- a jump model: the empirical mean and covariance of the training window's rows labelled with the state
  (weighted by the state's probability for a continuous model), and the share of days it labels as its weight;
- a GMM-HMM: each state's mixture -- its implied mean and covariance (within-component covariances plus the
  spread of the component means) -- and the transition matrix's stationary distribution as the weights, as for
  the HMM.
So a volatile state is named as the more stressed one although its mean return happens to be higher, exactly as
the HMM names it, and the ambiguity report (``naming_report``) means the same for every family.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from regimeshift.regimes import naming


def window_scaler(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The training window's feature means and sds (a constant feature's sd counts as 1)."""
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale < 1e-12] = 1.0
    return mean, scale


def labelled_moments(X: np.ndarray, resp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(means, covs, shares, empty)`` per state from the rows ``X`` and their state probabilities ``resp``
    (T x K; 0/1 for a discrete jump model): probability-weighted means and (maximum-likelihood) covariances, the
    share of days per state, and which states no day visited. An empty state has no moments of its own: the
    whole window's stand in for them (its name is then decided by the caller; see ``NamedStates._name``)."""
    X, resp = np.asarray(X, float), np.asarray(resp, float)
    w = resp.sum(axis=0)
    empty = w <= 0
    safe = np.where(empty, 1.0, w)
    means = (resp.T @ X) / safe[:, None]
    dev = X[None, :, :] - means[:, None, :]  # K x T x D
    covs = np.einsum("tk,kti,ktj->kij", resp, dev, dev) / safe[:, None, None]
    if empty.any():
        means[empty] = X.mean(axis=0)
        covs[empty] = np.cov(X, rowvar=False, bias=True).reshape(X.shape[1], X.shape[1])
    return means, covs, w / max(len(X), 1), empty


def mixture_moments(weights: np.ndarray, means: np.ndarray, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per state, the mean and covariance implied by its Gaussian mixture: ``weights`` K x M, ``means`` K x M x D,
    ``covs`` K x M x D x D (full matrices)."""
    mu = np.einsum("km,kmd->kd", weights, means)
    dev = means - mu[:, None, :]
    cov = np.einsum("km,kmij->kij", weights, covs) + np.einsum("km,kmi,kmj->kij", weights, dev, dev)
    return mu, cov


class NamedStates:
    """Naming and diagnostics in named order for a model with the naming settings (``names``, ``order_by``,
    ``feature_names``, ``stress_signs``) and, per raw state, ``raw_means_``, ``raw_covars_`` (original units),
    ``raw_weights_`` (long-run shares), ``raw_transmat_``; plus ``n_train_``, ``scaler_scale_`` and ``order_``."""

    names: Any
    order_by: str
    feature_names: Any
    stress_signs: Any
    raw_means_: Any
    raw_covars_: Any
    raw_weights_: Any
    raw_transmat_: Any
    n_train_: int
    scaler_scale_: Any
    order_: Any

    def _scores_and_errors(self) -> tuple[np.ndarray, np.ndarray]:
        # signed_mean standardises by the training window's sd, as the HMM's rule does
        return naming.scores_and_errors(
            self.raw_means_, self.raw_covars_, self.raw_weights_, self.n_train_, self.feature_names,
            order_by=self.order_by, signs=self.stress_signs, scale=self.scaler_scale_,
        )

    def stress_scores(self) -> np.ndarray:
        """Per raw state: its stress score under ``order_by`` (higher = more stressed; ``regimes.naming``)."""
        return self._scores_and_errors()[0]

    def _name(self, prev: NamedStates | None, empty: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
        """``(order, relabelled)``: ``order[k]`` is the raw state named names[k].

        Without a previous fit, states are named by the stress order of ``order_by``. With one, each state takes
        the name of the previous state it matches (Hungarian on the scaled means) unless ``naming.overrules``
        says the match clearly contradicts the scores -- the HMM's safety net. ``empty`` marks states no day
        visited: they match by nothing and take the name left over, with the previous fit's moments of that
        name in place of their stand-ins, so the name carries over (no rename on a state without evidence).
        """
        empty = np.zeros(len(self.raw_means_), dtype=bool) if empty is None else np.asarray(empty, dtype=bool)
        if prev is not None:
            new = np.array(self.raw_means_, dtype=float)
            new[empty] = np.nan
            order = naming.align_order(new, prev.means_, self.scaler_scale_)
            if empty.any():
                prev_means, prev_covs = prev.means_, prev.covars_
                for j, raw in enumerate(order):
                    if empty[raw]:
                        self.raw_means_[raw], self.raw_covars_[raw] = prev_means[j], prev_covs[j]
                return order, False
            score, se = self._scores_and_errors()
            if not naming.overrules(order, score, None if self.order_by == naming.SIGNED_MEAN else se):
                return order, False
        return np.argsort(self.stress_scores(), kind="stable"), True

    def naming_report(self) -> naming.NamingReport:
        """The named states' scores, their standard errors and any ambiguous neighbouring pair."""
        o = self.order_
        return naming.naming_report(
            tuple(self.names), self.means_, self.covars_, np.asarray(self.raw_weights_)[o], self.n_train_,
            self.feature_names, order_by=self.order_by, signs=self.stress_signs, scale=self.scaler_scale_,
        )

    @property
    def means_(self) -> np.ndarray:
        """State means in original feature units, rows in ``names`` order."""
        return self.raw_means_[self.order_]

    @property
    def covars_(self) -> np.ndarray:
        """State covariances in original feature units (full matrices), ``names`` order."""
        return self.raw_covars_[self.order_]

    @property
    def transmat_(self) -> np.ndarray:
        o = self.order_
        return np.asarray(self.raw_transmat_)[np.ix_(o, o)]

    @property
    def expected_durations_(self) -> np.ndarray:
        """1 / (1 - p_ii) days; inf for a state the fit never leaves (a jump model's calm window)."""
        leave = 1.0 - np.diag(self.transmat_)
        with np.errstate(divide="ignore"):
            return np.where(leave > 0, 1.0 / np.where(leave > 0, leave, 1.0), np.inf)
