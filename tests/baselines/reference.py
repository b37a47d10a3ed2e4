"""The walk-forward as it was before the fast engine: hmmlearn's ``fit`` per start, a full forward pass per refit.

Kept verbatim (apart from names) as the *naive* baseline that benchmarks/regime_walkforward.py times the fast
engine against, and that tests compare results with: ``walk_forward_reference(..., warm_start=False)`` is the
"cold" approach (``n_init`` k-means starts at every refit), ``warm_start=True`` the "warm" one (EM from the
previous fit, k-means starts every ``cold_every`` refits and after a non-converged warm fit).
"""
from __future__ import annotations

import time
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from hmmlearn.hmm import GaussianHMM
from regimeshift.core.errors import RegimeshiftError
from regimeshift.regimes import (
    hmm_kernels as _hmmc,  # hmmlearn's compiled routines, one import site
)
from regimeshift.regimes.hmm_twin import FastGaussianHMM
from regimeshift.regimes.filtering import forward_filter
from regimeshift.regimes.threads import single_blas_thread
from scipy.special import logsumexp


class ReferenceHMM:
    """The former LiquidityHMM: hmmlearn EM per start, stress-ordered names at every fit."""

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

    def _new_hmm(self, seed: int, init_params: str, implementation: str = "scaling") -> GaussianHMM:
        k = self.n_states
        prior = 1.0 + self.sticky * np.eye(k) if self.sticky > 0 else 1.0
        return FastGaussianHMM(
            n_components=k, covariance_type=self.covariance_type, n_iter=self.n_iter, tol=self.tol,
            min_covar=self.min_covar, transmat_prior=prior, random_state=seed, init_params=init_params,
            params="stmc", implementation=implementation,
        )

    def _scale(self, X: np.ndarray) -> np.ndarray:
        return (X - self.scaler_mean_) / self.scaler_scale_

    def fit(self, X: np.ndarray, warm_start: ReferenceHMM | None = None, cold_starts: int | None = None) -> ReferenceHMM:
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

    def _warm_hmm(self, prev: ReferenceHMM) -> GaussianHMM:
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
        return np.argsort(self.hmm_.means_ @ signs, kind="stable")

    def log_frameprob(self, X: np.ndarray) -> np.ndarray:
        return self.hmm_._compute_log_likelihood(self._scale(np.asarray(X, float)))

    def predict_filtered(self, X: np.ndarray) -> np.ndarray:
        probs = forward_filter(self.hmm_.startprob_, self.hmm_.transmat_, self.log_frameprob(X))
        return probs[:, self.order_]

    @property
    def transmat_(self) -> np.ndarray:
        o = self.order_
        return self.hmm_.transmat_[np.ix_(o, o)]


def _fit_quietly(hmm: GaussianHMM, Z: np.ndarray) -> float | None:
    with warnings.catch_warnings(), single_blas_thread():
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
    if not (np.all(np.isfinite(hmm.means_)) and np.all(np.isfinite(hmm.transmat_))):
        return True
    try:
        np.linalg.cholesky(hmm.covars_)
    except np.linalg.LinAlgError:
        return True
    return False


def walk_forward_reference(
    features: pd.DataFrame,
    *,
    names: Sequence[str] = ("abundant", "tightening", "crunch"),
    covariance_type: str = "full",
    n_init: int = 3,
    n_iter: int = 200,
    tol: float = 1e-3,
    min_covar: float = 1e-3,
    sticky: float = 0.0,
    min_train: int = 756,
    refit: str | int = "monthly",
    window: str | int = "expanding",
    warm_start: bool = True,
    cold_every: int = 12,
    stress_signs: Sequence[float] | None = None,
    seed: int = 0,
):  # type: ignore[no-untyped-def]
    """The former ``walk_forward``; returns a ``regimes.walkforward.RegimeResult``."""
    from regimeshift.regimes.result import RegimeResult
    from regimeshift.regimes.walkforward import refit_positions, usable_block

    t0 = time.perf_counter()
    block = usable_block(features)
    X = block.to_numpy(dtype=float)
    index = block.index
    positions = refit_positions(index, min_train, refit)
    T = len(X)
    probs = np.full((T, len(names)), np.nan)
    daily = np.full(T, np.nan)
    oos = 0.0
    rows = []
    model: ReferenceHMM | None = None
    for k, r in enumerate(positions):
        end = positions[k + 1] if k + 1 < len(positions) else T
        start = 0 if window == "expanding" else max(0, r + 1 - int(window))
        train = X[start : r + 1]
        candidate = ReferenceHMM(
            names=names, covariance_type=covariance_type, n_init=n_init, n_iter=n_iter, tol=tol,
            min_covar=min_covar, sticky=sticky, stress_signs=stress_signs, random_state=seed,
        )
        fallback = False
        try:
            if model is None or not warm_start:
                candidate.fit(train)
            else:
                cold = n_init if k % cold_every == 0 else 0
                candidate.fit(train, warm_start=model, cold_starts=cold)
                if not candidate.converged_ and cold == 0:
                    candidate.fit(train, warm_start=model, cold_starts=n_init)
            converged = candidate.converged_
            model = candidate
        except FloatingPointError:
            if model is None:
                raise RegimeshiftError(f"regimes: the first fit at {index[r].date()} failed on every start") from None
            fallback, converged = True, False
        rows.append(
            {
                "date": index[r],
                "n_train": len(train),
                "loglik": model.loglik_ if not fallback else np.nan,
                "n_iter": model.n_iter_ if not fallback else 0,
                "converged": bool(converged),
                "warm_started": bool(model.warm_started_) if not fallback else False,
                "fallback": fallback,
            }
        )
        seg = X[start:end]
        filtered = model.predict_filtered(seg)
        probs[r:end] = filtered[r - start :]
        scored_end = min(end + 1, T)  # the next refit day is out of sample for this model too
        if scored_end > r + 1:
            per_day = _one_step_loglik(model, X[start:scored_end], r + 1 - start)
            daily[r + 1 : scored_end] = per_day
            oos += float(per_day.sum())
    result = pd.DataFrame(probs, index=index, columns=list(names)).iloc[positions[0] :]
    refits = pd.DataFrame(rows).set_index("date")
    path = pd.Series(daily, index=index, name="loglik").iloc[positions[0] + 1 :]
    return RegimeResult(result, refits, model, float(oos), time.perf_counter() - t0, path)  # type: ignore[arg-type]


def _one_step_loglik(model: ReferenceHMM, seg: np.ndarray, first: int) -> np.ndarray:
    """log p(x_t | x_<t) for rows t >= first of ``seg``, original feature units."""
    logf = model.log_frameprob(seg)
    _, fwd = _hmmc.forward_log(model.hmm_.startprob_, model.hmm_.transmat_, np.ascontiguousarray(logf))
    total = logsumexp(fwd, axis=1)
    return np.diff(total[first - 1 :]) - float(np.log(model.scaler_scale_).sum())
