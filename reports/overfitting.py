"""How much of a sweep's best result is luck: pure functions, numpy and scipy only.

- :func:`deflated_sharpe`: the deflated Sharpe ratio (Bailey & Lopez de Prado, "The Deflated Sharpe Ratio",
  2014): the probability that the true Sharpe ratio exceeds the Sharpe ratio the best of ``n_trials``
  unskilled strategies would show by chance (:func:`expected_max_sharpe`), given the sample's length, skewness
  and kurtosis.
- :func:`pbo_cscv`: the probability of backtest overfitting by combinatorially symmetric cross-validation
  (Bailey, Borwein, Lopez de Prado & Zhu, "The Probability of Backtest Overfitting", 2017): split the time
  series into S blocks, and for every way of taking S/2 of them as in-sample, pick the in-sample best variant
  and see where it ranks out of sample; PBO is the share of splits where it ranks in the bottom half.

All Sharpe ratios here are per period (not annualised) unless a function says otherwise.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np


def ndtr(x: float) -> float:
    """The standard normal cdf, as scipy.special.ndtr (cephes) computes it, from the standard library's erf/erfc.
    Why not import it: every run's PSR passes through here, and scipy.special's import (it pulls in the whole
    numpy namespace) was 0.12-0.22 s of a warm run of about 2.5 s; scipy's ``ndtri`` is imported where a sweep
    needs it."""
    z = x * math.sqrt(0.5)
    if abs(z) < math.sqrt(0.5):
        return 0.5 + 0.5 * math.erf(z)
    y = 0.5 * math.erfc(abs(z))
    return 1.0 - y if z > 0 else y

EULER_GAMMA = 0.5772156649015329


def expected_max_sharpe(var_sharpe: float, n_trials: int) -> float:
    """E[max SR] of ``n_trials`` independent zero-skill trials whose Sharpe ratios have variance ``var_sharpe``
    (eq. 6 of the 2014 paper, false strategy theorem); 0 for a single trial."""
    if n_trials <= 1 or not var_sharpe > 0:
        return 0.0
    from scipy.special import ndtri  # scipy.stats.norm's ppf kernel, without scipy.stats' ~1 s of imports

    n = float(n_trials)
    return math.sqrt(var_sharpe) * (
        (1.0 - EULER_GAMMA) * float(ndtri(1.0 - 1.0 / n)) + EULER_GAMMA * float(ndtri(1.0 - 1.0 / (n * math.e)))
    )


def probabilistic_sharpe(sharpe: float, benchmark: float, n_obs: int, skew: float, kurtosis: float) -> float:
    """P[true SR > benchmark] given an observed per-period ``sharpe`` over ``n_obs`` returns with the given
    skewness and (non-excess) kurtosis (Bailey & Lopez de Prado 2012)."""
    if n_obs < 2 or not np.isfinite(sharpe):
        return math.nan
    denom = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if not denom > 0:
        return math.nan
    return float(ndtr((sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(denom)))


def deflated_sharpe(
    sharpe: float, n_obs: int, skew: float, kurtosis: float, n_trials: int, var_sharpe: float
) -> float:
    """Deflated Sharpe ratio: :func:`probabilistic_sharpe` against :func:`expected_max_sharpe`."""
    return probabilistic_sharpe(sharpe, expected_max_sharpe(var_sharpe, n_trials), n_obs, skew, kurtosis)


@dataclass(frozen=True)
class PBOResult:
    pbo: float  # share of splits whose in-sample winner ranks at or below the out-of-sample median
    logits: np.ndarray  # one per split: log(w / (1 - w)), w = out-of-sample relative rank of the IS winner
    n_splits: int
    n_blocks: int


def _sharpe_from(s: np.ndarray, q: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Per-period Sharpe (ddof=1) from sums, sums of squares and counts (rows: splits, columns: variants)."""
    n = n[:, None]
    mean = s / n
    var = np.maximum(q / n - mean**2, 0.0) * n / np.maximum(n - 1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, mean / np.sqrt(var), 0.0)


def pbo_cscv(returns: np.ndarray, n_blocks: int = 16) -> PBOResult:
    """PBO of choosing the best column (by Sharpe ratio) of ``returns`` (T periods x N variants).

    ``n_blocks`` (S, even) contiguous blocks; all C(S, S/2) splits are used. The out-of-sample relative rank
    is w = rank / (N + 1) with rank 1 = worst (ties share the average rank); a split is overfit when
    logit(w) <= 0, i.e. the in-sample winner does no better than the out-of-sample median.
    """
    m = np.asarray(returns, dtype=float)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError("pbo_cscv needs a T x N matrix with N >= 2 variants")
    if n_blocks < 2 or n_blocks % 2:
        raise ValueError("n_blocks must be an even number >= 2")
    n_blocks = min(n_blocks, m.shape[0] - m.shape[0] % 2)
    if n_blocks < 2:
        raise ValueError("too few periods for cross-validation")
    if not np.isfinite(m).all():  # a copy only when there is something to replace: m is months x every variant
        m = np.nan_to_num(m, nan=0.0)
    parts = np.array_split(np.arange(m.shape[0]), n_blocks)
    sums = np.stack([m[p].sum(axis=0) for p in parts])
    sqs = np.stack([(m[p] ** 2).sum(axis=0) for p in parts])
    counts = np.array([len(p) for p in parts], dtype=float)
    n = m.shape[1]
    splits = np.array(list(itertools.combinations(range(n_blocks), n_blocks // 2)))
    member = np.zeros((len(splits), n_blocks))
    np.put_along_axis(member, splits, 1.0, axis=1)
    logits = np.empty(len(splits))
    # all splits of a batch at once: (splits x blocks) @ (blocks x N); a batch's arrays are (splits x N), so
    # with many variants the batch shrinks to hold each near 2 MB (512 splits up to 512 variants, as before):
    # the leaderboard's peak memory then stops growing with the variants
    batch = max(1, min(512, 2**18 // n))
    for lo in range(0, len(splits), batch):
        train = member[lo : lo + batch]
        sr_in = _sharpe_from(train @ sums, train @ sqs, train @ counts)
        test = 1.0 - train
        sr_out = _sharpe_from(test @ sums, test @ sqs, test @ counts)
        best = np.argmax(sr_in, axis=1)  # first of equals: deterministic
        x = sr_out[np.arange(len(train)), best][:, None]
        rank = np.sum(sr_out < x, axis=1) + (np.sum(sr_out == x, axis=1) + 1.0) / 2.0
        w = rank / (n + 1.0)
        logits[lo : lo + len(train)] = np.log(w / (1.0 - w))
    arr = logits
    return PBOResult(float(np.mean(arr <= 0.0)), arr, len(arr), n_blocks)


def moments(returns: np.ndarray) -> dict[str, float]:
    """Per-period Sharpe (ddof=1), skewness and non-excess kurtosis (population moments) and the count."""
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    n = r.size
    if n < 3:
        return {"sr": math.nan, "skew": math.nan, "kurtosis": math.nan, "n_obs": float(n)}
    mean = r.mean()
    sd = r.std(ddof=1)
    c = r - mean
    m2 = np.mean(c**2)
    skew = float(np.mean(c**3) / m2**1.5) if m2 > 0 else 0.0
    kurt = float(np.mean(c**4) / m2**2) if m2 > 0 else 3.0
    return {"sr": float(mean / sd) if sd > 0 else math.nan, "skew": skew, "kurtosis": kurt, "n_obs": float(n)}
