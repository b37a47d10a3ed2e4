"""LiquidityHMM: a scikit-learn-style Gaussian HMM for liquidity regimes, built on hmmlearn.

What it adds to ``hmmlearn.hmm.GaussianHMM`` (see shared/notes/PITFALLS.md for why each matters):
- feature scaling fitted on the training window only (``scaler_mean_``, ``scaler_scale_``);
- ``n_init`` restarts, keeping the best log-likelihood (hmmlearn starts EM once);
- honest convergence: ``monitor_.converged`` is also True when EM merely hit ``n_iter``, so ``converged_``
  additionally requires fewer than ``n_iter`` iterations;
- sticky transitions through a heavy-diagonal Dirichlet ``transmat_prior``;
- stable names: states are ordered by a stress score (signed mean of the stress features), so name k means
  the same thing after every refit; ``predict_filtered`` returns probabilities in that named order;
- filtering only: there is no smoothed ``predict_proba``; ``predict_filtered`` is forward-only.
"""
from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import numpy as np
from hmmlearn.hmm import GaussianHMM
from threadpoolctl import ThreadpoolController

from regimes.fast_hmm import FastGaussianHMM

from regimes.filtering import forward_filter


class LiquidityHMM:
    """Gaussian HMM with restarts, honest convergence and stress-ordered state names.

    Parameters
    ----------
    names: regime names from calm to stressed; the number of states is ``len(names)``.
    stress_signs: per feature, +1 if higher means more stress, -1 if lower means more stress, 0 to ignore.
    """

    def __init__(
        self,
        names: Sequence[str] = ("abundant", "tightening", "crunch"),
        covariance_type: str = "full",
        n_init: int = 3,
        n_iter: int = 200,
        tol: float = 1e-3,
        min_covar: float = 1e-3,
        sticky: float = 0.0,
        stress_signs: Sequence[float] | None = None,
        random_state: int = 0,
    ) -> None:
        self.names = tuple(names)
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.n_iter = n_iter
        self.tol = tol
        self.min_covar = min_covar
        self.sticky = sticky
        self.stress_signs = stress_signs
        self.random_state = random_state

    @property
    def n_states(self) -> int:
        return len(self.names)

    # -- fitting ---------------------------------------------------------------------------------------
    def _new_hmm(self, seed: int, init_params: str, implementation: str = "scaling") -> GaussianHMM:
        k = self.n_states
        prior = 1.0 + self.sticky * np.eye(k) if self.sticky > 0 else 1.0
        return FastGaussianHMM(
            n_components=k,
            covariance_type=self.covariance_type,
            n_iter=self.n_iter,
            tol=self.tol,
            min_covar=self.min_covar,
            transmat_prior=prior,
            random_state=seed,
            init_params=init_params,
            params="stmc",
            implementation=implementation,
        )

    def _scale(self, X: np.ndarray) -> np.ndarray:
        return (X - self.scaler_mean_) / self.scaler_scale_

    def fit(
        self, X: np.ndarray, warm_start: LiquidityHMM | None = None, cold_starts: int | None = None
    ) -> LiquidityHMM:
        """Fit on the training window ``X`` (rows = days up to the refit date).

        With ``warm_start``, EM starts once from that model's parameters (mapped into this window's scaling);
        ``cold_starts`` (default: ``n_init`` without a warm start, none with one) adds seeded k-means starts.
        The best start by log-likelihood is kept.
        """
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or len(X) < 10 * self.n_states:
            raise ValueError(f"need a 2-D training window with at least {10 * self.n_states} rows, got {X.shape}")
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        scale[scale < 1e-12] = 1.0
        self.scaler_mean_, self.scaler_scale_ = mean, scale
        Z = self._scale(X)

        candidates: list[tuple[float, GaussianHMM, bool]] = []
        starts: list[tuple[GaussianHMM, bool]] = []
        if warm_start is not None:
            starts.append((self._warm_hmm(warm_start), True))
        if cold_starts is None:
            cold_starts = self.n_init if warm_start is None else 0
        for i in range(cold_starts):
            starts.append((self._new_hmm(self.random_state + i, "stmc"), False))
        for hmm, warm in starts:
            fitted = _fit_quietly(hmm, Z)
            if fitted is None:
                # the scaled forward pass underflows on extreme days; the log-space pass does not
                hmm.implementation = "log"
                fitted = _fit_quietly(hmm, Z)
            if fitted is not None:
                candidates.append((fitted, hmm, warm))
        if not candidates:
            raise FloatingPointError("every EM start diverged or left a state empty")
        score, best, warm = max(candidates, key=lambda c: c[0])
        self.hmm_ = best
        self.loglik_ = score
        self.n_iter_ = int(best.monitor_.iter)
        self.converged_ = bool(best.monitor_.converged and best.monitor_.iter < self.n_iter)
        self.warm_started_ = warm
        self.n_train_ = len(X)
        self.order_ = self._stress_order()
        return self

    def _warm_hmm(self, prev: LiquidityHMM) -> GaussianHMM:
        """A GaussianHMM initialised at ``prev``'s parameters, re-expressed in this window's scaling."""
        hmm = self._new_hmm(self.random_state, "")
        ratio = prev.scaler_scale_ / self.scaler_scale_
        p = prev.hmm_
        hmm.startprob_ = p.startprob_.copy()
        hmm.transmat_ = p.transmat_.copy()
        hmm.means_ = (p.means_ * prev.scaler_scale_ + prev.scaler_mean_ - self.scaler_mean_) / self.scaler_scale_
        if self.covariance_type == "full":
            hmm.covars_ = p.covars_ * np.outer(ratio, ratio)[None, :, :]
        else:
            hmm.covars_ = np.diagonal(p.covars_, axis1=1, axis2=2) * ratio[None, :] ** 2
        return hmm

    def _stress_order(self) -> np.ndarray:
        signs = np.ones(self.hmm_.means_.shape[1]) if self.stress_signs is None else np.asarray(self.stress_signs, float)
        score = self.hmm_.means_ @ signs
        return np.argsort(score, kind="stable")  # order_[k] = raw hmm state named names[k]

    # -- inference -------------------------------------------------------------------------------------
    def log_frameprob(self, X: np.ndarray) -> np.ndarray:
        """Per-day log emission densities under each raw state (for filtering)."""
        return self.hmm_._compute_log_likelihood(self._scale(np.asarray(X, float)))

    def predict_filtered(self, X: np.ndarray) -> np.ndarray:
        """Forward-only probabilities p(s_t | x_0..x_t), columns in ``names`` order."""
        probs = forward_filter(self.hmm_.startprob_, self.hmm_.transmat_, self.log_frameprob(X))
        return probs[:, self.order_]

    def score(self, X: np.ndarray) -> float:
        return float(self.hmm_.score(self._scale(np.asarray(X, float))))

    # -- diagnostics in named order ------------------------------------------------------------------------
    @property
    def transmat_(self) -> np.ndarray:
        o = self.order_
        return self.hmm_.transmat_[np.ix_(o, o)]

    @property
    def startprob_(self) -> np.ndarray:
        return self.hmm_.startprob_[self.order_]

    @property
    def means_(self) -> np.ndarray:
        """State means in original feature units, rows in ``names`` order."""
        return self.hmm_.means_[self.order_] * self.scaler_scale_ + self.scaler_mean_

    @property
    def expected_durations_(self) -> np.ndarray:
        return 1.0 / np.maximum(1.0 - np.diag(self.transmat_), 1e-12)

    @property
    def n_params_(self) -> int:
        k, d = self.n_states, self.hmm_.means_.shape[1]
        cov = k * d * (d + 1) / 2 if self.covariance_type == "full" else k * d
        return int((k - 1) + k * (k - 1) + k * d + cov)

    def bic(self, X: np.ndarray) -> float:
        return float(-2 * self.score(X) + self.n_params_ * np.log(len(X)))


# hmmlearn logs every non-monotone EM step at WARNING; convergence is judged and reported by this module
logging.getLogger("hmmlearn.base").setLevel(logging.ERROR)

_CONTROLLER: list[ThreadpoolController] = []


def single_blas_thread():  # type: ignore[no-untyped-def]
    """Context limiting BLAS/OpenMP to one thread (the controller is built once: building it scans libraries)."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1)


def _fit_quietly(hmm: GaussianHMM, Z: np.ndarray) -> float | None:
    """Fit and score one EM start; None when it diverged or degenerated."""
    with warnings.catch_warnings(), single_blas_thread():
        # hmmlearn warns on every non-monotone step; we judge fits ourselves. One BLAS thread: these matrices
        # are small, and threads fighting over 2 cores made EM 3-30x slower (measured).
        warnings.simplefilter("ignore")
        try:
            hmm.fit(Z)
            score = float(hmm.score(Z))
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            return None
    if _is_degenerate(hmm) or not np.isfinite(score):
        return None
    return score


def _is_degenerate(hmm: GaussianHMM) -> bool:
    """A fit that lost a state (NaN means, hmmlearn #169) or a positive-definite covariance (#285)."""
    if not (np.all(np.isfinite(hmm.means_)) and np.all(np.isfinite(hmm.transmat_))):
        return True
    try:
        covs = hmm.covars_
        np.linalg.cholesky(covs)
    except np.linalg.LinAlgError:
        return True
    return False
