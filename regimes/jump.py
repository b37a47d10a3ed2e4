"""JumpRegimeModel: statistical jump models (Nystrup et al. 2020; Shu, Yu & Mulvey 2024) as a regime estimator.

A scikit-learn-style wrapper around the authors' package ``jumpmodels`` (``JumpModel``: discrete or continuous;
``SparseJumpModel``: with feature selection, ``max_feats``). What it adds, so it drops into the walk-forward
beside the HMM (``regimes.generic_walk``):
- scaling fitted on the training window only (``scaler_mean_``, ``scaler_scale_``), rows winsorised at
  ``clip`` standard deviations as in the authors' examples (``DataClipperStd(mul=3)``);
- forward-only probabilities: ``predict_proba_online`` is ``jumpmodels``' online inference, the argmin of the
  dynamic programme's value row at t, which is a function of the rows up to t only (tests/test_jump_model.py
  changes the data after t and checks that nothing at or before t moves);
- the same state names as the HMM, by the same rule (``order_by``, ``regimes.naming``): a first fit names states
  by the stress scores of the mean and covariance of the training days each state labels
  (``regimes.named_states``); a refit given ``align_to`` names each state after the previous fit's state it
  matches (Hungarian on the means in original units), unless that clearly contradicts the scores
  (``regimes.naming.overrules``, the HMM's safety net);
- a warm start: the previous fit's centres join the k-means++ starts (``jumpmodels`` keeps the best objective);
- the package's dynamic programme compiled (``regimes.jump_dp``: same arithmetic, ~50x faster);
- the jump penalty chosen by time-series cross-validation on the training window only (``select_jump_penalty``).

Continuous jump models give a probability per regime (on the simplex grid of ``grid_size``), so probability-
blending strategies work unchanged; the discrete one gives 0/1 probabilities. A jump model has no likelihood:
``oos_loglik`` is not defined for it (NaN).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from regimeshift.regimes.jump_dp import compiled_dp
from regimeshift.regimes.monthly_choice import strategy_sharpe
from regimeshift.regimes import naming
from regimeshift.regimes.estimator_params import EstimatorParams
from regimeshift.regimes.named_states import NamedStates, labelled_moments, window_scaler
from regimeshift.regimes.spec import default
from sklearn.utils.validation import check_is_fitted

#: candidate penalties for ``jump_penalty = "cv"`` (standardised features: the penalty is in units of half a
#: squared distance, so 0 = k-means and ~100 = a few switches a decade on daily data)
DEFAULT_PENALTY_GRID: tuple[float, ...] = default("penalty_grid")  # declared once, in regimes/spec.py


class JumpRegimeModel(NamedStates, EstimatorParams):
    """Statistical jump model with train-window scaling, online prediction and stable state names.

    Parameters
    ----------
    names: regime names from calm to stressed; the number of states is ``len(names)``.
    jump_penalty: the penalty lambda on each state change (standardised features).
    cont: continuous jump model (probabilities on a simplex grid) instead of the discrete one.
    max_feats: with a number, ``SparseJumpModel`` with this effective number of features (kappa^2).
    stress_signs: per feature, +1 if higher means more stress, -1 if lower does, 0 to ignore.
    order_by: how states are named calm -> stressed: "risk", "signed_mean" or a feature name (``regimes.naming``).
    feature_names: the features' spec texts (which are returns, which levels; stress signs if none are given).
    n_init: k-means++ starts (the regime settings' default, ten, is also the package's).
    clip: winsorise the standardised training rows (and every predicted row) at +-clip; None: no clipping.
    """

    def __init__(
        self,
        names: Sequence[str] = ("bull", "bear"),
        jump_penalty: float = default("jump_penalty"),
        cont: bool = False,
        max_feats: float | None = None,
        stress_signs: Sequence[float] | None = None,
        random_state: int = 0,
        n_init: int = default("n_init"),
        max_iter: int = 1000,
        grid_size: float = 0.05,
        clip: float | None = 3.0,
        order_by: str = naming.RISK,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        self.names = names
        self.jump_penalty = jump_penalty
        self.cont = cont
        self.max_feats = max_feats
        self.stress_signs = stress_signs
        self.random_state = random_state
        self.n_init = n_init
        self.max_iter = max_iter
        self.grid_size = grid_size
        self.clip = clip
        self.order_by = order_by
        self.feature_names = feature_names

    @property
    def n_states(self) -> int:
        return len(tuple(self.names))

    # -- fitting -----------------------------------------------------------------------------------------------
    def _transform(self, X: np.ndarray) -> np.ndarray:
        Z = (np.asarray(X, dtype=float) - self.scaler_mean_) / self.scaler_scale_
        return Z if self.clip is None else np.clip(Z, -self.clip, self.clip)

    def fit(self, X: np.ndarray, align_to: JumpRegimeModel | None = None, warm_start: JumpRegimeModel | None = None
            ) -> JumpRegimeModel:
        """Fit on the training window ``X`` (rows = days up to the refit date)."""
        from jumpmodels.jump import JumpModel
        from jumpmodels.sparse_jump import SparseJumpModel

        X = np.asarray(X, dtype=float)
        k = self.n_states
        if X.ndim != 2 or len(X) < 10 * k:
            raise ValueError(f"need a 2-D training window with at least {10 * k} rows, got {X.shape}")
        if not np.isfinite(X).all():
            raise ValueError("the training window holds NaN or inf")
        mean, scale = window_scaler(X)
        self.scaler_mean_, self.scaler_scale_ = mean, scale
        Z = self._transform(X)
        common = dict(n_components=k, jump_penalty=float(self.jump_penalty), cont=bool(self.cont),
                      grid_size=self.grid_size, random_state=int(self.random_state))
        if self.max_feats is not None:
            sjm = SparseJumpModel(max_feats=float(self.max_feats), n_init_jm=int(self.n_init),
                                  max_iter_jm=int(self.max_iter), **common)
            with compiled_dp():
                sjm.fit(Z, sort_by=None)
            jm = sjm.jm_ins
            proba = np.asarray(sjm.proba_, dtype=float)
            self.feat_weights_ = np.asarray(sjm.feat_weights, dtype=float)
        else:
            jm = JumpModel(n_init=int(self.n_init), max_iter=int(self.max_iter), **common)
            if warm_start is not None and hasattr(warm_start, "jm_"):
                # the previous fit's centres, re-expressed in this window's units, join the k-means++ starts
                prev = (warm_start.raw_means_ - mean) / scale
                jm.centers_ = prev if self.clip is None else np.clip(prev, -self.clip, self.clip)
            with compiled_dp():
                jm.fit(Z, sort_by=None)
            proba = np.asarray(jm.proba_, dtype=float)
            self.feat_weights_ = np.ones(X.shape[1])
        self.jm_ = jm
        self.objective_ = float(jm.val_)
        self.n_train_ = len(X)
        self.labels_raw_ = proba.argmax(axis=1)
        # each state's moments in original units: of the (unclipped) training rows it labels. A state no day
        # visits (a large penalty on a calm window) has none: see NamedStates._name
        self.raw_means_, self.raw_covars_, self.raw_weights_, empty = labelled_moments(X, proba)
        self.raw_transmat_ = _empirical_transmat(self.labels_raw_, k)
        self.order_, self.relabelled_ = self._name(align_to, empty)
        return self

    # -- inference ---------------------------------------------------------------------------------------------
    def predict_proba_online(self, X: np.ndarray) -> np.ndarray:
        """Row t: the state probabilities at t from rows 0..t only (the DP's value row at t), ``names`` order."""
        check_is_fitted(self, "jm_")
        with compiled_dp():
            P = np.asarray(self.jm_.predict_proba_online(self._transform(X)), dtype=float)
        return P[:, self.order_]

    predict_filtered = predict_proba_online

    def predict_online(self, X: np.ndarray) -> np.ndarray:
        """Index (into ``names``) of the most probable state at each row, forward-only."""
        return self.predict_proba_online(X).argmax(axis=1)

    # -- diagnostics in named order ----------------------------------------------------------------------------
    @property
    def converged_(self) -> bool:
        return True

    # -- persistence (regimes.cache): plain arrays and JSON scalars, no pickle ----------------------------------
    def to_state(self) -> tuple[dict[str, np.ndarray], dict[str, object]]:
        arrays = {
            "scaler_mean": self.scaler_mean_, "scaler_scale": self.scaler_scale_,
            "centers": np.asarray(self.jm_.centers_, float), "feat_weights": self.feat_weights_,
            "order": np.asarray(self.order_), "raw_means": self.raw_means_, "raw_transmat": self.raw_transmat_,
            "raw_covars": self.raw_covars_, "raw_weights": self.raw_weights_,
        }
        params = self.get_params()
        params["names"] = list(self.names)
        params["stress_signs"] = None if self.stress_signs is None else [float(s) for s in self.stress_signs]
        params["feature_names"] = None if self.feature_names is None else list(self.feature_names)
        scalars = {
            "class": "jump", "params": params, "effective_penalty": float(self.jm_.jump_penalty),
            "sparse_weights": getattr(self.jm_, "feat_weights", None) is not None,
            "objective": self.objective_, "n_train": self.n_train_, "relabelled": bool(self.relabelled_),
        }
        return arrays, scalars

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], scalars: dict[str, Any]) -> JumpRegimeModel:
        from jumpmodels.jump import JumpModel

        params = dict(scalars["params"])
        params["names"] = tuple(params["names"])
        m = cls(**params)
        jm = JumpModel(n_components=m.n_states, jump_penalty=float(scalars["effective_penalty"]), cont=bool(m.cont),
                       grid_size=m.grid_size)
        jm.check_jump_penalty_mx()
        jm.centers_ = np.asarray(arrays["centers"], float)
        jm.feat_weights = np.asarray(arrays["feat_weights"], float) if scalars.get("sparse_weights") else None
        m.jm_ = jm
        m.scaler_mean_, m.scaler_scale_ = arrays["scaler_mean"], arrays["scaler_scale"]
        m.feat_weights_ = arrays["feat_weights"]
        m.order_ = np.asarray(arrays["order"], dtype=int)
        m.raw_means_, m.raw_transmat_ = arrays["raw_means"], arrays["raw_transmat"]
        m.raw_covars_, m.raw_weights_ = arrays["raw_covars"], arrays["raw_weights"]
        m.objective_ = float(scalars["objective"])
        m.n_train_ = int(scalars["n_train"])
        m.relabelled_ = bool(scalars["relabelled"])
        return m


def _empirical_transmat(labels: np.ndarray, k: int) -> np.ndarray:
    counts = np.zeros((k, k))
    np.add.at(counts, (labels[:-1], labels[1:]), 1.0)
    rows = counts.sum(axis=1, keepdims=True)
    return np.where(rows > 0, counts / np.where(rows > 0, rows, 1.0), np.eye(k))


# -- jump penalty by time-series cross-validation on the training window ----------------------------------------
def select_jump_penalty(
    X: np.ndarray,
    returns: np.ndarray,
    make: Any,
    grid: Sequence[float] = DEFAULT_PENALTY_GRID,
    n_folds: int = 6,
    validation_share: float = 0.5,
    cost: float = 0.001,
) -> tuple[float, dict[float, float]]:
    """The penalty in ``grid`` whose online 0/1 strategy has the best Sharpe on the validation folds of ``X``.

    ``X`` and ``returns`` are the training window only (rows up to the refit date), so the choice never sees the
    test span. The last ``validation_share`` of the window is cut into ``n_folds`` consecutive folds; for each
    fold a model (``make(penalty)`` -> unfitted estimator) is fitted on every row before the fold and predicts the
    fold online (forward-only, from the window's first row); the fold days' strategy returns are pooled and
    scored by ``strategy_sharpe`` net of ``cost`` per switch (as the paper selects lambda by the strategy's
    validation performance, costs included). Ties:
    the larger penalty (fewer trades). Returns (best penalty, {penalty: Sharpe}).
    """
    X = np.asarray(X, float)
    returns = np.asarray(returns, float)
    T = len(X)
    start = int(T * (1.0 - validation_share))
    cuts = np.linspace(start, T, n_folds + 1).astype(int)
    scores: dict[float, float] = {}
    for lam in grid:
        pooled_p, pooled_r = [], []
        for a, b in zip(cuts[:-1], cuts[1:]):
            if b - a < 2:
                continue
            model = make(float(lam)).fit(X[:a])
            p = model.predict_proba_online(X[:b])[a:b, 0]
            pooled_p.append(p)
            pooled_r.append(returns[a:b])
        scores[float(lam)] = (
            strategy_sharpe(np.concatenate(pooled_p), np.concatenate(pooled_r), cost=cost) if pooled_p else np.nan
        )
    finite = {k: v for k, v in scores.items() if np.isfinite(v)}
    if not finite:
        return float(grid[len(grid) // 2]), scores
    best = max(finite.values())
    return max(k for k, v in finite.items() if v >= best - 1e-12), scores
