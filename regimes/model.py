"""LiquidityHMM: a scikit-learn-style Gaussian HMM for liquidity regimes, built on hmmlearn.

What it adds to ``hmmlearn.hmm.GaussianHMM`` (see shared/notes/PITFALLS.md for why each matters):
- feature scaling fitted on the training window only (``scaler_mean_``, ``scaler_scale_``);
- ``n_init`` restarts, keeping the best log-likelihood (hmmlearn starts EM once);
- honest convergence: ``monitor_.converged`` is also True when EM merely hit ``n_iter``, so ``converged_``
  requires the gain to fall below ``tol`` before ``n_iter`` iterations;
- sticky transitions through a heavy-diagonal Dirichlet ``transmat_prior`` (``1 + sticky * I``);
- stable names: at a first fit states are ordered by a stress score (``order_by``: the rule lives in
  ``regimes.naming``; default "risk", which also uses each state's covariance);
  a refit given ``align_to=previous`` names each new state after the previous state it matches (Hungarian
  assignment on the state means in original units, divided by the training window's feature scale), so
  labels do not flip between refits; ``predict_filtered`` returns probabilities in ``names`` order;
- filtering only: there is no smoothed ``predict_proba``; ``predict_filtered`` is forward-only;
- ``select_n_states``: BIC and held-out predictive log-likelihood for 2..5 states, side by side.

EM itself runs in ``regimes.fast_hmm.em_fit`` (hmmlearn's EM and M-step, hmmlearn's compiled lattice code,
without its per-iteration overhead); ``hmm_`` is a real hmmlearn ``GaussianHMM`` carrying the fitted
parameters, so hmmlearn's own ``score``/``predict_proba``/``sample`` work on it.
"""
from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
from regimeshift.core.compat import quiet_hmmlearn
from regimeshift.regimes.fast_hmm import (
    Design,
    EMResult,
    HMMParams,
    cold_init,
    covars_prior,
    emission_log_density,
    em_fit,
    forward,
    to_units,
)
from regimeshift.regimes.cold_fit import Candidate, cold_candidates, compete
from regimeshift.regimes.filtering import forward_filter
from regimeshift.regimes.named_states import NamedStates
from regimeshift.regimes.estimator_params import EstimatorParams, not_fitted
from regimeshift.regimes.threads import single_blas_thread
from regimeshift.regimes.spec import RegimeSpec, default
from regimeshift.regimes import naming
# re-exported: the matching and the safety net live with the naming rule, shared by every model family
from regimeshift.regimes.naming import (  # noqa: F401
    STRESS_MIN_GAP,
    STRESS_TOLERANCE,
    align_order,
    contradicts_stress,
)

if TYPE_CHECKING:
    from regimeshift.regimes.hmm_twin import FastGaussianHMM


@dataclass(frozen=True)
class HMMState:
    """Everything a fit learns, in one place: what the cache stores and ``from_state`` restores.

    ``params`` are in the fit's design units (``design_center``/``design_scale`` map them to original units);
    ``window_mean``/``window_scale`` standardise the training window within those units (hmmlearn's units).
    """

    params: HMMParams
    design_center: np.ndarray
    design_scale: np.ndarray
    window_mean: np.ndarray
    window_scale: np.ndarray
    order: np.ndarray  # order[k] = raw state named names[k]
    last_filtered: np.ndarray  # filtered probabilities (raw order) on the window's last row
    loglik: float
    n_iter: int
    converged: bool
    warm_started: bool
    n_train: int
    relabelled: bool
    candidates: tuple[tuple[int | None, float | None], ...]

    ARRAYS: ClassVar[tuple[str, ...]] = (
        "design_center", "design_scale", "window_mean", "window_scale", "order", "last_filtered",
    )

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        p = self.params
        arrays = {"startprob": p.startprob, "transmat": p.transmat, "means": p.means, "covars": p.covars,
                  "dof": np.asarray(p.dof)}
        arrays.update({k: np.asarray(getattr(self, k)) for k in self.ARRAYS})
        scalars = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                   if f.name != "params" and f.name not in self.ARRAYS}
        scalars["candidates"] = [list(c) for c in self.candidates]
        scalars["covariance_type"] = p.covariance_type
        return arrays, scalars

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], scalars: dict[str, Any]) -> HMMState:
        # fits stored before Student-t emissions have no dof; a shared dof is a scalar, per-state dofs a (K,) array
        dof_arr = np.asarray(arrays["dof"], dtype=float) if "dof" in arrays else np.asarray(float("inf"))
        dof: float | np.ndarray = float(dof_arr) if dof_arr.ndim == 0 else dof_arr
        params = HMMParams(arrays["startprob"], arrays["transmat"], arrays["means"], arrays["covars"],
                           str(scalars["covariance_type"]), dof)
        return cls(
            params=params, **{k: np.asarray(arrays[k]) for k in cls.ARRAYS},
            loglik=float(scalars["loglik"]), n_iter=int(scalars["n_iter"]), converged=bool(scalars["converged"]),
            warm_started=bool(scalars["warm_started"]), n_train=int(scalars["n_train"]),
            relabelled=bool(scalars.get("relabelled", False)),
            candidates=tuple((c[0], c[1]) for c in scalars["candidates"]),
        )


_STATE_FIELDS = frozenset(f.name for f in dataclasses.fields(HMMState))


AUTO_DOF_START = 10.0  # where an estimated dof starts: between fat tails (~4) and near-Gaussian (~30+)


class LiquidityHMM(NamedStates, EstimatorParams):
    """Gaussian HMM with restarts, honest convergence, sticky transitions and stable state names.

    Parameters
    ----------
    names: regime names from calm to stressed; the number of states is ``len(names)``.
    stress_signs: per feature, +1 if higher means more stress, -1 if lower means more stress, 0 to ignore.
    init: cold starts -- "local" (k-means on each day's local mean and co-moments, then per-cluster means,
        covariances and label-count transitions: ``regimes.local_start``; the answer does not move with the seed),
        "hmmlearn" (k-means means, pooled covariance, random Dirichlet transitions),
        "kmeans" (k-means centres, per-cluster covariances, label-count transitions: keeps what k-means found)
        or "mixed" (restart i uses "kmeans" for even i, "hmmlearn" for odd i).
    kmeans_n_init: k-means initialisations per start (hmmlearn uses 10).
    order_by: how states are named calm -> stressed: "risk", "signed_mean" or a feature name (``regimes.naming``).
    feature_names: the features' spec texts (which are returns, which levels; stress signs if none are given).
    emission: "gaussian", "student_t" (every state a multivariate t with ``t_dof`` degrees of freedom, fitted
        by ECM: robust to fat-tailed daily returns, see ``fast_hmm.student_t_log_density``) or "auto" (at each
        cold fit the family with the better held-out likelihood: ``regimes.cold_fit``). ``t_dof="auto"``
        estimates the dof shared by the states in each fit (``fast_hmm.update_dof``), ``"per_state"`` each
        state's own (``fast_hmm.update_dofs``; what the t of ``emission="auto"`` uses), a number pins it.
    """

    def __init__(
        self,
        # the spec's defaults (regimes/spec.py), declared there once; scikit-learn reads them from this signature
        names: Sequence[str] = default("names"),
        covariance_type: str = default("covariance_type"),
        n_init: int = default("n_init"),
        n_iter: int = default("n_iter"),
        tol: float = default("tol"),
        min_covar: float = default("min_covar"),
        sticky: float = default("sticky"),
        stress_signs: Sequence[float] | None = None,
        random_state: int = default("seed"),
        kmeans_n_init: int = default("kmeans_n_init"),
        init: str = default("init"),
        order_by: str = default("order_by"),
        feature_names: Sequence[str] | None = None,
        emission: str = default("emission"),
        t_dof: float | str = default("t_dof"),
    ) -> None:
        # stored as given (scikit-learn's clone checks that); tuple(self.names) where a tuple is needed
        self.names = names
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.n_iter = n_iter
        self.tol = tol
        self.min_covar = min_covar
        self.sticky = sticky
        self.stress_signs = stress_signs
        self.random_state = random_state
        self.kmeans_n_init = kmeans_n_init
        self.init = init
        self.order_by = order_by
        self.feature_names = feature_names
        self.emission = emission
        self.t_dof = t_dof

    @classmethod
    def from_spec(cls, spec: RegimeSpec) -> LiquidityHMM:
        """The estimator of one fit of ``spec`` (the walk-forward's schedule settings are not its concern)."""
        return cls(**spec.estimator_params())

    @property
    def n_states(self) -> int:
        return len(self.names)

    # fitted attributes (``params_``, ``order_``, ``loglik_``, ...) are the fields of ``state_`` (HMMState)
    def __getattr__(self, name: str) -> Any:
        if name.endswith("_") and not name.startswith("_") and name[:-1] in _STATE_FIELDS:
            state = self.__dict__.get("state_")
            if state is None:
                raise not_fitted(f"LiquidityHMM is not fitted yet: '{name}' needs fit()")
            return getattr(state, name[:-1])
        raise AttributeError(f"'LiquidityHMM' object has no attribute '{name}'")

    @property
    def dof(self) -> float | np.ndarray:
        """Where a cold start's degrees of freedom start: ``t_dof`` for Student-t emissions (one shared with
        ``t_dof = "auto"``, one per state with ``"per_state"``, each then estimated), inf for Gaussian ones (and
        for ``emission = "auto"``, whose cold starts run both families: ``regimes.cold_fit``)."""
        if self.emission == "student_t":
            if self.t_dof == "per_state":
                return np.full(self.n_states, AUTO_DOF_START)
            return AUTO_DOF_START if self.t_dof == "auto" else float(self.t_dof)
        if self.emission not in ("gaussian", "auto"):
            raise ValueError(f"emission must be 'gaussian', 'student_t' or 'auto', got {self.emission!r}")
        return float("inf")

    def family(self, family: str) -> LiquidityHMM:
        """This estimator with emission ``family`` ("gaussian" or "student_t"): what ``emission = "auto"``
        compares."""
        # its t gives each state its own dof (a Gaussian calm and a fat-tailed crunch are both in the family)
        t_dof = "per_state" if family == "student_t" and self.t_dof == "auto" else self.t_dof
        return type(self)(**{**self.get_params(deep=False), "emission": family, "t_dof": t_dof})

    @property
    def transmat_prior(self) -> np.ndarray | float:
        k = self.n_states
        return 1.0 + self.sticky * np.eye(k) if self.sticky > 0 else 1.0

    # -- fitting ---------------------------------------------------------------------------------------
    def fit(
        self,
        X: np.ndarray,
        warm_start: LiquidityHMM | None = None,
        cold_starts: int | None = None,
        align_to: LiquidityHMM | None = None,
    ) -> LiquidityHMM:
        """Fit on the training window ``X`` (rows = days up to the refit date).

        With ``warm_start``, EM starts once from that model's parameters (re-expressed in this window's
        scaling); ``cold_starts`` (default: ``n_init`` without a warm start, none with one) adds seeded k-means
        starts. The best start by log-likelihood is kept. ``align_to`` (default: the warm-start model) names the
        new states after the matching states of that model; without one, states are named by stress order.
        """
        X = np.asarray(X, dtype=float)
        self._check_rows(X)
        design = Design(X, self.covariance_type)  # design units == this window's standardised units
        warm = warm_start.params_in(design) if warm_start is not None else None
        if cold_starts is None:
            cold_starts = self.n_init if warm_start is None else 0
        seeds = [self.random_state + i for i in range(cold_starts)]
        cands = [self.run_start(design, None, warm)] if warm is not None else []
        if seeds:
            cands = compete(cands, *cold_candidates(self, design, seeds))
        return self.adopt(design, cands, align_to=align_to if align_to is not None else warm_start)

    def _check_rows(self, X: np.ndarray) -> None:
        if X.ndim != 2 or len(X) < 10 * self.n_states:
            raise ValueError(f"need a 2-D training window with at least {10 * self.n_states} rows, got {X.shape}")

    def run_start(
        self, data: Design, seed: int | None, init: HMMParams | None = None, n_iter: int | None = None
    ) -> Candidate:
        """One EM start on ``data``: from ``init`` (design units) or, with ``seed``, hmmlearn's k-means start;
        ``n_iter`` caps EM's iterations (default ``self.n_iter``: a short screening run uses fewer)."""
        quiet_hmmlearn()
        with warnings.catch_warnings(), single_blas_thread():
            warnings.simplefilter("ignore")
            try:
                if init is None:
                    method, start = self.init, int(seed) - self.random_state  # type: ignore[arg-type]
                    if method == "mixed":  # alternate k-means-faithful and hmmlearn starts across restarts
                        method = "kmeans" if start % 2 == 0 else "hmmlearn"
                    init = cold_init(data, self.n_states, int(seed), self.min_covar, self.kmeans_n_init, method, start)
                estimated = self.t_dof in ("auto", "per_state")
                if self.emission != "auto" and (
                    init.is_student_t != bool(np.isfinite(self.dof).all())
                    or (not estimated and not np.array_equal(init.dofs, np.broadcast_to(self.dof, init.dofs.shape)))
                    or (estimated and init.is_student_t and np.ndim(init.dof) != np.ndim(self.dof))
                ):
                    # a cold start (or a fit of the other emission family) starts as this one; a warm start keeps
                    # the dofs it estimated (with emission "auto" a start keeps its family: regimes.cold_fit)
                    init = dataclasses.replace(init, dof=self.dof)
                res = em_fit(
                    data, init, transmat_prior=self.transmat_prior,
                    cprior=covars_prior(data.scaler()[1], self.covariance_type),
                    n_iter=self.n_iter if n_iter is None else min(n_iter, self.n_iter), tol=self.tol,
                    fit_dof=init.is_student_t and self.t_dof in ("auto", "per_state"),
                )
            except (ValueError, FloatingPointError, np.linalg.LinAlgError):
                res = None
        return Candidate(seed, res)

    def adopt(self, data: Design, candidates: Sequence[Candidate], align_to: LiquidityHMM | None = None) -> LiquidityHMM:
        """Keep the best candidate fitted on ``data`` (ties: the earlier one, warm first) and name its states."""
        ok = [c for c in candidates if c.result is not None]
        if not ok:
            raise FloatingPointError("every EM start diverged or left a state empty")
        best = ok[0]
        for c in ok[1:]:
            if c.result.loglik > best.result.loglik:  # type: ignore[union-attr]
                best = c
        res = best.result
        assert res is not None
        m_u, s_u = data.scaler()
        self._hmm: FastGaussianHMM | None = None  # built on first use of hmm_
        shift = len(data) * np.log(s_u).sum()  # log-likelihood of the standardised window (hmmlearn's units)
        self.state_ = HMMState(
            params=res.params, design_center=data.center, design_scale=data.scale, window_mean=m_u, window_scale=s_u,
            order=np.arange(self.n_states), last_filtered=res.last_filtered, loglik=float(res.loglik + shift),
            n_iter=int(res.n_iter), converged=bool(res.converged), warm_started=best.seed is None,
            n_train=len(data), relabelled=False,
            candidates=tuple((c.seed, None if c.result is None else float(c.result.loglik + shift)) for c in candidates),
        )
        order, relabelled = self._align(align_to) if align_to is not None else self._stress_order()
        self.state_ = dataclasses.replace(self.state_, order=order, relabelled=relabelled)
        return self

    @property
    def scaler_mean_(self) -> np.ndarray:
        """The training window's feature means in original units (the scaler is fitted on that window only)."""
        st = self.state_
        return st.design_center + st.design_scale * st.window_mean

    @property
    def scaler_scale_(self) -> np.ndarray:
        st = self.state_
        return st.design_scale * st.window_scale

    def params_in(self, data: Design) -> HMMParams:
        """This model's parameters expressed in ``data``'s design units."""
        p = self.params_
        if np.array_equal(self.design_center_, data.center) and np.array_equal(self.design_scale_, data.scale):
            return p
        # design u -> original x = c + s u -> other design v = (x - c') / s'
        orig = to_units(p, shift=-self.design_center_ / self.design_scale_, scale=1.0 / self.design_scale_)
        return to_units(orig, shift=data.center, scale=data.scale)

    @property
    def hmm_(self) -> FastGaussianHMM:
        """An hmmlearn GaussianHMM with the fitted parameters in this window's standardised units."""
        if self.params_.is_student_t:  # hmmlearn has no Student-t HMM: a Gaussian twin would silently differ
            raise NotImplementedError("hmm_: a fit with Student-t emissions has no hmmlearn GaussianHMM twin")
        if self.__dict__.get("_hmm") is None:
            m_u, s_u = self.state_.window_mean, self.state_.window_scale
            z = to_units(self.params_, shift=m_u, scale=s_u)
            from regimeshift.regimes.hmm_twin import hmm_from_params  # hmmlearn's estimators: only when asked

            self._hmm = hmm_from_params(z, min_covar=self.min_covar, transmat_prior=self.transmat_prior,
                                        n_iter=self.n_iter, tol=self.tol, implementation="scaling")
        return self._hmm

    def stress_scores(self) -> np.ndarray:
        """Per raw state: its stress score under ``order_by`` (higher = more stressed; ``regimes.naming``)."""
        if self.order_by == naming.SIGNED_MEAN:  # computed as it always was (design units): names bit-identical
            signs = np.ones(self.params_.means.shape[1]) if self.stress_signs is None else np.asarray(self.stress_signs, float)
            z = (self.params_.means - self.state_.window_mean) / self.state_.window_scale
            return z @ signs
        return naming.stress_scores(
            self.raw_means_, self.raw_covars_, naming.state_weights(self.params_.transmat), self.feature_names,
            order_by=self.order_by, signs=self.stress_signs,
        )

    def _stress_order(self) -> tuple[np.ndarray, bool]:
        """States named by stress order (``order[k]`` = raw state named names[k]); always a relabelling."""
        return np.argsort(self.stress_scores(), kind="stable"), True

    def _align(self, prev: LiquidityHMM) -> tuple[np.ndarray, bool]:
        """Hungarian assignment of raw states to ``prev``'s named states by distance between state means in
        original units, each feature divided by this window's scale.

        Safety net: mean-matching cannot see what the names mean. If the matched names clearly contradict the
        stress ordering -- a state named as more stressed than another scores lower by more than
        ``STRESS_TOLERANCE`` of the score range and by more than ``STRESS_MIN_GAP`` standardised units, or (rules
        other than signed_mean) by more than ``naming.RENAME_Z`` standard errors -- the states are renamed by
        stress order (``relabelled_``). Near-ties never rename, so labels do not flip on
        stable data.
        """
        order = align_order(self.raw_means_, prev.means_, self.scaler_scale_)
        se = None
        if self.order_by == naming.SIGNED_MEAN:  # the signed-mean rule has no standard errors
            score = self.stress_scores()
        else:  # the scores and their errors in one pass (the scores do not depend on n_train: stress_scores' own)
            score, se = naming.scores_and_errors(
                self.raw_means_, self.raw_covars_, naming.state_weights(self.params_.transmat), self.n_train_,
                self.feature_names, order_by=self.order_by, signs=self.stress_signs,
            )
        if naming.overrules(order, score, se):
            return self._stress_order()
        return order, False

    # -- persistence (regimes.cache): plain arrays and JSON scalars, no pickle ------------------------------
    def to_state(self) -> tuple[dict[str, np.ndarray], dict[str, object]]:
        arrays, scalars = self.state_.to_arrays()
        params = self.get_params()
        params["names"] = list(self.names)
        params["stress_signs"] = None if self.stress_signs is None else [float(x) for x in self.stress_signs]
        params["feature_names"] = None if self.feature_names is None else list(self.feature_names)
        scalars["params"] = params
        return arrays, scalars

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], scalars: dict[str, object]) -> LiquidityHMM:
        params = dict(scalars["params"])  # type: ignore[call-overload]
        params["names"] = tuple(params["names"])
        m = cls(**params)
        m._hmm = None
        m.state_ = HMMState.from_arrays(arrays, {**scalars, "covariance_type": m.covariance_type})
        return m

    # -- inference -------------------------------------------------------------------------------------
    @property
    def raw_means_(self) -> np.ndarray:
        """State means in original units, rows in raw (fitted) order."""
        return self.state_.params.means * self.state_.design_scale + self.state_.design_center

    def log_frameprob(self, X: np.ndarray) -> np.ndarray:
        """Per-day log emission densities under each raw state, in standardised units (for filtering)."""
        Z = self._scale(np.asarray(X, float))
        if not self.params_.is_student_t:
            return self.hmm_._compute_log_likelihood(Z)
        st = self.state_
        return emission_log_density(Z, to_units(self.params_, shift=st.window_mean, scale=st.window_scale))

    def _scale(self, X: np.ndarray) -> np.ndarray:
        return (X - self.scaler_mean_) / self.scaler_scale_

    def predict_filtered(self, X: np.ndarray) -> np.ndarray:
        """Forward-only probabilities p(s_t | x_0..x_t), columns in ``names`` order."""
        probs = forward_filter(self.params_.startprob, self.params_.transmat, self.log_frameprob(X))
        return probs[:, self.order_]

    def predictive_loglik(self, X_past: np.ndarray, X_new: np.ndarray) -> float:
        """log p(X_new | X_past) in original feature units: the forward filter over ``X_past`` then the one-step
        predictive densities of the held-out rows (what a model fitted on ``X_past`` scores out of sample)."""
        p = self.params_
        lp = self.log_frameprob(np.asarray(X_past, float))
        _, fwd = forward(p.startprob, p.transmat, lp)
        pred = fwd[-1] @ p.transmat
        ln = self.log_frameprob(np.asarray(X_new, float))
        ll, _ = forward(pred / pred.sum(), p.transmat, ln)
        return float(ll.sum() - len(ln) * np.log(self.scaler_scale_).sum())

    def score(self, X: np.ndarray) -> float:
        """log p(X) in this window's standardised units (hmmlearn's ``score`` on scaled rows)."""
        p = self.params_
        ll, _ = forward(p.startprob, p.transmat, self.log_frameprob(np.asarray(X, float)))
        return float(ll.sum())

    # -- diagnostics in named order (means_, covars_, transmat_, expected_durations_, naming_report: NamedStates,
    # the same for every model family) ----------------------------------------------------------------------
    @property
    def raw_transmat_(self) -> np.ndarray:
        return self.params_.transmat

    @property
    def raw_weights_(self) -> np.ndarray:
        """The states' long-run shares: the fitted transition matrix's stationary distribution, raw order."""
        return naming.state_weights(self.params_.transmat)

    @property
    def startprob_(self) -> np.ndarray:
        return self.params_.startprob[self.order_]

    @property
    def raw_covars_(self) -> np.ndarray:
        """State covariances in original feature units (full matrices), raw (fitted) order."""
        return self.params_.covariances * np.outer(self.design_scale_, self.design_scale_)[None]

    @property
    def stationary_(self) -> np.ndarray:
        a = self.transmat_
        k = len(a)
        m = np.vstack([a.T - np.eye(k), np.ones(k)])
        b = np.r_[np.zeros(k), 1.0]
        return np.linalg.lstsq(m, b, rcond=None)[0]

    @property
    def n_params_(self) -> int:
        """Free parameters: start and transition probabilities, means, covariances and the degrees of freedom the
        fit estimated (one shared or one per state; none when ``t_dof`` pins them)."""
        k, d = self.n_states, self.params_.means.shape[1]
        cov = k * d * (d + 1) / 2 if self.covariance_type == "full" else k * d
        p = self.params_
        dofs = int(np.size(p.dof)) if p.is_student_t and self.t_dof in ("auto", "per_state") else 0
        return int((k - 1) + k * (k - 1) + k * d + cov) + dofs

    def bic(self, X: np.ndarray) -> float:
        return float(-2 * self.score(X) + self.n_params_ * np.log(len(X)))


# -- model selection ------------------------------------------------------------------------------------------
def select_n_states(
    X: np.ndarray | pd.DataFrame,
    n_states: Sequence[int] = (2, 3, 4, 5),
    *,
    holdout: float = 0.3,
    spec: RegimeSpec | None = None,
    **settings: Any,
) -> pd.DataFrame:
    """Number of states by BIC and by out-of-sample log-likelihood, side by side.

    Each candidate is fitted once on the first ``1 - holdout`` of the rows (``n_init`` restarts). ``bic`` is
    computed on that training part; ``oos_loglik`` is the forward-filter predictive log-likelihood of the
    held-out later rows, ``log p(x_test | x_train)`` in original feature units (higher is better), so the two
    criteria judge the same fits. One row per number of states; ``best_bic`` / ``best_oos`` flag the choices.
    The fits use ``spec``'s estimator settings (those of the walk-forward beside it), ``settings`` replacing
    single fields.
    """
    spec = (spec if spec is not None else RegimeSpec()).replace(**settings)
    X = np.asarray(X, dtype=float)
    if not 0 < holdout < 1:
        raise ValueError("holdout must be in (0, 1)")
    cut = int(round(len(X) * (1 - holdout)))
    train, test = X[:cut], X[cut:]
    rows = []
    for k in n_states:
        m = LiquidityHMM.from_spec(spec.replace(names=tuple(f"s{i}" for i in range(k)), stress_signs=None))
        try:
            m.fit(train)
        except (ValueError, FloatingPointError) as err:
            rows.append({"n_states": k, "error": str(err)})
            continue
        # in original feature units, like oos_loglik, so the table's BIC is -2 x the train_loglik it shows + penalty
        ll_train = m.score(train) - len(train) * np.log(m.scaler_scale_).sum()
        ll_test = m.predictive_loglik(train, test)
        rows.append(
            {
                "n_states": k,
                "n_params": m.n_params_,
                "train_loglik": ll_train,
                "bic": -2 * ll_train + m.n_params_ * np.log(len(train)),
                "oos_loglik": ll_test,
                "oos_loglik_per_day": ll_test / max(len(test), 1),
                "converged": m.converged_,
                "n_train": len(train),
                "n_test": len(test),
            }
        )
    table = pd.DataFrame(rows).set_index("n_states")
    if "bic" in table:
        table["best_bic"] = table.index == table["bic"].idxmin()
        table["best_oos"] = table.index == table["oos_loglik"].idxmax()
    return table
