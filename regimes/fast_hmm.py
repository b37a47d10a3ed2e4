"""Gaussian-HMM EM on BLAS and hmmlearn's compiled lattice routines, without hmmlearn's per-iteration overhead.

- (``regimes.hmm_twin`` holds the hmmlearn objects: this module imports none of hmmlearn's estimators, so a cold
  walk-forward loads no scikit-learn.)
- ``Design``: rows prepared once -- a fixed affine map and ``[Q | U | 1]``, each row's pairwise products, the
  row and a constant -- so that the log densities of all states are ONE matrix product per E-step and all
  sufficient statistics ONE product per M-step; a walk-forward fits every refit on a view of it.
- ``em_fit``: hmmlearn's EM (its "scaling" forward-backward, compiled in one pass in ``regimes.lattice_kernel``
  with ``hmmlearn._hmmc``'s log-space routines as the fallback, and its GaussianHMM M-step
  with the default priors: ``startprob_prior=1``, ``transmat_prior`` as given, ``means_weight=0``,
  ``covars_prior=1e-2`` in the window's standardised units, ``covars_weight=1``) as a plain loop. It differs
  from ``GaussianHMM.fit`` in three ways:

  * each frame's densities are divided by their row maximum before the scaled forward pass (the
    log-likelihood adds the maxima back): extreme days no longer underflow into the slow log-space path, and
    posteriors and transition counts are unchanged (the scaled recursions are invariant to a per-row factor);
  * when the gain falls below ``tol`` EM stops *before* another M-step, so the parameters returned are those
    whose log-likelihood and forward lattice were just computed: no extra ``score`` pass, and the last forward
    row is the filtered state probability on the last training day (what a walk-forward continues from);
  * no validation or logging per iteration.

  From hmmlearn's start it follows hmmlearn's parameter path to rounding (tests/test_regime_em.py).
- starts: ``kmeans_init`` (hmmlearn's: k-means means, pooled covariance, Dirichlet(1/K) start and transition
  probabilities; bit for bit with 10 k-means inits) and ``kmeans_start`` (k-means centres, per-cluster
  covariances, transition counts of the cluster labels).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from regimeshift.regimes import (
    hmm_kernels as _hmmc,  # hmmlearn's compiled routines, one import site
)
from scipy.special import fdtri, gammaincinv, gammaln, logsumexp
from regimeshift.regimes.lattice_kernel import frames, log_lattice
from regimeshift.regimes.t_density_kernel import t_from_gaussian, weighted_log_u_minus_u
from regimeshift.regimes.spec import default

_LOG_2PI = np.log(2 * np.pi)
COVARS_PRIOR = 1e-2  # hmmlearn's GaussianHMM default, kept so fits agree with it


# -- parameters -------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class HMMParams:
    """Parameters of a Gaussian HMM in the (scaled) units it was fitted in. ``covars``: (K, D, D) or (K, D)."""

    startprob: np.ndarray
    transmat: np.ndarray
    means: np.ndarray
    covars: np.ndarray
    covariance_type: str
    # Student-t degrees of freedom of the states' emissions: one number for every state or one per state (K,);
    # inf = Gaussian. With finite ``dof`` ``covars`` are the t's scale matrices (covariance = scale * dof / (dof - 2)).
    dof: float | np.ndarray = float("inf")

    @property
    def n_states(self) -> int:
        return len(self.startprob)

    @property
    def full_covars(self) -> np.ndarray:
        if self.covariance_type == "full":
            return self.covars
        return np.stack([np.diag(c) for c in self.covars])

    @property
    def dofs(self) -> np.ndarray:
        """Each state's degrees of freedom, shape (K,) (inf for a Gaussian state)."""
        return np.broadcast_to(np.asarray(self.dof, dtype=float), (self.n_states,)).copy()

    @property
    def is_student_t(self) -> bool:
        if np.ndim(self.dof) == 0:  # the common case, asked every E-step: no array round trip
            return bool(np.isfinite(self.dof))
        return bool(np.isfinite(self.dofs).any())

    @property
    def covariances(self) -> np.ndarray:
        """The emissions' covariance matrices (full): the scale matrices times dof / (dof - 2) for a t state."""
        v = self.dofs
        with np.errstate(invalid="ignore", divide="ignore"):
            factor = np.where(np.isfinite(v) & (v > 2), v / (v - 2.0), 1.0)
        return self.full_covars * factor[:, None, None]

    def is_valid(self) -> bool:
        """Finite, positive-definite, no empty state (hmmlearn #169, #285)."""
        arrays = (self.startprob, self.transmat, self.means, self.covars)
        if not all(np.all(np.isfinite(a)) for a in arrays):
            return False
        if self.covariance_type == "full":
            try:
                np.linalg.cholesky(self.covars)
            except np.linalg.LinAlgError:
                return False
            return True
        return bool(np.all(self.covars > 0))


# -- densities ---------------------------------------------------------------------------------------------------
def log_density(X: np.ndarray, means: np.ndarray, covars: np.ndarray, covariance_type: str) -> np.ndarray:
    """Log Gaussian densities, shape (T, K). Full: one GEMM over all states. Raises LinAlgError if not PD."""
    X = np.asarray(X, dtype=float)
    n, d = X.shape
    k = len(means)
    if covariance_type == "full":
        chol = np.linalg.cholesky(covars)
        inv = np.linalg.inv(chol)  # (K, D, D) lower-triangular inverses
        logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        # sol[:, k, :] = (X - mu_k) @ inv_k.T = X @ inv_k.T - mu_k @ inv_k.T, for every k in one product
        w = inv.transpose(0, 2, 1)  # (K, D, D): w[k] = inv_k.T
        shift = np.einsum("kd,kde->ke", means, w)
        sol = (X @ w.transpose(1, 0, 2).reshape(d, k * d)).reshape(n, k, d) - shift[None]
        maha = np.einsum("tkd,tkd->tk", sol, sol)
        return -0.5 * (d * _LOG_2PI + maha + logdet[None, :])
    if covariance_type == "diag":
        var = np.maximum(covars, np.finfo(float).tiny)
        maha = ((X[:, None, :] - means[None]) ** 2 / var[None]).sum(axis=-1)
        return -0.5 * (d * _LOG_2PI + np.log(var).sum(axis=-1)[None, :] + maha)
    raise ValueError(f"covariance_type must be 'full' or 'diag', got {covariance_type!r}")


def _log_det(covars: np.ndarray, covariance_type: str) -> np.ndarray:
    if covariance_type == "full":
        return 2.0 * np.log(np.diagonal(np.linalg.cholesky(covars), axis1=1, axis2=2)).sum(axis=1)
    return np.log(np.maximum(covars, np.finfo(float).tiny)).sum(axis=1)


def mahalanobis(log_gauss: np.ndarray, logdet: np.ndarray, d: int) -> np.ndarray:
    """Squared Mahalanobis distances (T, K) recovered from Gaussian log densities and the states' log-dets."""
    return np.maximum(-2.0 * log_gauss - d * _LOG_2PI - logdet[None, :], 0.0)


def student_t_log_density(maha: np.ndarray, logdet: np.ndarray, d: int, dof: float | np.ndarray) -> np.ndarray:
    """Multivariate Student-t log densities (T, K) from squared Mahalanobis distances under the scale matrices.

    Why a t: daily returns have fat tails, and under a Gaussian one extreme day is overwhelming evidence for the
    most volatile state, so a Gaussian HMM on fat-tailed data spends states on tail days instead of regimes.
    This is the formula written out; fits and filters compute it compiled (``t_densities``), which tests
    compare with it."""
    if np.ndim(dof) == 0:
        return _t_const(d, dof) - 0.5 * logdet[None, :] - 0.5 * (dof + d) * np.log1p(maha / dof)
    v = np.asarray(dof, dtype=float)  # one dof per state (column); inf marks a Gaussian state
    out = -0.5 * (d * _LOG_2PI + logdet[None, :] + maha)
    t = np.isfinite(v)
    if t.any():
        vt = v[t][None, :]
        out[:, t] = _t_const(d, vt) - 0.5 * logdet[None, t] - 0.5 * (vt + d) * np.log1p(maha[:, t] / vt)
    return out


def _t_const(d: int, dof: Any) -> Any:
    """The log normalising constant of a d-variate Student-t with ``dof`` degrees of freedom (unit scale); an
    array of dofs gives an array."""
    c = gammaln(0.5 * (dof + d)) - gammaln(0.5 * dof) - 0.5 * d * np.log(dof * np.pi)
    return float(c) if np.ndim(c) == 0 else c


def emission_log_density(X: np.ndarray, p: HMMParams) -> np.ndarray:
    """Log emission densities (T, K) of rows ``X`` (in ``p``'s units): Gaussian, or Student-t when ``p.dof`` is
    finite."""
    logf = log_density(X, p.means, p.covars, p.covariance_type)
    if not p.is_student_t:
        return logf
    return t_densities(logf, _log_det(p.covars, p.covariance_type), p)[0]


def t_densities(log_gauss: np.ndarray, logdet: np.ndarray, p: HMMParams) -> tuple[np.ndarray, np.ndarray]:
    """(Student-t log densities (T, K), the E-step's weights (dof + d) / (dof + maha)) of ``p``'s states from the
    Gaussian log densities of the same scale matrices (log-determinants ``logdet``): ``student_t_log_density``'s
    formula in one compiled pass (regimes/t_density_kernel.py); a Gaussian state (inf dof) keeps its density and
    weighs every day 1."""
    d = p.means.shape[1]
    dofs = p.dofs
    t = np.isfinite(dofs)
    consts = np.zeros(len(dofs))
    consts[t] = _t_const(d, dofs[t])
    return t_from_gaussian(np.ascontiguousarray(log_gauss, dtype=float), logdet, d, dofs, consts)


@functools.lru_cache(maxsize=64)
def _chi2_limit(d: int) -> float:
    """The chi-square(d) 99.9 % quantile: asked at every refit for the same d (scipy's ppf took ~0.3 ms a call,
    on the main process's path in the walk-forward). ``scipy.special`` rather than ``scipy.stats.chi2.ppf``:
    the same function (chi2's ``_ppf`` is this expression, to the bit) without ~0.5 s of ``scipy.stats``
    imports on a cold run."""
    return float(2.0 * gammaincinv(d / 2.0, 0.999))


def outlier_distances(logf: np.ndarray, p: HMMParams) -> tuple[np.ndarray, np.ndarray]:
    """(squared Mahalanobis distances (T, K) of rows with emission log densities ``logf`` under ``p``, each
    state's 99.9 % quantile of that distance under the model (K,)): a chi-square for a Gaussian state,
    d * F(d, dof) for a t state."""
    d = p.means.shape[1]
    logdet = _log_det(p.covars, p.covariance_type)
    k = p.n_states
    if not p.is_student_t:
        return mahalanobis(logf, logdet, d), np.full(k, _chi2_limit(d))
    nu = p.dofs
    maha = mahalanobis(logf, logdet, d)  # right for the Gaussian states; the t states' are recovered below
    t = np.isfinite(nu)
    vt = nu[t][None, :]
    log1p_term = -2.0 * (logf[:, t] - _t_const(d, vt) + 0.5 * logdet[None, t]) / (vt + d)
    maha[:, t] = vt * np.expm1(log1p_term)
    limit = np.array([float(d * fdtri(d, v, 0.999)) if np.isfinite(v) else _chi2_limit(d) for v in nu])  # F's ppf
    return maha, limit


# -- forward pass ----------------------------------------------------------------------------------------------
def forward(
    startprob: np.ndarray, transmat: np.ndarray, logf: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Scaled forward pass from prior ``startprob``: (per-row log p(x_t | x_<t), filtered probabilities (T, K)).

    ``startprob`` may be any prior over the first row's state, e.g. the one-step prediction ``alpha @ A`` of a
    filter that already consumed earlier rows: the first row's term is then the predictive log p(x_0 | past).
    Rows are divided by their maximum density first (added back to the log-likelihood), so extreme days do not
    underflow; the log-space pass is the fallback when a prediction is exactly zero.
    """
    startprob = np.ascontiguousarray(startprob, dtype=float)
    transmat = np.ascontiguousarray(transmat, dtype=float)
    if len(logf) == 0:
        return np.empty(0), np.empty((0, len(startprob)))
    frame, shift = frames(np.ascontiguousarray(logf, dtype=float))  # each row over its largest density, as EM's
    try:
        ll, fwd, scaling = _hmmc.forward_scaling(startprob, transmat, frame)
        if np.isfinite(ll):
            return shift - np.log(scaling), fwd
    except (ValueError, FloatingPointError, ZeroDivisionError):
        pass
    with np.errstate(divide="ignore", under="ignore"):
        _, lfwd = _hmmc.forward_log(startprob, transmat, np.ascontiguousarray(logf, dtype=float))
    total = logsumexp(lfwd, axis=1)
    probs = np.exp(lfwd - total[:, None])
    return np.diff(total, prepend=0.0), probs / probs.sum(axis=1, keepdims=True)  # rows drift ~1e-9 on huge logf


# -- EM -----------------------------------------------------------------------------------------------------------
class Design:
    """Rows prepared once for many EM iterations and many refits: ``U = (X - center) / scale`` and
    ``A = [Q | U | 1]`` with ``Q[t]`` the upper triangle of ``u_t u_t'`` (the squares for diag).

    The log densities of all states are ``A @ W`` (W holds -P_k/2, P_k mu_k and the constants; P = inverse
    covariance) and every sufficient statistic is in ``A.T @ posteriors``: one product each, no (T, K, D)
    temporaries (fresh large temporaries cost more in page faults than in arithmetic on this class of machine:
    2.1 ms -> 0.2 ms per density on 5,000 x 10).

    ``center``/``scale`` are one fixed affine map (for conditioning only; EM is exactly equivariant under it
    once the covariance prior is expressed in the same units, see ``em_fit``). A walk-forward builds one
    ``Design`` over all rows with the map of the FIRST training window and fits every refit on a row window
    ``design.window(lo, hi)``: a view, so nothing is recomputed per refit and nothing depends on later rows.
    """

    def __init__(
        self,
        X: np.ndarray,
        covariance_type: str,
        center: np.ndarray | None = None,
        scale: np.ndarray | None = None,
        *,
        _views: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        self.covariance_type = covariance_type
        self.center: np.ndarray
        self.scale: np.ndarray
        if covariance_type not in ("full", "diag"):
            raise ValueError(f"covariance_type must be 'full' or 'diag', got {covariance_type!r}")
        if _views is not None:
            self.U, self.A = _views
            self.center, self.scale = center, scale  # type: ignore[assignment]
        else:
            X = np.asarray(X, dtype=float)
            if center is None:
                center = X.mean(axis=0)
            if scale is None:
                scale = _safe_scale(X.std(axis=0))
            self.center = np.asarray(center, dtype=float)
            self.scale = np.asarray(scale, dtype=float)
            self.U = np.ascontiguousarray((X - self.center) / self.scale)
            self.A = self._augmented(self.U)
        d = self.U.shape[1]
        self.iu = np.triu_indices(d) if covariance_type == "full" else (np.arange(d), np.arange(d))
        self.n_q = len(self.iu[0])
        self.weight = np.where(self.iu[0] == self.iu[1], 1.0, 2.0)
        self._scaler: tuple[np.ndarray, np.ndarray] | None = None
        self._local: dict[int, np.ndarray] = {}

    def _augmented(self, U: np.ndarray) -> np.ndarray:
        """``[Q | U | 1]``: pairwise products (upper triangle; squares for diag), the rows, a constant."""
        n, d = U.shape
        q = d * (d + 1) // 2 if self.covariance_type == "full" else d
        out = np.empty((n, q + d + 1))
        if self.covariance_type == "full":
            col = 0
            for i in range(d):
                np.multiply(U[:, i : i + 1], U[:, i:], out=out[:, col : col + d - i])
                col += d - i
        else:
            np.multiply(U, U, out=out[:, :d])
        out[:, q : q + d] = U
        out[:, -1] = 1.0
        return out

    def __len__(self) -> int:
        return len(self.U)

    @property
    def n_features(self) -> int:
        return self.U.shape[1]

    def window(self, lo: int, hi: int) -> Design:
        """Rows lo..hi-1 (views, same affine map)."""
        return Design(
            None, self.covariance_type, self.center, self.scale,  # type: ignore[arg-type]
            _views=(self.U[lo:hi], self.A[lo:hi]),
        )

    def scaler(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std of these rows, in design units (a zero std in original units counts as 1)."""
        if self._scaler is None:
            m = self.U.mean(axis=0)
            s = self.U.std(axis=0)
            self._scaler = (m, np.where(s * self.scale < 1e-12, 1.0 / self.scale, s))
        return self._scaler

    def local_statistics(self, half: int) -> np.ndarray:
        """``regimes.local_start.local_statistics`` of these rows standardised by their own mean/std (what a local
        cold start clusters), computed once per window and half-width: the starts of a cold fit that share a
        window, and both families of ``emission = "auto"``, read the same."""
        if half not in self._local:
            from regimeshift.regimes.local_start import local_statistics

            m, s = self.scaler()
            self._local[half] = local_statistics((self.U - m) / s, half)
        return self._local[half]

    def log_density(self, p: HMMParams) -> np.ndarray:
        """Log emission densities (T, K) in design units (Gaussian, or Student-t when ``p.dof`` is finite).
        Raises LinAlgError when a covariance is not positive-definite."""
        return self.log_density_and_weights(p)[0]

    def log_density_and_weights(self, p: HMMParams) -> tuple[np.ndarray, np.ndarray | None]:
        """(log emission densities (T, K), the t's E-step weights (dof + d) / (dof + maha), None if Gaussian)."""
        logf, logdet = self.gaussian_log_density(p)
        if not p.is_student_t:
            return logf, None
        return t_densities(logf, logdet, p)

    def gaussian_log_density(self, p: HMMParams) -> tuple[np.ndarray, np.ndarray]:
        """(Gaussian log densities (T, K) with ``p``'s means and covars, the covars' log-determinants): ONE product
        ``[Q | U | 1] @ W``. Raises LinAlgError when a covariance is not positive-definite."""
        d = self.U.shape[1]
        k = len(p.means)
        w = np.empty((self.A.shape[1], k))
        if self.covariance_type == "full":
            chol = np.linalg.cholesky(p.covars)
            inv = np.linalg.inv(chol)
            prec = np.matmul(inv.transpose(0, 2, 1), inv)  # P_k = L^-T L^-1
            logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
            pm = np.einsum("kde,ke->kd", prec, p.means)  # P_k mu_k
            quad = prec[:, self.iu[0], self.iu[1]] * self.weight  # (K, D(D+1)/2)
        else:
            var = np.maximum(p.covars, np.finfo(float).tiny)
            prec_d = 1.0 / var
            logdet = np.log(var).sum(axis=1)
            pm = p.means * prec_d
            quad = prec_d
        const = d * _LOG_2PI + logdet + np.einsum("kd,kd->k", p.means, pm)
        # -1/2 (u'Pu - 2 mu'Pu + mu'P mu + log|S| + d log 2 pi)
        w[: self.n_q] = -0.5 * quad.T
        w[self.n_q : self.n_q + d] = pm.T
        w[-1] = -0.5 * const
        return self.A @ w, logdet

    def statistics(self, post: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sum_t post[t,k] u_t u_t' per state -- (K,D,D) full, (K,D) diag --, sum_t post[t,k] u_t, sum_t post[t,k])
        in ONE product ``[Q | U | 1]' @ post``."""
        s = self.A.T @ post
        d = self.U.shape[1]
        obs = s[self.n_q : self.n_q + d].T
        nk = s[-1]
        q = s[: self.n_q]
        if self.covariance_type == "diag":
            return q.T, obs, nk
        k = post.shape[1]
        out = np.empty((k, d, d))
        out[:, self.iu[0], self.iu[1]] = q.T
        out[:, self.iu[1], self.iu[0]] = q.T
        return out, obs, nk


def _safe_scale(s: np.ndarray) -> np.ndarray:
    s = np.array(s, dtype=float)
    s[s < 1e-12] = 1.0
    return s


def to_units(p: HMMParams, shift: np.ndarray, scale: np.ndarray) -> HMMParams:
    """Parameters of ``y = (x - shift) / scale`` given parameters of x (exact affine map of a Gaussian HMM)."""
    means = (p.means - shift) / scale
    if p.covariance_type == "full":
        covars = p.covars / np.outer(scale, scale)[None]
    else:
        covars = p.covars / (scale**2)[None]
    return HMMParams(p.startprob, p.transmat, means, covars, p.covariance_type, p.dof)


def covars_prior(scale: np.ndarray, covariance_type: str) -> np.ndarray:
    """hmmlearn's scalar ``covars_prior`` (added to every covariance entry in the scaled units of the training
    window) expressed in design units, where the window's scale is ``scale``."""
    return COVARS_PRIOR * (np.outer(scale, scale) if covariance_type == "full" else scale**2)


@dataclass(frozen=True, eq=False)
class EMResult:
    params: HMMParams
    loglik: float  # log p(X) under ``params`` (exact: the forward pass of these parameters)
    n_iter: int  # E-steps run
    converged: bool  # the gain fell below tol before n_iter (hitting n_iter is NOT converged)
    last_filtered: np.ndarray  # p(s_T-1 | x_0..x_T-1) under ``params``
    history: tuple[float, ...]


def _estep(data: Design, p: HMMParams) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(loglik, posteriors, transition counts, filtered last row, the t's weights or None) for parameters ``p``."""
    logf, u = data.log_density_and_weights(p)
    ll, post, xi, last = _lattice(p, logf)
    return ll, post, xi, last, u


def _lattice(p: HMMParams, logf: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Forward-backward on log emission densities ``logf``: (loglik, posteriors, transition counts, last
    filtered row)."""
    ok, ll, post, xi, last, shift = log_lattice(p.startprob, p.transmat, logf)
    if ok and np.isfinite(ll):
        return float(ll + shift.sum()), post, xi, last
    # log-space fallback (a state's prediction underflowed to exactly zero)
    with np.errstate(divide="ignore", under="ignore"):
        ll, lfwd = _hmmc.forward_log(p.startprob, p.transmat, logf)
        lbwd = _hmmc.backward_log(p.startprob, p.transmat, logf)
        lg = lfwd + lbwd
        post = np.exp(lg - logsumexp(lg, axis=1, keepdims=True))
        xi = np.exp(_hmmc.compute_log_xi_sum(lfwd, p.transmat, lbwd, logf))
    last = np.exp(lfwd[-1] - logsumexp(lfwd[-1]))
    return float(ll), post, xi, last


def _mstep(
    data: Design, p: HMMParams, post: np.ndarray, xi: np.ndarray, transmat_prior: np.ndarray | float,
    cprior: np.ndarray | float, u: np.ndarray | None = None,
) -> HMMParams:
    """hmmlearn's GaussianHMM M-step (startprob_prior=1, means_weight=0, covars_weight=1, covars_prior=cprior).

    For Student-t emissions (``u``: the E-step's weights) the ECM step with fixed dof: means and scatter weighted by
    ``post * u`` (a tail day counts less), the scatter divided by the posterior mass alone."""
    start = np.where(p.startprob == 0, 0.0, np.maximum(post[0], 0.0))
    start = start / start.sum()
    trans = np.where(p.transmat == 0, 0.0, np.maximum(transmat_prior - 1.0 + xi, 0.0))
    rows = trans.sum(axis=1, keepdims=True)
    rows[rows == 0] = 1.0
    trans = trans / rows
    sxx, obs, nw = data.statistics(post if u is None else post * u)
    nk = nw if u is None else post.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = obs / nw[:, None]
        if p.covariance_type == "full":
            om = obs[:, :, None] * means[:, None, :]
            c_n = sxx - om - om.transpose(0, 2, 1) + means[:, :, None] * means[:, None, :] * nw[:, None, None]
            covs = (cprior + c_n) / nk[:, None, None]
        else:
            c_n = sxx - 2 * means * obs + means**2 * nw[:, None]
            covs = (cprior + c_n) / np.maximum(nk, 1e-5)[:, None]
    return HMMParams(start, trans, means, covs, p.covariance_type, p.dof)


DOF_RANGE = (2.5, 100.0)  # a t beyond 100 dof is a Gaussian for any window we fit; below 2.5 the variance explodes


def update_dof(post: np.ndarray, u: np.ndarray, dof: float, d: int) -> float:
    """The ECM update of the degrees of freedom shared by all states (McLachlan & Peel 2000, sec. 7.5): the root
    in ``DOF_RANGE`` of  log(v/2) - psi(v/2) + 1 + mean_tk[post (log u - u)] + psi((dof+d)/2) - log((dof+d)/2),
    where ``u`` are the E-step's weights under the current ``dof``. Near-Gaussian data push it to the top of the
    range, fat tails pull it down, so one setting serves both."""
    from scipy.optimize import brentq
    from scipy.special import digamma

    c = 1.0 + float((post * (np.log(u) - u)).sum() / post.sum()) + digamma(0.5 * (dof + d)) - np.log(0.5 * (dof + d))

    def f(v: float) -> float:
        return float(np.log(0.5 * v) - digamma(0.5 * v) + c)

    lo, hi = DOF_RANGE
    if f(hi) > 0:  # decreasing in v: still positive at the top means no tails to speak of
        return hi
    if f(lo) < 0:
        return lo
    return float(brentq(f, lo, hi, xtol=1e-3))


def update_dofs(post: np.ndarray, u: np.ndarray, dofs: np.ndarray, d: int) -> np.ndarray:
    """``update_dof`` for each state (column) from its own posterior mass, all states at once: the root of the
    same decreasing function ``g(v) + c`` with ``g(v) = log(v/2) - psi(v/2)``, read off a table of ``g`` on a
    log grid of ``DOF_RANGE`` and polished by two Newton steps (trigamma slope): far below ``update_dof``'s 1e-3
    tolerance. Why not ``brentq`` per state or a bisection: they were 14 % and 29 % of a Student-t
    walk-forward, in Python overhead around ``digamma``."""
    from scipy.special import digamma, zeta

    mass = np.maximum(post.sum(axis=0), np.finfo(float).tiny)
    half = 0.5 * (dofs + d)
    c = 1.0 + weighted_log_u_minus_u(post, u) / mass + digamma(half) - np.log(half)
    grid, g = _dof_table()
    # g decreases in v: g(hi) + c > 0 means no tails to speak of, g(lo) + c < 0 tails fatter than the range
    v = np.exp(np.interp(-c, g[::-1], np.log(grid[::-1])))
    lo, hi = DOF_RANGE
    for _ in range(2):
        # trigamma as the Hurwitz zeta(2, x): what scipy's polygamma(1, x) returns, without its Python wrapper
        slope = 1.0 / v - 0.5 * zeta(2, 0.5 * v)
        v = np.clip(v - (np.log(0.5 * v) - digamma(0.5 * v) + c) / slope, lo, hi)
    v[c + g[-1] > 0] = hi
    v[c + g[0] < 0] = lo
    return v


@functools.lru_cache(maxsize=1)
def _dof_table() -> tuple[np.ndarray, np.ndarray]:
    """``(v, log(v/2) - psi(v/2))`` on 512 log-spaced points of ``DOF_RANGE`` (a constant, computed once)."""
    from scipy.special import digamma

    grid = np.exp(np.linspace(np.log(DOF_RANGE[0]), np.log(DOF_RANGE[1]), 512))
    return grid, np.log(0.5 * grid) - digamma(0.5 * grid)


def em_fit(
    data: Design | np.ndarray,
    init: HMMParams,
    *,
    transmat_prior: np.ndarray | float = 1.0,
    cprior: np.ndarray | float | None = None,
    n_iter: int = default("n_iter"),
    tol: float = default("tol"),
    fit_dof: bool = False,
) -> EMResult:
    """Run EM from ``init`` (design units) until the log-likelihood gain is below ``tol`` or ``n_iter`` E-steps.

    With Student-t emissions (``init.dof`` finite) and ``fit_dof``, the degrees of freedom shared by the states
    are re-estimated each iteration (``update_dof``); otherwise they stay at ``init.dof``.

    ``cprior`` defaults to hmmlearn's covariance prior in the scaled units of these rows (``covars_prior``), so
    the fit equals ``GaussianHMM.fit`` on the standardised rows whatever the design's affine map.
    Raises ``FloatingPointError`` when the fit degenerates (a state loses all weight, a covariance stops being
    positive-definite, the likelihood is not finite).
    """
    if not isinstance(data, Design):
        data = Design(data, init.covariance_type)
    if cprior is None:
        cprior = covars_prior(data.scaler()[1], init.covariance_type)
    p = init
    history: list[float] = []
    converged = False
    last = None
    ll = -np.inf
    for it in range(n_iter):
        try:
            ll, post, xi, last, u = _estep(data, p)
        except np.linalg.LinAlgError:
            raise FloatingPointError("a covariance is not positive-definite") from None
        if not np.isfinite(ll):
            raise FloatingPointError("non-finite log-likelihood")
        if history and ll - history[-1] < tol:
            history.append(ll)
            converged = it < n_iter - 1  # as PITFALLS.md asks: using all n_iter iterations is "not converged"
            break
        history.append(ll)
        if it == n_iter - 1:
            break  # keep the parameters whose likelihood we know
        p = _mstep(data, p, post, xi, transmat_prior, cprior, u)
        if fit_dof and u is not None:
            if np.ndim(p.dof) == 0:
                p = replace(p, dof=update_dof(post, u, p.dof, data.n_features))
            else:  # one dof per state: each from its own posterior mass (a Gaussian calm, a fat-tailed crunch)
                p = replace(p, dof=update_dofs(post, u, np.asarray(p.dof, dtype=float), data.n_features))
        # an empty state gives NaN (hmmlearn #169); positive-definiteness is checked by the next E-step's Cholesky
        if not (np.isfinite(p.means).all() and np.isfinite(p.covars).all() and np.isfinite(p.transmat).all()):
            raise FloatingPointError("EM left a state empty")
    return EMResult(p, float(ll), len(history), converged, np.asarray(last), tuple(history))


def kmeans_init(
    X: np.ndarray, n_states: int, covariance_type: str, seed: int, min_covar: float, kmeans_n_init: int = 10
) -> HMMParams:
    """hmmlearn's initialisation for ``init_params='stmc'`` and ``random_state=seed``.

    Dirichlet start and transition probabilities (hmmlearn's draws), k-means means, the pooled covariance plus
    ``min_covar`` for every state. With ``kmeans_n_init=10`` (hmmlearn's choice) it is hmmlearn's start bit for
    bit; fewer k-means inits are cheaper and give restarts with different seeds more different starts.
    """
    from regimeshift.regimes.kmeans import kmeans

    X = np.asarray(X, dtype=float)
    rng = np.random.RandomState(seed)
    init = 1.0 / n_states
    startprob = rng.dirichlet(np.full(n_states, init))
    transmat = rng.dirichlet(np.full(n_states, init), size=n_states)
    means = kmeans(X, n_states, seed, kmeans_n_init).centers
    cv = np.cov(X.T) + min_covar * np.eye(X.shape[1])
    if covariance_type == "full":
        covars = np.tile(cv, (n_states, 1, 1))
    else:
        covars = np.tile(np.diag(cv), (n_states, 1))
    return HMMParams(startprob, transmat, np.asarray(means, dtype=float), covars, covariance_type)


def kmeans_start(
    X: np.ndarray, n_states: int, covariance_type: str, seed: int, min_covar: float,
    kmeans_n_init: int = default("kmeans_n_init"),
) -> HMMParams:
    """A start that keeps what k-means found: its centres as means, each cluster's own covariance (plus
    ``min_covar``; the pooled one for a cluster too small to estimate it), and start/transition probabilities
    from the cluster labels' counts (+1 each). hmmlearn's start (``kmeans_init``) pairs k-means means with one
    pooled covariance and a random, spiky Dirichlet(1/K) transition matrix, and on well-separated data EM from
    there often merges clusters k-means had separated (tests/test_regime_labels.py)."""
    from regimeshift.regimes.kmeans import kmeans

    X = np.asarray(X, dtype=float)
    km = kmeans(X, n_states, seed, kmeans_n_init)
    return labelled_start(X, km.labels, n_states, covariance_type, min_covar, means=km.centers)


def labelled_start(
    X: np.ndarray, labels: np.ndarray, n_states: int, covariance_type: str, min_covar: float,
    means: np.ndarray | None = None,
) -> HMMParams:
    """A start from a partition of the rows: ``means`` (default: each cluster's mean; an empty cluster's the
    overall mean), each cluster's own covariance plus ``min_covar`` (the pooled one for a cluster too small to
    estimate it), start and transition probabilities from the labels' counts (+1 each)."""
    n, d = X.shape
    pooled = np.cov(X.T).reshape(d, d) + min_covar * np.eye(d)
    covs = np.empty((n_states, d, d))
    if means is None:
        means = np.stack([X[labels == k].mean(axis=0) if (labels == k).any() else X.mean(axis=0)
                          for k in range(n_states)])
    for k in range(n_states):
        members = X[labels == k]
        covs[k] = np.cov(members.T).reshape(d, d) + min_covar * np.eye(d) if len(members) > d + 1 else pooled
    counts = np.ones((n_states, n_states))
    np.add.at(counts, (labels[:-1], labels[1:]), 1.0)
    transmat = counts / counts.sum(axis=1, keepdims=True)
    startprob = np.bincount(labels, minlength=n_states) + 1.0
    startprob = startprob / startprob.sum()
    covars = covs if covariance_type == "full" else np.stack([np.diag(c) for c in covs])
    return HMMParams(startprob, transmat, np.asarray(means, dtype=float), covars, covariance_type)


def cold_init(
    data: Design, n_states: int, seed: int, min_covar: float, kmeans_n_init: int = 10, method: str = "hmmlearn",
    start: int = 0,
) -> HMMParams:
    """A seeded k-means start on these rows standardised by their own mean/std, returned in design units.

    ``method``: "hmmlearn" (``kmeans_init``: hmmlearn's start), "kmeans" (``kmeans_start``) or "local" (k-means on
    each day's local statistics: ``regimes.local_start``, over the window of the fit's ``start``-th start)."""
    m, s = data.scaler()
    Z = (data.U - m) / s
    if method == "kmeans":
        p = kmeans_start(Z, n_states, data.covariance_type, seed, min_covar, kmeans_n_init)
    elif method == "hmmlearn":
        p = kmeans_init(Z, n_states, data.covariance_type, seed, min_covar, kmeans_n_init)
    elif method == "local":
        from regimeshift.regimes.local_start import HALF_WINDOWS, local_labels

        # the start's own index seeds its k-means, not the model seed: the start is a function of the rows alone
        # (abs: a caller's seeds below the estimator's random_state give a negative index, not a refused seed)
        stats = data.local_statistics(HALF_WINDOWS[start % len(HALF_WINDOWS)])
        p = labelled_start(Z, local_labels(stats, n_states, abs(start), kmeans_n_init), n_states,
                           data.covariance_type, min_covar)
    else:
        raise ValueError(f"init method must be 'kmeans', 'hmmlearn' or 'local', got {method!r}")
    return to_units(p, shift=-m / s, scale=1.0 / s)
