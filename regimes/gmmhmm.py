"""GMMRegimeModel: an HMM with Gaussian-mixture emissions per state (hmmlearn's ``GMMHMM``), for fat tails.

Same contract as ``regimes.jump.JumpRegimeModel`` so it runs through ``regimes.generic_walk``: scaling fitted
on the training window only, ``n_init`` seeded restarts (best log-likelihood kept), forward-only probabilities
(``predict_proba_online``: the normalised forward variable, never hmmlearn's smoothed ``predict_proba``), state
names by the HMM's rule (``order_by``, ``regimes.naming``: each state's mixture-implied mean and covariance, the
transition matrix's stationary weights) at a first fit and by Hungarian alignment of the state means afterwards
unless that clearly contradicts the scores, and
``online_loglik`` (log p(x_t | x_<t) in original units) so the out-of-sample log-likelihood is defined.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from regimeshift.core.compat import quiet_hmmlearn
from regimeshift.regimes.fast_hmm import forward
from regimeshift.regimes.filtering import forward_filter
from regimeshift.regimes.threads import single_blas_thread
from regimeshift.regimes import naming
from regimeshift.regimes.estimator_params import EstimatorParams
from regimeshift.regimes.named_states import NamedStates, mixture_moments, window_scaler
from regimeshift.regimes.spec import default
from sklearn.utils.validation import check_is_fitted


class GMMRegimeModel(NamedStates, EstimatorParams):
    """HMM with ``n_mix`` Gaussian components per state (hmmlearn ``GMMHMM``), forward-only inference."""

    def __init__(
        self,
        names: Sequence[str] = default("names"),
        n_mix: int = default("n_mix"),
        covariance_type: str = "diag",
        n_iter: int = default("n_iter"),
        tol: float = default("tol"),
        min_covar: float = default("min_covar"),
        stress_signs: Sequence[float] | None = None,
        random_state: int = default("seed"),
        n_init: int = default("n_init"),
        order_by: str = naming.RISK,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        self.names = names
        self.n_mix = n_mix
        self.covariance_type = covariance_type
        self.n_iter = n_iter
        self.tol = tol
        self.min_covar = min_covar
        self.stress_signs = stress_signs
        self.random_state = random_state
        self.n_init = n_init
        self.order_by = order_by
        self.feature_names = feature_names

    @property
    def n_states(self) -> int:
        return len(tuple(self.names))

    def _new_hmm(self, seed: int) -> Any:
        from hmmlearn.hmm import GMMHMM

        return GMMHMM(n_components=self.n_states, n_mix=int(self.n_mix), covariance_type=self.covariance_type,
                      min_covar=self.min_covar, n_iter=int(self.n_iter), tol=self.tol, random_state=seed)

    def fit(self, X: np.ndarray, align_to: Any = None, warm_start: Any = None) -> GMMRegimeModel:
        X = np.asarray(X, dtype=float)
        k = self.n_states
        if X.ndim != 2 or len(X) < 10 * k * int(self.n_mix):
            raise ValueError(f"need a 2-D training window with at least {10 * k * int(self.n_mix)} rows, got {X.shape}")
        mean, scale = window_scaler(X)
        self.scaler_mean_, self.scaler_scale_ = mean, scale
        Z = (X - mean) / scale
        best, best_ll = None, -np.inf
        quiet_hmmlearn()  # hmmlearn logs every non-increasing EM step of a start; the walk reports convergence itself
        with warnings.catch_warnings(), single_blas_thread():
            warnings.simplefilter("ignore")
            for i in range(max(1, int(self.n_init))):
                hmm = self._new_hmm(int(self.random_state) + i)
                try:
                    hmm.fit(Z)
                    ll = float(hmm.score(Z))
                except (ValueError, FloatingPointError, np.linalg.LinAlgError):
                    continue
                if np.isfinite(ll) and ll > best_ll:
                    best, best_ll = hmm, ll
        if best is None:
            raise FloatingPointError("every GMMHMM start failed")
        self.hmm_ = best
        self.loglik_ = best_ll
        self.n_iter_ = int(best.monitor_.iter)
        self.converged_ = bool(best.monitor_.iter < self.n_iter)
        self.n_train_ = len(X)
        self._set_moments()
        self.order_, self.relabelled_ = self._name(align_to)
        return self

    def _set_moments(self) -> None:
        """Each state's mixture-implied mean and covariance in original units (what the naming rule scores)."""
        h = self.hmm_
        zmeans, zcovs = mixture_moments(h.weights_, h.means_, _full_component_covars(h))
        s = self.scaler_scale_
        self.raw_means_ = zmeans * s + self.scaler_mean_
        self.raw_covars_ = zcovs * np.outer(s, s)[None]

    @property
    def raw_weights_(self) -> np.ndarray:
        """The states' long-run shares (stationary distribution), as the HMM's rule weighs them."""
        return naming.state_weights(self.hmm_.transmat_)

    def _logf(self, X: np.ndarray) -> np.ndarray:
        Z = (np.asarray(X, float) - self.scaler_mean_) / self.scaler_scale_
        return self.hmm_._compute_log_likelihood(Z)

    def predict_proba_online(self, X: np.ndarray) -> np.ndarray:
        """Filtered p(s_t | x_0..x_t), ``names`` order."""
        check_is_fitted(self, "hmm_")
        h = self.hmm_
        return forward_filter(h.startprob_, h.transmat_, self._logf(X))[:, self.order_]

    predict_filtered = predict_proba_online

    def online_loglik(self, X: np.ndarray) -> np.ndarray:
        """Per row log p(x_t | x_0..x_{t-1}) in original feature units."""
        h = self.hmm_
        ll, _ = forward(h.startprob_, h.transmat_, np.ascontiguousarray(self._logf(X)))
        return np.asarray(ll) - np.log(self.scaler_scale_).sum()

    @property
    def raw_transmat_(self) -> np.ndarray:
        return self.hmm_.transmat_

    # -- persistence (regimes.cache) ------------------------------------------------------------------------------
    def to_state(self) -> tuple[dict[str, np.ndarray], dict[str, object]]:
        h = self.hmm_
        arrays = {
            "startprob": h.startprob_, "transmat": h.transmat_, "means": h.means_, "covars": h.covars_,
            "weights": h.weights_, "scaler_mean": self.scaler_mean_, "scaler_scale": self.scaler_scale_,
            "order": np.asarray(self.order_),
        }
        params = self.get_params()
        params["names"] = list(self.names)
        params["stress_signs"] = None if self.stress_signs is None else [float(s) for s in self.stress_signs]
        params["feature_names"] = None if self.feature_names is None else list(self.feature_names)
        scalars = {"class": "gmmhmm", "params": params, "loglik": self.loglik_, "n_iter": self.n_iter_,
                   "converged": self.converged_, "n_train": self.n_train_, "relabelled": bool(self.relabelled_)}
        return arrays, scalars

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], scalars: dict[str, Any]) -> GMMRegimeModel:
        params = dict(scalars["params"])
        params["names"] = tuple(params["names"])
        m = cls(**params)
        h = m._new_hmm(int(m.random_state))
        h.n_features = arrays["means"].shape[-1]
        h.startprob_, h.transmat_ = arrays["startprob"], arrays["transmat"]
        h.means_, h.covars_, h.weights_ = arrays["means"], arrays["covars"], arrays["weights"]
        m.hmm_ = h
        m.scaler_mean_, m.scaler_scale_ = arrays["scaler_mean"], arrays["scaler_scale"]
        m.order_ = np.asarray(arrays["order"], dtype=int)
        m._set_moments()
        m.loglik_, m.n_iter_ = float(scalars["loglik"]), int(scalars["n_iter"])
        m.converged_, m.n_train_ = bool(scalars["converged"]), int(scalars["n_train"])
        m.relabelled_ = bool(scalars["relabelled"])
        return m


def _full_component_covars(h: Any) -> np.ndarray:
    """hmmlearn GMMHMM's component covariances as full matrices, K x M x D x D, whatever ``covariance_type``."""
    k, m, d = h.means_.shape
    c = np.asarray(h.covars_, float)
    if h.covariance_type == "full":
        return c
    if h.covariance_type == "diag":
        return c[..., :, None] * np.eye(d)
    if h.covariance_type == "spherical":
        return c[..., None, None] * np.eye(d)
    if h.covariance_type == "tied":  # one matrix per state, shared by its components
        return np.broadcast_to(c[:, None], (k, m, d, d)).copy()
    raise ValueError(f"unknown covariance_type {h.covariance_type!r}")
