"""Walk-forward for any regime estimator: refit on the HMM's schedule, predict online between refits.

The estimator needs ``fit(X, align_to=previous, warm_start=previous)`` (scaling fitted on ``X``, the training
window, only), a forward-only ``predict_proba_online(X)`` (row t from rows 0..t; columns in ``names`` order)
and ``means_`` (for the next fit's label alignment). ``regimes.jump.JumpRegimeModel`` and
``regimes.gmmhmm.GMMRegimeModel`` are two.

Timing contract, the same as ``regimes.walkforward``: at a refit date r the model is fitted on the rows of the
training window up to and including r (``refit_positions``, ``window_start``); for every day t from r until
the next refit, the probability row is the online prediction of that model over the training window's first
row .. t. Nothing at or before t depends on data after t.

Seeded cold starts (``n_init``) run at the first refit and every ``cold_every``-th refit; the refits between
start warm from the previous fit with ``warm_init`` cold starts beside it (the scheduled competitions of the
HMM, without its surprise rules). With ``penalty = "cv"`` the jump penalty is chosen by time-series
cross-validation on the training window (``regimes.jump.select_jump_penalty``) at the same scheduled refits and
kept until the next one; with ``penalty_cv = "walk"`` it is chosen as Shu, Yu & Mulvey (2024, sec. 3.4.3) do
(``penalty_by_walk``): every candidate runs its own walk-forward, and each month uses the candidate whose online
0/1 signal did best over the preceding validation span.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from regimeshift.core import progress
from regimeshift.core.errors import RegimeshiftError
from regimeshift.regimes.result import RegimeResult
from regimeshift.regimes.spec import RegimeSpec, default
from regimeshift.regimes.schedule import (
    window_start,
    block_cut,
    check_windows_move,
    first_fit_failed,
    refit_positions,
    usable_block,
)

MODELS = ("jump", "gmmhmm")
#: cold starts beside the warm start at an unscheduled refit (and + 1 per candidate of a cross-validated penalty)
WARM_INIT = 1


def make_estimator(spec: RegimeSpec, penalty: float | None = None, n_init: int | None = None) -> Any:
    """The unfitted estimator ``spec`` describes (``model``: "jump" or "gmmhmm")."""
    kind = spec.model
    n = spec.n_init if n_init is None else int(n_init)
    # the HMM's naming rule and the feature names it reads (which are returns, which levels)
    naming = {"order_by": spec.order_by, "feature_names": spec.feature_names}
    if kind == "jump":
        from regimeshift.regimes.jump import JumpRegimeModel

        lam = spec.jump_penalty if penalty is None else penalty
        return JumpRegimeModel(
            names=spec.names, jump_penalty=float(lam), cont=spec.jump_continuous, max_feats=spec.max_feats,
            stress_signs=spec.stress_signs, random_state=spec.seed, n_init=n, **naming,
        )
    if kind == "gmmhmm":
        from regimeshift.regimes.gmmhmm import GMMRegimeModel

        return GMMRegimeModel(
            names=spec.names, n_mix=spec.n_mix, covariance_type=spec.covariance_type, n_iter=spec.n_iter,
            tol=spec.tol, min_covar=spec.min_covar, stress_signs=spec.stress_signs, random_state=spec.seed,
            n_init=n, **naming,
        )
    raise RegimeshiftError(f"regimes.model: '{kind}' (expected hmm, {' or '.join(MODELS)})")


def generic_walk_forward(
    features: pd.DataFrame,
    spec: RegimeSpec,
    returns: pd.Series | None = None,
    make: Callable[..., Any] = make_estimator,
) -> RegimeResult:
    """Label every usable day out of sample with the estimator ``make(spec, penalty, n_init)`` builds.

    ``spec``: the schedule (min_train, refit, window, cold_every), n_init, seed, stress_signs and the model's
    own settings (jump_penalty -- a number or "cv" --, jump_continuous, max_feats, penalty_grid; n_mix, ...).
    ``returns``: the traded index's daily simple returns on the features' dates, needed for ``jump_penalty =
    "cv"`` only (each selection reads the training window's rows, never later ones).
    """
    t0 = time.perf_counter()
    names: Sequence[str] = spec.names
    window = spec.window
    block = usable_block(features)
    X = block.to_numpy(dtype=float)
    index = block.index
    positions = refit_positions(index, spec.min_train, spec.refit, block_cut(features, block))
    check_windows_move(block, positions, window)
    T, K = len(X), len(names)
    if positions[0] + 1 - window_start(positions[0], window) < 10 * K:
        raise RegimeshiftError(f"regimes: the first training window has fewer than {10 * K} rows")
    cv = spec.jump_penalty == "cv"
    if cv and spec.penalty_cv == "walk":
        return penalty_by_walk(features, spec, returns, make)
    ret = None
    if cv:
        if returns is None:
            raise RegimeshiftError("regimes.jump_penalty = 'cv' needs the index's returns (run it through the pipeline)")
        ret = returns.reindex(index).fillna(0.0).to_numpy(dtype=float)
    grid = _grid(spec)
    cold_every = spec.cold_every
    warm_init = WARM_INIT

    probs = np.full((T, K), np.nan)
    daily = np.full(T, np.nan)
    rows = []
    model: Any = None
    penalty: float | None = None
    refits_bar = progress.bar(len(positions), "walk-forward refits", unit="refit", leave=False)
    for k, r in enumerate(positions):
        refits_bar.update(1)
        end = positions[k + 1] if k + 1 < len(positions) else T
        lo = window_start(r, window)
        scheduled = k % cold_every == 0
        cv_scores: dict[float, float] = {}
        if cv and (scheduled or penalty is None):
            from regimeshift.regimes.jump import select_jump_penalty

            penalty, cv_scores = select_jump_penalty(
                X[lo : r + 1], ret[lo : r + 1],  # type: ignore[index]
                lambda lam: make(spec, penalty=lam, n_init=warm_init + 1), grid,
            )
        est = make(spec, penalty=penalty, n_init=None if scheduled or model is None else warm_init)
        fallback = False
        try:
            est.fit(X[lo : r + 1], align_to=model, warm_start=model)
            model = est
        except FloatingPointError:
            if model is None:
                raise RegimeshiftError(first_fit_failed(block.iloc[lo : r + 1], index[r])) from None
            fallback = True  # as the HMM's walk does: the previous fit carries on until the next refit
        p = model.predict_proba_online(X[lo:end])
        probs[r:end] = p[r - lo :]
        if hasattr(model, "online_loglik"):
            # log p(x_t | x_<t) of the days after r up to and including the next refit day (out of sample)
            scored_end = min(end + 1, T)
            if scored_end > r + 1:
                daily[r + 1 : scored_end] = model.online_loglik(X[lo:scored_end])[r + 1 - lo :]
        rows.append(
            {
                "date": index[r],
                "n_train": r + 1 - lo,
                "loglik": float(getattr(model, "loglik_", np.nan)),
                "n_iter": int(getattr(model, "n_iter_", 0)),
                "converged": bool(model.converged_),
                "warm_started": not scheduled and k > 0,
                "fallback": fallback,
                "cold_competition": scheduled,
                "surprise": False,
                "relabelled": bool(k > 0 and not fallback and model.relabelled_),
                "best_cold_loglik": np.nan,
                "jump_penalty": float(penalty) if penalty is not None else float(getattr(model, "jump_penalty", np.nan)),
            }
        )
    refits_bar.close()
    result = pd.DataFrame(probs, index=index, columns=list(names)).iloc[positions[0] :]
    refits = pd.DataFrame(rows).set_index("date")
    path = pd.Series(daily, index=index, name="loglik").iloc[positions[0] + 1 :]
    # a jump model has no likelihood: its out-of-sample log-likelihood is not defined (NaN)
    oos = float(np.nansum(path.to_numpy())) if hasattr(model, "online_loglik") else float("nan")
    return RegimeResult(result, refits, model, oos, time.perf_counter() - t0, path,
                        meta={"model": spec.model})


def _grid(spec: RegimeSpec) -> tuple[float, ...]:
    # an empty grid means the default one
    return tuple(float(g) for g in spec.penalty_grid or default("penalty_grid"))



def penalty_by_walk(
    features: pd.DataFrame,
    spec: RegimeSpec,
    returns: pd.Series | None,
    make: Callable[..., Any] = make_estimator,
) -> RegimeResult:
    """``jump_penalty = "cv"`` as Shu, Yu & Mulvey (2024) choose it: each month, the candidate penalty whose own
    walk-forward signal had the best validation Sharpe over the preceding ``cv_validation_days`` rows.

    Every penalty in ``penalty_grid`` runs the ordinary walk (``generic_walk_forward`` with that fixed penalty:
    the same refit schedule and window), which gives an online probability row per day from data up to that day.
    On the first usable day of each month (and at the first refit) the candidates are scored on the rows before
    it by ``regimes.monthly_choice.choose_monthly`` (the 0/1 rule net of 10 bp per switch, with the one-day
    delay); the best (ties: the larger penalty) gives the probabilities of that month. With ``smooth_days`` the
    candidates are the penalties' signals smoothed over that many days (``regimes.smoothing``), and with
    ``smooth_days = "cv"`` every (penalty, smoothing) pair competes. The choice on day p reads returns and
    signals of days < p only.

    ``refits``: one row per monthly choice (the chosen candidate's latest refit, its ``jump_penalty``,
    ``smooth_days`` and ``cv_sharpe``, the validation Sharpe it won with; ``cv_days``, the validation rows).
    """
    from regimeshift.regimes.monthly_choice import choose_monthly
    from regimeshift.regimes.smoothing import CV, smooth

    t0 = time.perf_counter()
    if returns is None:
        raise RegimeshiftError("regimes.jump_penalty = 'cv' needs the index's returns (run it through the pipeline)")
    grid = _grid(spec)
    days = spec.smooth_days
    ks = sorted(set(spec.smooth_grid)) if days == CV else [int(days)]
    walks = {lam: generic_walk_forward(features, spec.replace(jump_penalty=lam, penalty_cv="window"), None, make)
             for lam in grid}
    index = walks[grid[0]].probabilities.index
    names = list(walks[grid[0]].probabilities.columns)
    ret = returns.reindex(index).fillna(0.0).to_numpy(dtype=float)
    probs = {(lam, k): smooth(w.probabilities.reindex(index), k).to_numpy(dtype=float)
             for lam, w in walks.items() for k in ks}
    order = [(lam, k) for lam in grid for k in ks]
    choices = choose_monthly({key: p[:, 0] for key, p in probs.items()}, ret, index,
                             spec.cv_validation_days, order=order)
    out = np.full((len(index), len(names)), np.nan)
    rows = []
    for ch in choices:
        lam, k = ch.key  # type: ignore[misc]
        out[ch.start : ch.end] = probs[(lam, k)][ch.start : ch.end]
        ref = walks[lam].refits
        latest = ref.loc[: index[ch.start]]
        row = (latest.iloc[-1] if len(latest) else ref.iloc[0]).to_dict()
        row.update({"date": index[ch.start], "jump_penalty": lam, "smooth_days": k, "cv_sharpe": ch.sharpe,
                    "cv_days": ch.days})
        rows.append(row)
    result = pd.DataFrame(out, index=index, columns=names)
    refits = pd.DataFrame(rows).set_index("date")
    last = walks[float(refits["jump_penalty"].iloc[-1])]
    return RegimeResult(result, refits, last.model, float("nan"), time.perf_counter() - t0, last.loglik_path,
                        meta={"model": spec.model, "penalty_cv": "walk"})
