"""How regimes get their names: the one place the naming rule lives.

A fitted HMM's states come back in arbitrary order. ``LiquidityHMM`` names them, calm -> stressed, by sorting a
*stress score* per state (at a first fit, and as the safety net of the refit alignment, ``LiquidityHMM._align``).
Every score here is a pure function of the fitted state parameters in original feature units -- means ``mu_j``,
full covariances ``S_j``, state weights ``w_j`` (the transition matrix's stationary distribution) -- and of the
feature names, so it uses nothing but that fit (no look-ahead) and is deterministic.

Rules (``order_by``; ``regimes.order_by`` in a config):

``"risk"`` (the default): the risk of the state's implied distribution,
    score_j = (v_j - m_j) / s_P  +  sum over level features i of  sign_i (mu_ji - mu_i) / s_i
  where P is the equal-weighted portfolio of the *return* features (``ret:SYM:H``): ``m_j = P' mu_j`` its mean,
  ``v_j = sqrt(P' S_j P)`` its volatility in state j, so ``v_j - m_j`` is the state's one-sigma loss of that
  portfolio; ``s_P`` is the portfolio's sd under the stationary mixture of the states. Every other feature is a
  *level* feature (volatility, VIX, spreads, correlations, ...) and counts by its mean, signed by its stress sign
  (``regimes.features.stress_sign``: +1 when higher means more stress) and standardised by the mixture's sd
  ``s_i`` around the mixture mean ``mu_i``. With daily returns the means are tiny and noisy and the volatility
  decides; with monthly returns the drift counts too; a state in which assets that normally diversify each other
  move together (higher correlation) has a riskier portfolio. A feature with stress sign 0 is ignored.
``"signed_mean"``: the rule used before issue 11: sum over every feature of ``sign_i (mu_ji - c_i) / scale_i``
  with the training window's feature mean and sd (returns count by their mean only, with sign -1). Right when
  every feature is a level feature; wrong when the regimes differ mainly by volatility of returns.
``"<feature>"`` (a feature's spec text, e.g. ``"vol:SPY:21"``): that feature alone -- a return feature by its own
  one-sigma loss ``sd_j - mu_j``, any other by its stress-signed mean. For a user who wants to pin the names to
  one observable.

Across refits the names are carried over by matching states (``LiquidityHMM._align``); they are overruled
and re-sorted by the rule only when they contradict the scores by more than ``RENAME_Z`` standard errors (a state
named calmer than another is clearly riskier), e.g. when a first window without any crunch split the calm regime
in two and a later fit finds the real crunch.

Ambiguity: each score is an estimate. Its standard error (delta method, treating a state's days as independent
draws from its distribution, which is the HMM's own assumption, with ``n_j = n_train w_j`` days) is
``sqrt((a' S_j a + b^2 v_j^2 / 2) / n_j)`` for a score ``a' mu_j + b v_j``. Two neighbouring named states whose
scores differ by less than ``AMBIGUOUS_Z`` standard errors of the difference (or are named against their scores)
are reported as an ambiguous pair: the data do not say which of the two is the more stressed. Features that are
autocorrelated within a regime (levels, long windows) make the true noise larger than this, so the flag errs on
the side of silence; the z-gaps are reported so a reader can judge.
"""
from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RISK = "risk"
SIGNED_MEAN = "signed_mean"
RULES = (RISK, SIGNED_MEAN)
AMBIGUOUS_Z = 2.0  # neighbouring named states closer than this many standard errors: an ambiguous pair
RENAME_Z = 3.0  # a refit's matched names are overruled when they contradict the scores by more than this
# ... or (every rule) by a stress-order contradiction larger than both of these:
STRESS_TOLERANCE = 0.1  # this share of the spread of the states' stress scores
STRESS_MIN_GAP = 0.5  # and this many standardised units

__all__ = [
    "AMBIGUOUS_Z",
    "STRESS_MIN_GAP",
    "STRESS_TOLERANCE",
    "RISK",
    "RULES",
    "SIGNED_MEAN",
    "NamingReport",
    "align_order",
    "check_order_by",
    "contradicts_stress",
    "feature_is_return",
    "contradicts",
    "naming_report",
    "overrules",
    "scores_and_errors",
    "state_weights",
    "stress_scores",
]


def feature_is_return(name: str) -> bool:
    """A return feature (``ret:SYM:H``, a log return over H days): counted through a portfolio's risk, not its
    mean level. Names that are not feature specs count as level features."""
    from regimeshift.regimes.features import FeatureSpecError, parse_feature

    try:
        return parse_feature(name).kind == "ret"
    except (FeatureSpecError, TypeError):
        return False


def _signs(feature_names: Sequence[str] | None, d: int, signs: Sequence[float] | None) -> np.ndarray:
    if signs is not None:
        return np.asarray(signs, dtype=float)
    if feature_names is None:
        return np.ones(d)
    from regimeshift.regimes.features import FeatureSpecError, stress_sign

    out = []
    for n in feature_names:
        try:
            out.append(float(stress_sign(n)))
        except (FeatureSpecError, TypeError):
            out.append(1.0)
    return np.asarray(out)


def check_order_by(order_by: str, feature_names: Sequence[str] | None) -> str:
    """``order_by`` normalised (a feature's spec text as the feature frame spells it); ValueError if unknown."""
    if order_by in RULES:
        return order_by
    names = list(feature_names or [])
    if order_by in names:
        return order_by
    from regimeshift.regimes.features import FeatureSpecError, parse_feature

    try:
        text = parse_feature(order_by).text
    except (FeatureSpecError, TypeError):
        text = None
    if text is not None and text in names:
        return text
    raise ValueError(
        f"regimes.order_by: {order_by!r} is neither {' nor '.join(repr(r) for r in RULES)} nor one of the features "
        f"({', '.join(names) or 'none named'})"
    )


def state_weights(transmat: np.ndarray) -> np.ndarray:
    """Stationary distribution of the fitted transition matrix (the states' long-run shares)."""
    a = np.asarray(transmat, dtype=float)
    k = len(a)
    m = np.vstack([a.T - np.eye(k), np.ones(k)])
    w = np.linalg.lstsq(m, np.r_[np.zeros(k), 1.0], rcond=None)[0]
    w = np.clip(w, 0.0, None)
    return w / w.sum() if w.sum() > 0 else np.full(k, 1.0 / k)


@dataclass(frozen=True)
class _Linear:
    """A score of the form ``a' mu_j + b sqrt(p' S_j p)``."""

    a: np.ndarray
    p: np.ndarray
    b: float

    def scores(self, means: np.ndarray, covs: np.ndarray) -> np.ndarray:
        sd = np.sqrt(np.maximum(np.einsum("i,kij,j->k", self.p, covs, self.p), 0.0))
        return means @ self.a + self.b * sd

    def standard_errors(self, covs: np.ndarray, n: np.ndarray) -> np.ndarray:
        var_mean = np.einsum("i,kij,j->k", self.a, covs, self.a)
        var_sd = np.einsum("i,kij,j->k", self.p, covs, self.p)  # v_j^2; var(v_hat) ~ v^2 / (2 n)
        return np.sqrt(np.maximum(var_mean + self.b**2 * var_sd / 2.0, 0.0) / np.maximum(n, 1.0))


def _rule(
    order_by: str,
    means: np.ndarray,
    covs: np.ndarray,
    weights: np.ndarray,
    feature_names: Sequence[str] | None,
    signs: Sequence[float] | None,
    scale: np.ndarray | None,
) -> _Linear:
    k, d = means.shape
    sg = _signs(feature_names, d, signs)
    names = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(d)]
    is_ret = np.array([feature_is_return(n) for n in names], dtype=bool)
    zero = np.zeros(d)
    if order_by == SIGNED_MEAN:
        sc = np.asarray(scale, float) if scale is not None else _mixture_sd(means, covs, weights)
        return _Linear(sg / sc, zero, 0.0)
    mix_cov = _mixture_cov(means, covs, weights)
    mix_sd = np.sqrt(np.maximum(np.diag(mix_cov), 1e-300))
    if order_by == RISK:
        level = (~is_ret) & (sg != 0)
        a = np.where(level, sg / mix_sd, 0.0)
        ret = is_ret & (sg != 0)
        if not ret.any():
            return _Linear(a, zero, 0.0)
        p = np.where(ret, 1.0 / ret.sum(), 0.0)
        s_p = float(np.sqrt(max(p @ mix_cov @ p, 1e-300)))
        return _Linear(a - p / s_p, p, 1.0 / s_p)
    i = names.index(check_order_by(order_by, names))
    e = np.eye(d)[i]
    if is_ret[i]:
        return _Linear(-e / mix_sd[i], e, 1.0 / mix_sd[i])
    return _Linear(e * (sg[i] if sg[i] != 0 else 1.0) / mix_sd[i], zero, 0.0)


def _mixture_cov(means: np.ndarray, covs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    w = np.asarray(weights, float)
    mu = w @ means
    dev = means - mu
    return np.einsum("k,kij->ij", w, covs) + np.einsum("k,ki,kj->ij", w, dev, dev)


def _mixture_sd(means: np.ndarray, covs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(np.diag(_mixture_cov(means, covs, weights)), 1e-300))


def stress_scores(
    means: np.ndarray,
    covs: np.ndarray,
    weights: np.ndarray,
    feature_names: Sequence[str] | None = None,
    *,
    order_by: str = RISK,
    signs: Sequence[float] | None = None,
    scale: np.ndarray | None = None,
) -> np.ndarray:
    """Per state (rows of ``means``, ``covs`` in original units): the stress score of rule ``order_by`` (see the
    module docstring); higher = more stressed, so ``argsort`` gives the names' order. ``signs`` overrides the
    stress signs derived from the feature names; ``scale`` is the per-feature sd ``signed_mean`` divides by (the
    training window's; default the states' mixture sd)."""
    return scores_and_errors(means, covs, weights, 1, feature_names, order_by=order_by, signs=signs, scale=scale)[0]


def scores_and_errors(
    means: np.ndarray,
    covs: np.ndarray,
    weights: np.ndarray,
    n_train: int,
    feature_names: Sequence[str] | None = None,
    *,
    order_by: str = RISK,
    signs: Sequence[float] | None = None,
    scale: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per state: the stress score (0 = the long-run average of the states) and its standard error
    (``n_j = n_train w_j`` days per state)."""
    means, covs, w = np.asarray(means, float), np.asarray(covs, float), np.asarray(weights, float)
    rule = _rule(order_by, means, covs, w, feature_names, signs, scale)
    s = rule.scores(means, covs)
    return s - w @ s, rule.standard_errors(covs, n_train * w)  # 0 = the states' long-run average


def contradicts(order: np.ndarray, scores: np.ndarray, errors: np.ndarray, z: float = RENAME_Z) -> bool:
    """True if naming raw states in ``order`` (calm -> stressed) puts some state below a calmer-named one's score by
    more than ``z`` standard errors of the difference: the names clearly say the opposite of the data. Near-ties
    (within noise) never count, so names do not flip on stable data."""
    s, e = np.asarray(scores)[order], np.asarray(errors)[order]
    for i in range(len(s)):
        for j in range(i + 1, len(s)):
            if s[i] - s[j] > z * np.sqrt(e[i] ** 2 + e[j] ** 2):
                return True
    return False


def contradicts_stress(score: np.ndarray, order: np.ndarray) -> bool:
    """True if the names given by ``order`` clearly contradict the stress scores: a state named as more stressed
    than another scores lower by more than ``STRESS_TOLERANCE`` of the score range and by more than
    ``STRESS_MIN_GAP`` standardised units (near-ties never count)."""
    named = score[order]
    span = float(score.max() - score.min())
    worst = float(np.max(np.maximum.accumulate(named) - named))  # largest drop below an earlier (calmer) name
    return worst > max(STRESS_TOLERANCE * span, STRESS_MIN_GAP)


def overrules(order: np.ndarray, scores: np.ndarray, errors: np.ndarray | None) -> bool:
    """True if a refit's matched names (``order``) must give way to the stress order: they contradict the scores
    by more than the tolerances of ``contradicts_stress`` or, given the scores' standard errors (every rule but
    ``signed_mean``), by more than ``RENAME_Z`` of them."""
    return contradicts_stress(scores, order) or (errors is not None and contradicts(order, scores, errors))


EXHAUSTIVE_STATES = 6  # up to this many states (720 assignments) every assignment is tried
UNIQUE_MARGIN = 1e-9  # ... and the best is taken when it beats the second best by this (relative) margin


@functools.lru_cache(maxsize=EXHAUSTIVE_STATES)
def _permutations(k: int) -> np.ndarray:
    return np.array(list(itertools.permutations(range(k))), dtype=np.intp)


def assignment(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.optimize.linear_sum_assignment(cost)`` for a square cost matrix: (rows, their columns) of least
    total cost. Why try every assignment of a few states first (measured reason): importing scipy.optimize took
    0.2-0.35 s, paid inside every cold walk-forward's chain of refits for a 3 x 3 problem. Where the least total
    is not clear of the next by ``UNIQUE_MARGIN`` (ties: states without a mean) scipy decides, so the answer is
    always scipy's (tests/test_regime_labels.py)."""
    k = cost.shape[0]
    if cost.shape == (k, k) and 0 < k <= EXHAUSTIVE_STATES and np.isfinite(cost).all():
        perms = _permutations(k)
        totals = cost[np.arange(k), perms].sum(axis=1)  # totals[p] = sum_i cost[i, perms[p, i]]
        first, *second = np.argsort(totals, kind="stable")[:2]
        best = totals[first]
        if not second or totals[second[0]] - best > UNIQUE_MARGIN * (1.0 + abs(best)):
            return np.arange(k), perms[first].copy()
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(cost)
    return np.asarray(rows), np.asarray(cols)


def align_order(new_means: np.ndarray, prev_named_means: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``order[j]`` = the new (raw) state matched to previous named state j, by the assignment minimising the
    total squared scaled distance between means (``assignment``)."""
    diff = (new_means[:, None, :] - prev_named_means[None, :, :]) / scale
    cost = (diff**2).sum(axis=-1)  # cost[i, j]: raw state i named as previous state j
    cost[~np.isfinite(cost)] = np.nanmax(cost, initial=0.0) * 10 + 1  # a state without a mean takes what is left
    rows, cols = assignment(cost)
    order = np.empty(len(cols), dtype=int)
    order[cols] = rows
    return order


@dataclass(frozen=True)
class NamingReport:
    """Scores of the named states (calm -> stressed), their standard errors and the neighbours' z-gaps."""

    order_by: str
    names: tuple[str, ...]
    scores: np.ndarray  # named order
    standard_errors: np.ndarray
    z_gaps: np.ndarray  # (score[k+1] - score[k]) / se of the difference, k = 0..K-2
    ambiguous: tuple[tuple[str, str], ...]  # neighbouring pairs with z_gap < AMBIGUOUS_Z

    def as_dict(self) -> dict[str, object]:
        return {
            "order_by": self.order_by,
            "scores": {n: float(s) for n, s in zip(self.names, self.scores)},
            "standard_errors": {n: float(s) for n, s in zip(self.names, self.standard_errors)},
            "z_gaps": {f"{a}<{b}": float(z) for a, b, z in zip(self.names, self.names[1:], self.z_gaps)},
            "ambiguous": [f"{a}/{b}" for a, b in self.ambiguous],
        }

    def describe(self) -> str:
        """One line for the diagnostics and the tearsheet."""
        gaps = ", ".join(f"{a} < {b}: {z:.1f} se" for a, b, z in zip(self.names, self.names[1:], self.z_gaps))
        head = f"named by {self.order_by} ({gaps})"
        if not self.ambiguous:
            return head
        pairs = "; ".join(f"{a} / {b}" for a, b in self.ambiguous)
        return f"{head}; AMBIGUOUS order (within {AMBIGUOUS_Z:g} standard errors or named against the scores): {pairs}"


def naming_report(
    names: Sequence[str],
    means: np.ndarray,
    covs: np.ndarray,
    weights: np.ndarray,
    n_train: int,
    feature_names: Sequence[str] | None = None,
    *,
    order_by: str = RISK,
    signs: Sequence[float] | None = None,
    scale: np.ndarray | None = None,
) -> NamingReport:
    """The named order's scores and whether it is ambiguous. ``means``, ``covs``, ``weights`` in NAMED order."""
    s, se = scores_and_errors(means, covs, weights, n_train, feature_names, order_by=order_by, signs=signs,
                              scale=scale)
    z = (s[1:] - s[:-1]) / np.maximum(np.sqrt(se[1:] ** 2 + se[:-1] ** 2), 1e-300)
    names = tuple(names)
    amb = tuple((names[i], names[i + 1]) for i in range(len(z)) if not z[i] >= AMBIGUOUS_Z)
    return NamingReport(order_by, names, s, se, z, amb)
