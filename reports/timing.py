"""The value of timing: the strategy against its static twin (the same average weights, held), with intervals.

The differences (strategy minus twin) of excess Sharpe, CAGR and max drawdown come with a confidence interval
from a stationary block bootstrap (Politis & Romano) of the *paired* daily returns: each resample draws the
same days for both, so what the two share (the market) cancels and only the timing's effect varies. The mean
block length is Politis & White's automatic choice (arch's estimator, ported), the largest over the strategy's, the twin's
and their difference's returns and squared returns: returns alone barely autocorrelate (it picks ~2 days), but
their squares do, and a drawdown or a Sharpe's spread depends on that volatility clustering staying in blocks. Seeded: the same
inputs and seed give the same interval.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from regimeshift.reports.block_paths import RunTable, reduce_rows, resample_runs
from regimeshift.reports.metrics import PERIODS_PER_YEAR, RiskFree, cagr_of, max_drawdown_of, sharpe_ratio

N_BOOT = 2000
CONFIDENCE = 0.90
RUNS_FROM = 16.0  # mean block (days) from which resamples are scored by their runs of days (ResampleScorer;
# the two ways cost the same near 12 days, so a margin above it)


@dataclass(frozen=True)
class TimingValue:
    sharpe_diff: float
    sharpe_diff_ci: tuple[float, float]
    cagr_diff: float
    cagr_diff_ci: tuple[float, float]
    max_drawdown_diff: float
    max_drawdown_diff_ci: tuple[float, float]
    block_length: float
    n_boot: int
    confidence: float
    seed: int
    n_days: int

    def sentence(self, against: str = "holding the same average weights") -> str:
        """The one sentence a page shows ("regime timing changed Sharpe by +0.02 [-0.20, +0.25] ...")."""
        def num(x: float) -> str:
            return f"{x:+.2f}"

        def pts(x: float) -> str:
            return f"{100 * x:+.1f}"

        s, c, d = self.sharpe_diff_ci, self.cagr_diff_ci, self.max_drawdown_diff_ci
        return (f"Regime timing changed Sharpe by {num(self.sharpe_diff)} [{num(s[0])}, {num(s[1])}], CAGR by "
                f"{pts(self.cagr_diff)} points [{pts(c[0])}, {pts(c[1])}] and max drawdown by "
                f"{pts(self.max_drawdown_diff)} points [{pts(d[0])}, {pts(d[1])}] against {against} "
                f"({100 * self.confidence:.0f}% intervals: stationary block bootstrap of the paired daily returns, "
                f"mean block {self.block_length:.0f} days, {self.n_boot} resamples, seed {self.seed}).")

    def as_dict(self) -> dict[str, Any]:
        return {
            "sharpe_diff": self.sharpe_diff, "sharpe_diff_ci": list(self.sharpe_diff_ci),
            "cagr_diff": self.cagr_diff, "cagr_diff_ci": list(self.cagr_diff_ci),
            "max_drawdown_diff": self.max_drawdown_diff, "max_drawdown_diff_ci": list(self.max_drawdown_diff_ci),
            "confidence": self.confidence, "bootstrap": "stationary block bootstrap of paired daily returns",
            "block_length": self.block_length, "n_boot": self.n_boot, "seed": self.seed, "n_days": self.n_days,
            "sentence": self.sentence(),
        }


def _stats(r: np.ndarray, rf: np.ndarray) -> tuple[float, float, float]:
    return sharpe_ratio(r - rf), cagr_of(r, PERIODS_PER_YEAR), max_drawdown_of(r)


class ResampleScorer:
    """:func:`_stats` of each of ``series`` (k x days) on stationary-bootstrap resamples, the same definitions
    as reports.metrics, vectorised over resamples (a Python loop over 2000 of them cost ~3 s a run).

    Long blocks (mean >= ``RUNS_FROM`` days) are scored by their runs of original days
    (``reports.block_paths``): a resample's mean and variance of excess returns need only each run's sums, its
    drawdown each run's path aggregate, so the work follows the number of blocks, not of days (2000 resamples
    of 5,351 days, the shipped config's length; at its mean block of 126 days 0.40-0.54 s day by day, 0.14-0.16 s
    by runs). Short blocks are scored day by day: the runs' bookkeeping costs more than the days below about 12
    days (measured by runs / by days: 0.29 / 0.40 s at 20 days, 0.41 / 0.40 at 12, 0.78 / 0.40 at 5, 2.3 / 0.54
    at 1.5)."""

    def __init__(self, series: np.ndarray, rf: np.ndarray, block_length: float) -> None:
        self.series = np.asarray(series, dtype=float)
        self.rf = np.asarray(rf, dtype=float)
        self.by_runs = block_length >= RUNS_FROM
        self.chunk = 250 if self.by_runs else 50  # resamples a call: day by day, ~50 x days x 8 bytes stays in cache
        k, n = self.series.shape
        if self.by_runs:
            excess = self.series - self.rf
            self.sums = np.zeros((k, 2, n + 1))  # prefix sums (0 first) of the excess returns and their squares
            np.cumsum(excess, axis=1, out=self.sums[:, 0, 1:])
            np.cumsum(excess * excess, axis=1, out=self.sums[:, 1, 1:])
            with np.errstate(divide="ignore", invalid="ignore"):  # a day of -100 %: growth -inf, drawdown -100 %
                self.tables = [RunTable(np.log1p(x)) for x in self.series]
        else:
            self.work = np.empty((2, self.chunk, n))

    def __call__(self, draws: np.ndarray, fresh: np.ndarray) -> np.ndarray:
        """Resamples x series x (excess Sharpe, CAGR, max drawdown) of the resamples :func:`stationary_draws` drew."""
        if not self.by_runs:
            idx = _indices(draws, fresh)
            rf, work = self.rf[idx], self.work[:, : len(idx)]
            return np.stack([_stats_rows(x[idx], rf, work) for x in self.series], axis=1)
        rows, n = draws.shape
        r, slot, lo, hi = resample_runs(draws, fresh, n)
        width = int(slot.max()) + 1
        out = np.empty((rows, len(self.series), 3))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for j, table in enumerate(self.tables):
                s1 = np.bincount(r, weights=self.sums[j, 0, hi] - self.sums[j, 0, lo], minlength=rows)
                s2 = np.bincount(r, weights=self.sums[j, 1, hi] - self.sums[j, 1, lo], minlength=rows)
                mean = s1 / n
                var = (s2 - s1 * mean) / (n - 1)
                # a constant excess series has no variance, up to the sums' rounding: no Sharpe, as in metrics
                flat = var <= 1e-12 * np.abs(s2 / n)
                out[:, j, 0] = np.where(flat, np.nan, mean / np.sqrt(np.maximum(var, 0.0)) * math.sqrt(PERIODS_PER_YEAR))
                runs = np.zeros((4, rows, width))
                runs[:, r, slot] = table.runs(lo, hi)
                whole = reduce_rows(runs)
                out[:, j, 1] = np.where(np.isfinite(whole[0]), np.expm1(whole[0] * (PERIODS_PER_YEAR / n)), np.nan)
                out[:, j, 2] = np.expm1(whole[3])
        return out


def _stats_rows(r: np.ndarray, rf: np.ndarray, work: np.ndarray | None = None) -> np.ndarray:
    """:func:`_stats` of every row of ``r`` (resamples x days -> resamples x 3), day by day. ``work``: two scratch
    arrays of ``r``'s shape (2 x rows x days), reused across calls: the same operations written into memory
    already touched, instead of four fresh arrays of megabytes a call (their page faults were a third of it)."""
    n = r.shape[1]
    if work is None:
        work = np.empty((2, *r.shape))
    wealth, tmp = work[0], work[1]
    x = np.subtract(r, rf, out=tmp)
    sd = x.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(sd > 0, x.mean(axis=1) / sd * math.sqrt(PERIODS_PER_YEAR), np.nan)
        np.add(r, 1.0, out=tmp)
        np.cumprod(tmp, axis=1, out=wealth)
        growth = wealth[:, -1]
        cagr = np.where(growth > 0, growth ** (PERIODS_PER_YEAR / n) - 1.0, np.nan)
    peaks = np.maximum.accumulate(wealth, axis=1, out=tmp)
    np.maximum(peaks, 1.0, out=peaks)  # the path starts at 1 before day one
    drawdown = np.divide(wealth, peaks, out=peaks)
    drawdown -= 1.0
    mdd = np.minimum(drawdown.min(axis=1), 0.0)
    return np.column_stack([sharpe, cagr, mdd])


def _stationary_block_length(x: np.ndarray) -> float:
    """Politis-White's (2004, with Patton-Politis-White's 2009 correction) optimal mean block length of the
    stationary bootstrap for one series: ``arch.bootstrap.optimal_block_length(x)["stationary"]`` (arch 8.0's
    ``_single_optimal_block``, NCSA licence) step for step, so the same bits, without importing arch (~0.6-2.5 s
    of numba and statsmodels imports for twenty lines of numpy)."""
    nobs = x.shape[0]
    eps = x - x.mean(0)
    b_max = np.ceil(min(3 * np.sqrt(nobs), nobs / 3))
    kn = max(5, int(np.log10(nobs)))
    m_max = int(np.ceil(np.sqrt(nobs))) + kn
    # the first run of kn autocorrelations that are all insignificant sets the bandwidth m
    cv = 2 * np.sqrt(np.log10(nobs) / nobs)
    acv = np.zeros(m_max + 1)
    abs_acorr = np.zeros(m_max + 1)
    opt_m: int | None = None
    for i in range(m_max + 1):
        v1 = eps[i + 1:] @ eps[i + 1:]
        v2 = eps[: -(i + 1)] @ eps[: -(i + 1)]
        cross_prod = eps[i:] @ eps[: nobs - i]
        acv[i] = cross_prod / nobs
        abs_acorr[i] = np.abs(cross_prod) / np.sqrt(v1 * v2)
        if i >= kn and opt_m is None and np.all(abs_acorr[i - kn: i] < cv):
            opt_m = i - kn
    m = 2 * max(opt_m, 1) if opt_m is not None else m_max
    m = min(m, m_max)
    g = 0.0
    lr_acv = acv[0]
    for k in range(1, m + 1):
        lam = 1 if k / m <= 1 / 2 else 2 * (1 - k / m)
        g += 2 * lam * k * acv[k]
        lr_acv += 2 * lam * acv[k]
    d_sb = 2 * lr_acv**2
    b_sb = ((2 * g**2) / d_sb) ** (1 / 3) * nobs ** (1 / 3)
    return float(min(b_sb, b_max))


def block_length_for(*series: np.ndarray) -> float:
    """Politis-White's stationary-bootstrap block length, the largest over ``series`` (at least 1 day)."""
    # a constant series (the difference of a strategy and itself) has no dependence to measure
    lengths = [_stationary_block_length(np.asarray(x, dtype=float))
               for x in series if np.ptp(np.asarray(x, dtype=float)) > 0]
    finite = [x for x in lengths if math.isfinite(x)]
    return max([1.0, *finite])


def stationary_draws(rng: np.random.Generator, n: int, block_length: float, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """What ``rows`` resamples of Politis & Romano's stationary bootstrap draw: per resample and day a start day
    and whether the day starts a new block (its uniform is <= 1 / block_length; day 0 always does). The draws
    ``arch.bootstrap.StationaryBootstrap(block_length, ..., seed=rng)`` makes in ``rows`` calls of
    ``update_indices``: the same numbers from ``rng``, in the same order (n integers then n uniforms a resample)."""
    draws = np.empty((rows, n), dtype=np.int64)
    u = np.empty((rows, n))
    for i in range(rows):
        draws[i] = rng.integers(n, size=n, dtype=np.int64)
        rng.random(out=u[i])
    fresh = u <= 1.0 / block_length
    fresh[:, 0] = True
    return draws, fresh


def stationary_indices(rng: np.random.Generator, n: int, block_length: float, rows: int) -> np.ndarray:
    """``rows`` resamples (rows x n day indices) of the stationary bootstrap: the indices arch's
    ``update_indices`` gives from the same generator."""
    return _indices(*stationary_draws(rng, n, block_length, rows))


def _indices(draws: np.ndarray, fresh: np.ndarray) -> np.ndarray:
    """arch's per-day loop (a day continues the previous day's block, wrapping at the end, unless it starts a
    new one) done for every day of every row at once."""
    n = draws.shape[1]
    day = np.arange(n, dtype=np.int64)
    start = np.maximum.accumulate(np.where(fresh, day, 0), axis=1)  # the day each day's block began
    out = np.take_along_axis(draws, start, axis=1)
    out += day
    out -= start
    out[out >= n] -= n  # wrapped past the last day (a draw and an offset are each < n: one wrap at most)
    return out


def timing_value(
    strategy: pd.Series, twin: pd.Series, risk_free: RiskFree | None = None, *, seed: int = 0,
    n_boot: int = N_BOOT, confidence: float = CONFIDENCE, block_length: float | None = None,
) -> TimingValue:
    """Strategy minus twin on excess Sharpe, CAGR and max drawdown, each with a ``confidence`` interval
    (percentiles of the bootstrap distribution of the difference). The two series are read on their common dates."""
    both = pd.concat([pd.Series(strategy, dtype=float), pd.Series(twin, dtype=float)], axis=1).dropna()
    a, b = both.iloc[:, 0].to_numpy(), both.iloc[:, 1].to_numpy()
    rf = (risk_free or RiskFree.zero()).on(pd.DatetimeIndex(both.index))
    point = np.subtract(_stats(a, rf), _stats(b, rf))
    if block_length is None:
        block_length = block_length_for(a, b, a - b, a**2, b**2, (a - b) ** 2)
    # the stationary bootstrap's block length is a mean (geometric block sizes): a fraction is meaningful
    rng = np.random.default_rng(seed)
    score = ResampleScorer(np.stack([a, b]), rf, block_length)
    draws = np.empty((n_boot, 3))
    for start in range(0, n_boot, score.chunk):
        rows = min(score.chunk, n_boot - start)
        stats = score(*stationary_draws(rng, len(a), block_length, rows))
        draws[start:start + rows] = stats[:, 0] - stats[:, 1]
    lo, hi = (1 - confidence) / 2, 1 - (1 - confidence) / 2
    q = np.nanquantile(draws, [lo, hi], axis=0)
    ci = [(float(q[0, j]), float(q[1, j])) for j in range(3)]
    return TimingValue(float(point[0]), ci[0], float(point[1]), ci[1], float(point[2]), ci[2],
                       float(block_length), int(n_boot), float(confidence), int(seed), int(len(a)))


def timing_from_metrics(metrics: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """metrics.json's ``timing`` block, or None for a run written before it existed (or without a twin)."""
    t = metrics.get("timing")
    return t if isinstance(t, Mapping) and "sharpe_diff" in t else None
