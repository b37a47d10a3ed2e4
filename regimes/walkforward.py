"""Walk-forward regime labelling: refit on a schedule, filter forward between refits.

At a refit date r the model is fitted on feature rows up to and including r (the close of r is known when the
decision at r is made). For every day t from r until the next refit, the probability row is the forward filter
of that model over the training window's start..t. Nothing at or before t depends on data after t.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from hmmlearn import _hmmc
from scipy.special import logsumexp

from backtests.errors import RegimeshiftError
from regimes.model import LiquidityHMM


@dataclass(frozen=True)
class RegimeResult:
    probabilities: pd.DataFrame  # filtered, date x regime name (calm -> stressed), from the first refit on
    refits: pd.DataFrame  # one row per refit: date, n_train, loglik, n_iter, converged, warm_started, fallback
    model: LiquidityHMM  # the last fitted model
    oos_loglik: float  # sum over days of log p(x_t | x_<t) under the model in force: out-of-sample fit quality
    seconds: float

    @property
    def regime(self) -> pd.Series:
        """Most probable regime per day."""
        return self.probabilities.idxmax(axis=1).rename("regime")

    @property
    def n_refits(self) -> int:
        return len(self.refits)

    @property
    def n_nonconverged(self) -> int:
        return int((~self.refits["converged"]).sum())


def usable_block(features: pd.DataFrame) -> pd.DataFrame:
    """The first contiguous run of rows where every feature is known (warm-up before, stale macro after)."""
    ok = features.notna().all(axis=1).to_numpy()
    if not ok.any():
        raise RegimeshiftError("features: no day has every feature defined (check windows and macro coverage)")
    first = int(np.argmax(ok))
    rest = ok[first:]
    end = first + (int(np.argmin(rest)) if not rest.all() else len(rest))
    return features.iloc[first:end]


def refit_positions(index: pd.DatetimeIndex, min_train: int, schedule: str | int) -> list[int]:
    """Row positions of refit dates: the first after ``min_train`` rows, then on the schedule."""
    if len(index) < min_train:
        raise RegimeshiftError(
            f"regimes: {len(index)} usable feature rows ({index[0].date() if len(index) else '-'} .. "
            f"{index[-1].date() if len(index) else '-'}) but min_train_days is {min_train}"
        )
    first = min_train - 1
    if isinstance(schedule, int):
        return list(range(first, len(index), schedule))
    month = index.month.to_numpy()
    new_month = np.r_[True, month[1:] != month[:-1]]
    if schedule == "monthly":
        due = new_month
    elif schedule == "quarterly":
        due = new_month & np.isin(month, (1, 4, 7, 10))
    elif schedule == "yearly":
        due = new_month & (month == 1)
    else:
        raise RegimeshiftError(f"regimes.refit: unknown schedule '{schedule}' (monthly, quarterly, yearly or N days)")
    return [first] + [int(p) for p in np.flatnonzero(due) if p > first]


def walk_forward(
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
) -> RegimeResult:
    """Label every usable day out of sample. See the module docstring for the timing contract.

    Warm-started refits start EM at the previous parameters; every ``cold_every`` refits (and whenever a warm
    fit fails to converge) fresh k-means starts compete with it, so a warm start never traps the model in a
    worse optimum for long.
    """
    t0 = time.perf_counter()
    block = usable_block(features)
    X = block.to_numpy(dtype=float)
    index = block.index
    positions = refit_positions(index, min_train, refit)
    T = len(X)
    probs = np.full((T, len(names)), np.nan)
    oos = 0.0
    rows = []
    model: LiquidityHMM | None = None
    for k, r in enumerate(positions):
        end = positions[k + 1] if k + 1 < len(positions) else T
        start = 0 if window == "expanding" else max(0, r + 1 - int(window))
        train = X[start : r + 1]
        candidate = LiquidityHMM(
            names=names,
            covariance_type=covariance_type,
            n_init=n_init,
            n_iter=n_iter,
            tol=tol,
            min_covar=min_covar,
            sticky=sticky,
            stress_signs=stress_signs,
            random_state=seed,
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
                raise RegimeshiftError(
                    f"regimes: the first fit at {index[r].date()} failed on every start "
                    "(try fewer states, covariance_type='diag' or a larger min_covar)"
                ) from None
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
        oos += _one_step_loglik(model, seg, r + 1 - start) if end > r + 1 else 0.0
    result = pd.DataFrame(probs, index=index, columns=list(names)).iloc[positions[0] :]
    refits = pd.DataFrame(rows).set_index("date")
    return RegimeResult(result, refits, model, float(oos), time.perf_counter() - t0)


def _one_step_loglik(model: LiquidityHMM, seg: np.ndarray, first: int) -> float:
    """Sum of log p(x_t | x_<t) for t >= first, in original feature units (so fits with different scalers
    compare): the predictive score of days the model was not fitted on."""
    logf = model.log_frameprob(seg)
    _, fwd = _hmmc.forward_log(model.hmm_.startprob_, model.hmm_.transmat_, np.ascontiguousarray(logf))
    total = logsumexp(fwd, axis=1)  # log p(z_0..z_t)
    jacobian = (len(seg) - first) * float(np.log(model.scaler_scale_).sum())
    return float(total[-1] - total[first - 1] - jacobian)
