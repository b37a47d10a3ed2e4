"""The weights of a rule sleeve's members at one decision, from the closes up to that decision only.

ONE pure function, :func:`member_weights`, that the backtrader run, the array twin (the benchmarks beside every
run) and the sweep screen all call, so the three cannot drift apart. It reads the last ``lookback`` daily returns
(``lookback + 1`` closes, the decision close the last of them) and returns long-only weights summing to one:

- ``equal``: 1/k each (no window needed);
- ``inverse_vol``: proportional to 1 / the sample volatility of each member's returns;
- ``min_variance``: the long-only minimum-variance portfolio of the Ledoit-Wolf covariance (scikit-learn's
  shrinkage estimator: a window of 63 days and 15 members makes the sample covariance too noisy to invert);
- ``risk_parity``: equal risk contributions under the same covariance (Spinu's convex form, scipy's L-BFGS-B);
- ``momentum``: the ``top_k`` members with the highest return over the window, held equally (ties: the member
  listed first wins, so the choice is deterministic).

When the window is not filled yet (fewer than ``lookback + 1`` closes, or a missing close inside it) or the
window carries no information (a flat member: zero volatility), the members are held equally and the result
says so (``filled`` False), which member_weights.csv and the tearsheet state.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WEIGHS = ("equal", "inverse_vol", "min_variance", "risk_parity", "momentum")


@dataclass(frozen=True)
class MemberWeights:
    weights: np.ndarray  # one per member, >= 0, summing to 1
    filled: bool  # False: the equal-weight fallback (window not filled, or no information in it)


def default_top_k(n_members: int) -> int:
    """Momentum's ``top_k`` when the config leaves it out: half the members, rounded up."""
    return (n_members + 1) // 2


def member_weights(closes: np.ndarray, weigh: str, lookback: int, top_k: int | None = None) -> MemberWeights:
    """Member weights at the decision whose close is the LAST row of ``closes`` (rows = days, columns = members).

    Only the last ``lookback + 1`` rows are read; any row after the decision must not be passed in.
    """
    x = np.asarray(closes, dtype=float)
    k = x.shape[1]
    equal = MemberWeights(np.full(k, 1.0 / k), weigh == "equal")
    if weigh == "equal" or k == 0:
        return equal
    if weigh not in WEIGHS:
        raise ValueError(f"weigh: unknown rule {weigh!r} (expected one of {', '.join(WEIGHS)})")
    if len(x) < lookback + 1:
        return MemberWeights(equal.weights, False)
    window = x[-(lookback + 1):]
    if not (np.isfinite(window).all() and (window > 0).all()):
        return MemberWeights(equal.weights, False)
    if weigh == "momentum":
        strength = window[-1] / window[0] - 1.0
        chosen = np.argsort(-strength, kind="stable")[: top_k if top_k is not None else default_top_k(k)]
        w = np.zeros(k)
        w[chosen] = 1.0 / len(chosen)
        return MemberWeights(w, True)
    rets = window[1:] / window[:-1] - 1.0
    vol = rets.std(axis=0, ddof=1)
    if k == 1:
        return MemberWeights(np.ones(1), True)
    if not (vol > 0).all():  # a member that did not move: its risk is unknown, not zero
        return MemberWeights(equal.weights, False)
    if weigh == "inverse_vol":
        w = 1.0 / vol
        return MemberWeights(w / w.sum(), True)
    # scaled to unit average variance: the optimisers' tolerances then mean the same for any price level
    from sklearn.covariance import LedoitWolf  # only a rule that needs a covariance loads scikit-learn

    cov = LedoitWolf().fit(rets).covariance_
    cov = cov / np.mean(np.diag(cov))
    if not np.linalg.eigvalsh(cov)[0] > 1e-10:
        # a window too short for its members (a couple of returns) leaves the shrunk covariance singular: the
        # optimum is then not defined, so the decision holds members equally and says so, as before a full window
        return MemberWeights(equal.weights, False)
    w = _min_variance(cov) if weigh == "min_variance" else _risk_parity(cov)
    w = np.clip(w, 0.0, None)
    if not (np.isfinite(w).all() and w.sum() > 0):
        return MemberWeights(equal.weights, False)
    return MemberWeights(w / w.sum(), True)


def _min_variance(cov: np.ndarray) -> np.ndarray:
    """argmin w'Cw subject to sum(w) = 1, w >= 0 (SLSQP from equal weights: deterministic)."""
    from scipy.optimize import minimize

    k = len(cov)
    res = minimize(lambda w: w @ cov @ w, np.full(k, 1.0 / k), jac=lambda w: 2.0 * cov @ w, method="SLSQP",
                   bounds=[(0.0, 1.0)] * k, constraints=({"type": "eq", "fun": lambda w: w.sum() - 1.0,
                                                          "jac": lambda w: np.ones_like(w)},),
                   options={"ftol": 1e-14, "maxiter": 500})
    return np.asarray(res.x, dtype=float)


def _risk_parity(cov: np.ndarray) -> np.ndarray:
    """Equal risk contributions: the positive y with y_i (Cy)_i = 1/k for every i, the unique minimiser of the
    strictly convex 0.5 y'Cy - mean(log y) (Spinu 2013); w = y / sum(y). MINPACK's hybrid root finder with the
    exact Jacobian from the inverse-volatility start takes a few steps; should it leave the positive orthant the
    convex problem is solved by L-BFGS-B instead."""
    from scipy.optimize import minimize, root

    k = len(cov)
    b = 1.0 / k
    y0 = 1.0 / np.sqrt(np.diag(cov))
    y0 = y0 / np.sqrt(y0 @ cov @ y0)
    sol = root(lambda y: y * (cov @ y) - b, y0, jac=lambda y: np.diag(cov @ y) + y[:, None] * cov, method="hybr",
               options={"xtol": 1e-13})
    y = np.asarray(sol.x, dtype=float)
    if not (sol.success and (y > 0).all()):
        res = minimize(lambda y: 0.5 * y @ cov @ y - b * np.log(y).sum(), y0, jac=lambda y: cov @ y - b / y,
                       method="L-BFGS-B", bounds=[(1e-12, None)] * k, options={"ftol": 1e-15, "gtol": 1e-12,
                                                                              "maxiter": 1000})
        y = np.asarray(res.x, dtype=float)
    return y / y.sum()


def member_weight_rows(closes: np.ndarray, rows: np.ndarray, weigh: str, lookback: int,
                       top_k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`member_weights` at each decision row: (len(rows) x members weights, filled flags). Row r sees
    ``closes[: rows[r] + 1]`` only."""
    x = np.asarray(closes, dtype=float)
    out = np.empty((len(rows), x.shape[1]))
    filled = np.empty(len(rows), dtype=bool)
    for i, r in enumerate(np.asarray(rows, dtype=int)):
        mw = member_weights(x[: r + 1], weigh, lookback, top_k)
        out[i], filled[i] = mw.weights, mw.filled
    return out, filled
