"""Every performance figure the product shows, defined once.

One basis everywhere (run summary, metrics.json, tearsheet, compare page, sweeps, walk-forward track, the API):

- returns are **daily** simple returns of the replayed portfolio value;
- ratios (Sharpe, Sortino, probabilistic Sharpe) are on **daily excess returns** over a risk-free rate
  (:class:`RiskFree`: by default the cash rate the replay pays, i.e. T-bill % a year / 100 / 252 per trading
  day, the rate known at the previous close), annualised with one constant, x sqrt(252);
- CAGR is geometric over 252 trading days a year; volatility is of total daily returns, x sqrt(252).

Written with numpy rather than QuantStats' stats: the definitions are two lines each, QuantStats' Sharpe and
Sortino default to a zero rate and deannualise a rate geometrically, and its import costs ~3 s. The tearsheet
keeps QuantStats for its figures and drops its ratio rows (reports/qs_fixes.py) so no page shows two Sharpes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from regimeshift.core.constants import TRADING_DAYS

PERIODS_PER_YEAR = TRADING_DAYS
PERFORMANCE_KEYS = ("cagr", "sharpe", "sortino", "psr", "max_drawdown", "volatility", "calmar")

DEFAULT_STRESS_WINDOWS: dict[str, tuple[str, str]] = {
    "2008 crisis": ("2008-09-01", "2009-03-09"),
    "Covid crash": ("2020-02-19", "2020-03-23"),
    "2022 tightening": ("2022-01-01", "2022-12-31"),
    "2026-02-12 sell-off day": ("2026-02-12", "2026-02-12"),
    "2026-02-12 and following week": ("2026-02-12", "2026-02-19"),
}

REGIME_TABLE_COLUMNS = [
    "days",
    "share",
    "strategy_ann_return",
    "strategy_volatility",
    "strategy_sharpe",
    "strategy_max_drawdown",
    "benchmark_ann_return",
    "benchmark_volatility",
    "benchmark_sharpe",
    "benchmark_max_drawdown",
]

STRESS_TABLE_COLUMNS = [
    "start",
    "end",
    "days",
    "strategy_return",
    "strategy_max_drawdown",
    "benchmark_return",
    "benchmark_max_drawdown",
]


@dataclass(frozen=True)
class RiskFree:
    """The rate every ratio is measured over.

    ``value`` is what metrics.json records (a series name, or an annual rate as a fraction); ``daily`` is the
    rate as a fraction per trading day, a number or a series by date (missing dates take the last rate).
    """

    value: str | float = 0.0
    daily: pd.Series | float = 0.0

    @classmethod
    def zero(cls) -> RiskFree:
        return cls(0.0, 0.0)

    @classmethod
    def annual(cls, rate: float) -> RiskFree:
        """A constant annual rate (a fraction: 0.02 is 2% a year), earned as rate / 252 per trading day."""
        return cls(float(rate), float(rate) / PERIODS_PER_YEAR)

    @property
    def label(self) -> str:
        if isinstance(self.value, str):
            return self.value
        return "a zero rate" if self.value == 0 else f"{100 * self.value:g}% a year"

    def on(self, index: pd.DatetimeIndex) -> np.ndarray:
        """The daily rate on each date of ``index``."""
        if isinstance(self.daily, pd.Series):
            return self.daily.reindex(index).ffill().fillna(0.0).to_numpy(dtype=float)
        return np.full(len(index), float(self.daily))

    def describe(self) -> str:
        """The basis sentence every page prints beside its ratios."""
        if isinstance(self.value, str):
            rate = f"{self.value} (% a year / 100 / 252 per trading day, the rate known at the previous close)"
        else:
            rate = self.label if self.value == 0 else f"{self.label} (/ 252 per trading day)"
        return (f"Sharpe, Sortino and PSR: daily excess returns over {rate}, annualised x sqrt(252); "
                "CAGR and volatility: total daily returns, 252 trading days a year")


def _clean(returns: pd.Series) -> pd.Series:
    r = pd.Series(returns, dtype=float).dropna()
    if not isinstance(r.index, pd.DatetimeIndex):
        raise TypeError("returns must have a DatetimeIndex")
    return r.sort_index()


def sharpe_ratio(excess: np.ndarray, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """mean / sample standard deviation of the excess returns, x sqrt(periods_per_year)."""
    x = np.asarray(excess, dtype=float)
    if x.size < 2:
        return math.nan
    sd = float(np.std(x, ddof=1))
    return float(np.mean(x)) / sd * math.sqrt(periods_per_year) if sd > 0 else math.nan


def sortino_ratio(excess: np.ndarray, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """mean / downside deviation (root mean square of the negative excess returns over all days), annualised."""
    x = np.asarray(excess, dtype=float)
    if x.size < 2:
        return math.nan
    down = math.sqrt(float(np.sum(np.minimum(x, 0.0) ** 2)) / x.size)
    return float(np.mean(x)) / down * math.sqrt(periods_per_year) if down > 0 else math.nan


def cagr_of(returns: np.ndarray, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Geometric growth per year of the compounded returns, ``periods_per_year`` returns a year."""
    r = np.asarray(returns, dtype=float)
    if r.size == 0:
        return math.nan
    growth = float(np.prod(1.0 + r))
    return growth ** (periods_per_year / r.size) - 1.0 if growth > 0 else math.nan


def _skew_kurtosis(x: np.ndarray) -> tuple[float, float]:
    """(skewness, non-excess kurtosis) of ``x``, biased (population) moments: ``scipy.stats.skew(x)`` and
    ``kurtosis(x, fisher=False)`` operation for operation (the same mean, central powers and ratios, so the same
    bits), without importing scipy.stats (~1 s, more than the rest of a warm run's metrics)."""
    mean = np.mean(x, keepdims=True)
    d = x - mean
    d2 = d**2
    m2, m3, m4 = np.mean(d2), np.mean(d2 * d), np.mean(d2**2)
    with np.errstate(all="ignore"):
        if m2 <= (np.finfo(m2.dtype).eps * mean[0]) ** 2:  # scipy's test of a constant sample: no shape to read
            return math.nan, math.nan
        return float(m3 / m2**1.5), float(m4 / m2**2.0)


def probabilistic_sharpe_of(excess: np.ndarray) -> float:
    """P[true Sharpe > 0] given the sample's length, skewness and kurtosis (Bailey & Lopez de Prado)."""
    from regimeshift.reports.overfitting import probabilistic_sharpe  # noqa: PLC0415

    x = np.asarray(excess, dtype=float)
    if x.size < 3:
        return math.nan
    sd = float(np.std(x, ddof=1))
    if not sd > 1e-12 * max(abs(float(np.mean(x))), 1e-300):  # constant to rounding: no distribution to read
        return math.nan
    sk, ku = _skew_kurtosis(x)
    return probabilistic_sharpe(float(np.mean(x)) / sd, 0.0, int(x.size), sk, ku)


def performance_metrics(
    returns: pd.Series, risk_free: RiskFree | None = None, periods_per_year: int = PERIODS_PER_YEAR
) -> dict[str, float]:
    """cagr, sharpe, sortino, psr, max_drawdown (negative fraction), volatility (annualised), calmar.

    Ratios on daily excess returns over ``risk_free`` (default: a zero rate); see the module docstring.
    """
    r = _clean(returns)
    if r.empty:
        return dict.fromkeys(PERFORMANCE_KEYS, math.nan)
    rf = (risk_free or RiskFree.zero()).on(r.index)
    x = r.to_numpy(dtype=float)
    excess = x - rf
    mdd = max_drawdown_of(x)
    cagr = cagr_of(x, periods_per_year)
    return {
        "cagr": cagr,
        "sharpe": sharpe_ratio(excess, periods_per_year),
        "sortino": sortino_ratio(excess, periods_per_year),
        "psr": probabilistic_sharpe_of(excess),
        "max_drawdown": mdd,
        "volatility": float(np.std(x, ddof=1)) * math.sqrt(periods_per_year) if x.size > 1 else math.nan,
        "calmar": cagr / -mdd if mdd < 0 else math.nan,
    }


def max_drawdown_of(returns: pd.Series | np.ndarray) -> float:
    """Max drawdown of the compounded path of `returns`, starting from 1 before the first return (<= 0)."""
    if isinstance(returns, np.ndarray):  # the sweep's path: the same values as the Series route, ~10x sooner
        r = np.asarray(returns, dtype=float)
        r = r[~np.isnan(r)]
    else:
        r = np.asarray(pd.Series(returns, dtype=float).dropna(), dtype=float)
    if r.size == 0:
        return math.nan
    wealth = np.concatenate(([1.0], np.cumprod(1.0 + r)))
    peaks = np.maximum.accumulate(wealth)
    return float(np.min(wealth / peaks - 1.0))


def _annualised(r: np.ndarray, rf: np.ndarray, periods_per_year: int) -> tuple[float, float, float]:
    """(geometric annualised return, annualised volatility, excess Sharpe) of the returns in `r`."""
    if r.size == 0:
        return math.nan, math.nan, math.nan
    vol = float(np.std(r, ddof=1)) * math.sqrt(periods_per_year) if r.size > 1 else math.nan
    return cagr_of(r, periods_per_year), vol, sharpe_ratio(r - rf, periods_per_year)


def most_probable_regime(probabilities: pd.DataFrame) -> pd.Series:
    """Name of the most probable regime per date; dates with no probabilities (before the first fit) dropped."""
    p = probabilities.dropna(how="all")
    if p.empty:
        return pd.Series(dtype=object, name="regime")
    return p.fillna(-1.0).idxmax(axis=1).rename("regime")


def regime_table(
    returns: pd.Series,
    benchmark: pd.Series,
    regime: pd.Series,
    order: Sequence[str] | None = None,
    periods_per_year: int = PERIODS_PER_YEAR,
    risk_free: RiskFree | None = None,
) -> pd.DataFrame:
    """Per-regime statistics, one row per regime (index name "regime").

    `regime` holds a regime label per date; dates without a label or without a strategy return are ignored.
    The benchmark is read on the same dates (missing benchmark days count as 0).  Columns: days, share
    (of labelled days), annualised geometric return, annualised volatility, excess Sharpe over ``risk_free``
    (the run's basis, default a zero rate) and max drawdown
    of the returns compounded over that regime's days only, for the strategy and the benchmark.
    Rows follow `order` (regimes with no days are kept, with NaNs), else the categorical order, else sorted.
    """
    r = _clean(returns)
    labels = regime.reindex(r.index).dropna()
    r = r.loc[labels.index]
    b = pd.Series(benchmark, dtype=float).reindex(r.index).fillna(0.0)
    if order is None:
        if isinstance(regime.dtype, pd.CategoricalDtype):
            order = list(regime.cat.categories)
        else:
            order = sorted(labels.unique(), key=str)
    total = len(labels)
    rf = (risk_free or RiskFree.zero()).on(r.index)
    rows = {}
    for name in order:
        mask = (labels == name).to_numpy()
        n = int(mask.sum())
        row: dict[str, float] = {"days": n, "share": n / total if total else math.nan}
        for prefix, series in (("strategy", r), ("benchmark", b)):
            x = series.to_numpy()[mask]
            ann, vol, sharpe = _annualised(x, rf[mask], periods_per_year)
            row[f"{prefix}_ann_return"] = ann
            row[f"{prefix}_volatility"] = vol
            row[f"{prefix}_sharpe"] = sharpe
            row[f"{prefix}_max_drawdown"] = max_drawdown_of(x)
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index", columns=REGIME_TABLE_COLUMNS)
    table["days"] = table["days"].astype(int)
    table.index.name = "regime"
    return table


def stress_table(
    returns: pd.Series,
    benchmark: pd.Series,
    windows: Mapping[str, tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """Return and max drawdown of strategy and benchmark over named windows (inclusive dates).

    `windows` defaults to DEFAULT_STRESS_WINDOWS.  A window is kept only when the data covers it: its start
    and end lie inside the returns' date range and at least one return falls inside it; others are skipped.
    Total return compounds the window's daily returns; max drawdown starts from the level before the window.
    """
    if windows is None:
        windows = DEFAULT_STRESS_WINDOWS
    r = _clean(returns)
    b = pd.Series(benchmark, dtype=float).reindex(r.index).fillna(0.0)
    rows = {}
    if not r.empty:
        first, last = r.index[0].normalize(), r.index[-1].normalize()
        for name, (start, end) in windows.items():
            t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
            if t0 < first or t1 > last or t1 < t0:
                continue
            sel = (r.index.normalize() >= t0) & (r.index.normalize() <= t1)
            if not sel.any():
                continue
            rs, bs = r.to_numpy()[sel], b.to_numpy()[sel]
            rows[name] = {
                "start": t0,
                "end": t1,
                "days": int(sel.sum()),
                "strategy_return": float(np.prod(1.0 + rs) - 1.0),
                "strategy_max_drawdown": max_drawdown_of(rs),
                "benchmark_return": float(np.prod(1.0 + bs) - 1.0),
                "benchmark_max_drawdown": max_drawdown_of(bs),
            }
    table = pd.DataFrame.from_dict(rows, orient="index", columns=STRESS_TABLE_COLUMNS)
    table.index.name = "window"
    return table


def shock_loss(
    weights: pd.Series,
    sleeve_returns: pd.DataFrame | None,
    date: str | pd.Timestamp,
    cash_like: Iterable[str] = ("cash",),
) -> tuple[float, list[str]] | None:
    """One-day portfolio return if `weights` had met the sleeve returns of `date`.

    Returns (portfolio return, sleeves assumed at 0 return) or None when `date` is not in `sleeve_returns`.
    Sleeves without a return that day (e.g. cash) count as 0; non-cash ones are listed so the report can say so.
    """
    if sleeve_returns is None or sleeve_returns.empty:
        return None
    day = pd.Timestamp(date)
    idx = sleeve_returns.index.normalize()
    if day not in idx:
        return None
    shock = sleeve_returns[idx == day].iloc[-1]
    w = pd.Series(weights, dtype=float).fillna(0.0)
    rets = shock.reindex(w.index)
    cash = set(cash_like)
    assumed = [s for s in w.index[rets.isna()] if s not in cash and w[s] != 0]
    return float((w * rets.fillna(0.0)).sum()), assumed
