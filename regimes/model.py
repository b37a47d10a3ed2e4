"""LiquidityHMM: a scikit-learn-style Gaussian HMM for liquidity regimes, built on hmmlearn.

What it adds to ``hmmlearn.hmm.GaussianHMM`` (see shared/notes/PITFALLS.md for why each matters):
- feature scaling fitted on the training window only (``scaler_mean_``, ``scaler_scale_``);
- ``n_init`` restarts, keeping the best log-likelihood (hmmlearn starts EM once);
- honest convergence: ``monitor_.converged`` is also True when EM merely hit ``n_iter``, so ``converged_``
  requires the gain to fall below ``tol`` before ``n_iter`` iterations;
- sticky transitions through a heavy-diagonal Dirichlet ``transmat_prior`` (``1 + sticky * I``);
- stable names: at a first fit states are ordered by a stress score (signed mean of the stress features);
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

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from hmmlearn.hmm import GaussianHMM
from regimeshift.regimes.fast_hmm import (
    Design,
    EMResult,
    HMMParams,
    cold_init,
    covars_prior,
    em_fit,
    forward,
    hmm_from_params,
    to_units,
)
from regimeshift.regimes.filtering import forward_filter
from scipy.optimize import linear_sum_assignment
from threadpoolctl import ThreadpoolController

# see LiquidityHMM._align: a matched naming is overruled only by a stress-order contradiction larger than both
STRESS_TOLERANCE = 0.1  # ... this share of the spread of the states' stress scores
STRESS_MIN_GAP = 0.5  # ... and this many standardised units


@dataclass(frozen=True, eq=False)
class Candidate:
    """One EM start's outcome (None result = diverged or degenerate)."""

    seed: int | None  # None = warm start
    result: EMResult | None


class LiquidityHMM:
    """Gaussian HMM with restarts, honest convergence, sticky transitions and stable state names.

    Parameters
    ----------
    names: regime names from calm to stressed; the number of states is ``len(names)``.
    stress_signs: per feature, +1 if higher means more stress, -1 if lower means more stress, 0 to ignore.
    init: cold starts -- "hmmlearn" (k-means means, pooled covariance, random Dirichlet transitions),
        "kmeans" (k-means centres, per-cluster covariances, label-count transitions: keeps what k-means found)
        or "mixed" (restart i uses "kmeans" for even i, "hmmlearn" for odd i).
    kmeans_n_init: k-means initialisations per start (hmmlearn uses 10).
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
        kmeans_n_init: int = 1,
        init: str = "mixed",
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
        self.kmeans_n_init = kmeans_n_init
        self.init = init

    @property
    def n_states(self) -> int:
        return len(self.names)

    def get_params(self, deep: bool = True) -> dict[str, object]:
        keys = ("names", "covariance_type", "n_init", "n_iter", "tol", "min_covar", "sticky", "stress_signs",
                "random_state", "kmeans_n_init", "init")
        return {k: getattr(self, k) for k in keys}

    def set_params(self, **params: object) -> LiquidityHMM:
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        return f"LiquidityHMM(names={self.names}, covariance_type={self.covariance_type!r}, sticky={self.sticky})"

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
        cands = []
        if warm is not None:
            cands.append(self.run_start(design, None, warm))
        cands.extend(self.run_start(design, s) for s in seeds)
        return self.adopt(design, cands, align_to=align_to if align_to is not None else warm_start)

    def _check_rows(self, X: np.ndarray) -> None:
        if X.ndim != 2 or len(X) < 10 * self.n_states:
            raise ValueError(f"need a 2-D training window with at least {10 * self.n_states} rows, got {X.shape}")

    def run_start(self, data: Design, seed: int | None, init: HMMParams | None = None) -> Candidate:
        """One EM start on ``data``: from ``init`` (design units) or, with ``seed``, hmmlearn's k-means start."""
        with warnings.catch_warnings(), single_blas_thread():
            warnings.simplefilter("ignore")
            try:
                if init is None:
                    method = self.init
                    if method == "mixed":  # alternate k-means-faithful and hmmlearn starts across restarts
                        method = "kmeans" if (int(seed) - self.random_state) % 2 == 0 else "hmmlearn"  # type: ignore[arg-type]
                    init = cold_init(data, self.n_states, int(seed), self.min_covar, self.kmeans_n_init, method)  # type: ignore[arg-type]
                res = em_fit(
                    data, init, transmat_prior=self.transmat_prior,
                    cprior=covars_prior(data.scaler()[1], self.covariance_type), n_iter=self.n_iter, tol=self.tol,
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
        self.design_center_, self.design_scale_ = data.center, data.scale
        self.params_ = res.params  # design units
        self.scaler_mean_ = data.center + data.scale * m_u
        self.scaler_scale_ = data.scale * s_u
        self._window_scaler = (m_u, s_u)
        self._hmm: GaussianHMM | None = None  # built on first use of hmm_
        self.n_train_ = len(data)
        # log-likelihood of the standardised window (hmmlearn's units): + n * sum(log s_u) from design units
        self.loglik_ = float(res.loglik + len(data) * np.log(s_u).sum())
        self.n_iter_ = int(res.n_iter)
        self.converged_ = bool(res.converged)
        self.warm_started_ = best.seed is None
        self.last_filtered_ = res.last_filtered
        self.candidates_ = tuple(
            (c.seed, None if c.result is None else c.result.loglik + len(data) * np.log(s_u).sum()) for c in candidates
        )
        self.order_ = self._align(align_to) if align_to is not None else self._stress_order()
        return self

    def params_in(self, data: Design) -> HMMParams:
        """This model's parameters expressed in ``data``'s design units."""
        p = self.params_
        if np.array_equal(self.design_center_, data.center) and np.array_equal(self.design_scale_, data.scale):
            return p
        # design u -> original x = c + s u -> other design v = (x - c') / s'
        orig = to_units(p, shift=-self.design_center_ / self.design_scale_, scale=1.0 / self.design_scale_)
        return to_units(orig, shift=data.center, scale=data.scale)

    @property
    def hmm_(self) -> GaussianHMM:
        """An hmmlearn GaussianHMM with the fitted parameters in this window's standardised units."""
        if self._hmm is None:
            m_u, s_u = self._window_scaler
            z = to_units(self.params_, shift=m_u, scale=s_u)
            self._hmm = hmm_from_params(z, min_covar=self.min_covar, transmat_prior=self.transmat_prior,
                                        n_iter=self.n_iter, tol=self.tol, implementation="scaling")
        return self._hmm

    def stress_scores(self) -> np.ndarray:
        """Per raw state: signed sum of its standardised feature means (higher = more stressed)."""
        return stress_scores((self.params_.means - self._window_scaler[0]) / self._window_scaler[1], self.stress_signs)

    def _stress_order(self) -> np.ndarray:
        self.relabelled_ = True
        return np.argsort(self.stress_scores(), kind="stable")  # order_[k] = raw state named names[k]

    def _align(self, prev: LiquidityHMM) -> np.ndarray:
        """Hungarian assignment of raw states to ``prev``'s named states by distance between state means in
        original units, each feature divided by this window's scale.

        Safety net: mean-matching cannot see what the names mean. If the matched names clearly contradict the
        stress ordering -- a state named as more stressed than another scores lower by more than
        ``STRESS_TOLERANCE`` of the score range and by more than ``STRESS_MIN_GAP`` standardised units -- the
        states are renamed by stress order (``relabelled_``). Near-ties never rename, so labels do not flip on
        stable data.
        """
        order = align_order(self.raw_means_, prev.means_, self.scaler_scale_)
        if contradicts_stress(self.stress_scores(), order):
            return self._stress_order()
        self.relabelled_ = False
        return order

    # -- persistence (regimes.cache): plain arrays and JSON scalars, no pickle ------------------------------
    def to_state(self) -> tuple[dict[str, np.ndarray], dict[str, object]]:
        p = self.params_
        arrays = {
            "startprob": p.startprob, "transmat": p.transmat, "means": p.means, "covars": p.covars,
            "design_center": self.design_center_, "design_scale": self.design_scale_,
            "window_mean": self._window_scaler[0], "window_scale": self._window_scaler[1],
            "order": np.asarray(self.order_), "last_filtered": np.asarray(self.last_filtered_),
        }
        params = self.get_params()
        params["names"] = list(self.names)
        params["stress_signs"] = None if self.stress_signs is None else [float(s) for s in self.stress_signs]
        scalars = {
            "params": params, "loglik": self.loglik_, "n_iter": self.n_iter_, "converged": self.converged_,
            "warm_started": self.warm_started_, "n_train": self.n_train_, "relabelled": self.relabelled_,
            "candidates": [[s, ll] for s, ll in self.candidates_],
        }
        return arrays, scalars

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], scalars: dict[str, object]) -> LiquidityHMM:
        params = dict(scalars["params"])  # type: ignore[call-overload]
        params["names"] = tuple(params["names"])
        m = cls(**params)
        ct = m.covariance_type
        m.params_ = HMMParams(arrays["startprob"], arrays["transmat"], arrays["means"], arrays["covars"], ct)
        m.design_center_, m.design_scale_ = arrays["design_center"], arrays["design_scale"]
        m._window_scaler = (arrays["window_mean"], arrays["window_scale"])
        m.scaler_mean_ = m.design_center_ + m.design_scale_ * m._window_scaler[0]
        m.scaler_scale_ = m.design_scale_ * m._window_scaler[1]
        m._hmm = None
        m.order_ = np.asarray(arrays["order"], dtype=int)
        m.last_filtered_ = arrays["last_filtered"]
        m.loglik_ = float(scalars["loglik"])  # type: ignore[arg-type]
        m.n_iter_ = int(scalars["n_iter"])  # type: ignore[call-overload]
        m.converged_ = bool(scalars["converged"])
        m.warm_started_ = bool(scalars["warm_started"])
        m.n_train_ = int(scalars["n_train"])  # type: ignore[call-overload]
        m.relabelled_ = bool(scalars.get("relabelled", False))  # type: ignore[attr-defined]
        m.candidates_ = tuple((s, ll) for s, ll in cast("list[list[Any]]", scalars["candidates"]))
        return m

    # -- inference -------------------------------------------------------------------------------------
    @property
    def raw_means_(self) -> np.ndarray:
        """State means in original units, rows in raw (fitted) order."""
        return self.params_.means * self.design_scale_ + self.design_center_

    def log_frameprob(self, X: np.ndarray) -> np.ndarray:
        """Per-day log emission densities under each raw state, in standardised units (for filtering)."""
        return self.hmm_._compute_log_likelihood(self._scale(np.asarray(X, float)))

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

    # -- diagnostics in named order ------------------------------------------------------------------------
    @property
    def transmat_(self) -> np.ndarray:
        o = self.order_
        return self.params_.transmat[np.ix_(o, o)]

    @property
    def startprob_(self) -> np.ndarray:
        return self.params_.startprob[self.order_]

    @property
    def means_(self) -> np.ndarray:
        """State means in original feature units, rows in ``names`` order."""
        return self.raw_means_[self.order_]

    @property
    def covars_(self) -> np.ndarray:
        """State covariances in original feature units (full matrices), ``names`` order."""
        c = self.params_.full_covars * np.outer(self.design_scale_, self.design_scale_)[None]
        return c[self.order_]

    @property
    def expected_durations_(self) -> np.ndarray:
        return 1.0 / np.maximum(1.0 - np.diag(self.transmat_), 1e-12)

    @property
    def stationary_(self) -> np.ndarray:
        a = self.transmat_
        k = len(a)
        m = np.vstack([a.T - np.eye(k), np.ones(k)])
        b = np.r_[np.zeros(k), 1.0]
        return np.linalg.lstsq(m, b, rcond=None)[0]

    @property
    def n_params_(self) -> int:
        k, d = self.n_states, self.params_.means.shape[1]
        cov = k * d * (d + 1) / 2 if self.covariance_type == "full" else k * d
        return int((k - 1) + k * (k - 1) + k * d + cov)

    def bic(self, X: np.ndarray) -> float:
        return float(-2 * self.score(X) + self.n_params_ * np.log(len(X)))


def stress_scores(means_z: np.ndarray, stress_signs: Sequence[float] | None) -> np.ndarray:
    """Per state: signed sum of its standardised feature means (higher = more stressed); any regime model names
    its states by this score (calm -> stressed) at a first fit."""
    signs = np.ones(means_z.shape[1]) if stress_signs is None else np.asarray(stress_signs, float)
    return np.asarray(means_z, float) @ signs


def contradicts_stress(score: np.ndarray, order: np.ndarray) -> bool:
    """True if the names given by ``order`` clearly contradict the stress scores: a state named as more stressed
    than another scores lower by more than ``STRESS_TOLERANCE`` of the score range and by more than
    ``STRESS_MIN_GAP`` standardised units (near-ties never count)."""
    named = score[order]
    span = float(score.max() - score.min())
    worst = float(np.max(np.maximum.accumulate(named) - named))  # largest drop below an earlier (calmer) name
    return worst > max(STRESS_TOLERANCE * span, STRESS_MIN_GAP)


def align_order(new_means: np.ndarray, prev_named_means: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``order[j]`` = the new (raw) state matched to previous named state j, by the Hungarian assignment
    (``scipy.optimize.linear_sum_assignment``) minimising the total squared scaled distance between means."""
    diff = (new_means[:, None, :] - prev_named_means[None, :, :]) / scale
    cost = (diff**2).sum(axis=-1)  # cost[i, j]: raw state i named as previous state j
    cost[~np.isfinite(cost)] = np.nanmax(cost, initial=0.0) * 10 + 1  # a state without a mean takes what is left
    rows, cols = linear_sum_assignment(cost)
    order = np.empty(len(cols), dtype=int)
    order[cols] = rows
    return order


# -- model selection ------------------------------------------------------------------------------------------
def select_n_states(
    X: np.ndarray | pd.DataFrame,
    n_states: Sequence[int] = (2, 3, 4, 5),
    *,
    holdout: float = 0.3,
    covariance_type: str = "full",
    n_init: int = 3,
    n_iter: int = 200,
    tol: float = 1e-3,
    min_covar: float = 1e-3,
    sticky: float = 0.0,
    random_state: int = 0,
    init: str = "mixed",
) -> pd.DataFrame:
    """Number of states by BIC and by out-of-sample log-likelihood, side by side.

    Each candidate is fitted once on the first ``1 - holdout`` of the rows (``n_init`` restarts). ``bic`` is
    computed on that training part; ``oos_loglik`` is the forward-filter predictive log-likelihood of the
    held-out later rows, ``log p(x_test | x_train)`` in original feature units (higher is better), so the two
    criteria judge the same fits. One row per number of states; ``best_bic`` / ``best_oos`` flag the choices.
    """
    X = np.asarray(X, dtype=float)
    if not 0 < holdout < 1:
        raise ValueError("holdout must be in (0, 1)")
    cut = int(round(len(X) * (1 - holdout)))
    train, test = X[:cut], X[cut:]
    rows = []
    for k in n_states:
        m = LiquidityHMM(
            names=tuple(f"s{i}" for i in range(k)), covariance_type=covariance_type, n_init=n_init, n_iter=n_iter,
            tol=tol, min_covar=min_covar, sticky=sticky, random_state=random_state, init=init,
        )
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


# hmmlearn logs every non-monotone EM step at WARNING; convergence is judged and reported by this module
logging.getLogger("hmmlearn.base").setLevel(logging.ERROR)

_CONTROLLER: list[ThreadpoolController] = []


def single_blas_thread():  # type: ignore[no-untyped-def]
    """Context limiting BLAS/OpenMP to one thread (the controller is built once: building it scans libraries).

    These matrices are small, and threads fighting over 2 cores made EM 3-30x slower (measured); one thread
    also makes every product's summation order fixed, so results do not depend on the machine's load.
    """
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1)
