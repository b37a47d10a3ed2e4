"""Headline, per-regime and stress-window numbers.

Headline numbers come from ``quantstats.stats`` (rf=0, explicit periods) so they match the tearsheet.
QuantStats is imported lazily: importing it costs ~3 s (it pulls in seaborn, scipy.stats and yfinance).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

PERIODS_PER_YEAR = 252

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


@functools.cache
def _qs_stats():
    import quantstats.stats as qs_stats  # noqa: PLC0415  (slow import, done once on first use)

    return qs_stats


def _clean(returns: pd.Series) -> pd.Series:
    r = pd.Series(returns, dtype=float).dropna()
    if not isinstance(r.index, pd.DatetimeIndex):
        raise TypeError("returns must have a DatetimeIndex")
    return r.sort_index()


def performance_metrics(returns: pd.Series, periods_per_year: int = PERIODS_PER_YEAR) -> dict[str, float]:
    """cagr, sharpe, sortino, max_drawdown (negative fraction), volatility (annualised); rf = 0."""
    r = _clean(returns)
    if r.empty:
        return dict.fromkeys(("cagr", "sharpe", "sortino", "max_drawdown", "volatility"), math.nan)
    qs = _qs_stats()
    with np.errstate(all="ignore"):
        out = {
            "cagr": qs.cagr(r, rf=0.0, compounded=True, periods=periods_per_year),
            "sharpe": qs.sharpe(r, rf=0.0, periods=periods_per_year),
            "sortino": qs.sortino(r, rf=0.0, periods=periods_per_year),
            "max_drawdown": qs.max_drawdown(r),
            "volatility": qs.volatility(r, periods=periods_per_year),
        }
    return {k: float(v) for k, v in out.items()}


def max_drawdown_of(returns: pd.Series | np.ndarray) -> float:
    """Max drawdown of the compounded path of `returns`, starting from 1 before the first return (<= 0)."""
    r = np.asarray(pd.Series(returns, dtype=float).dropna(), dtype=float)
    if r.size == 0:
        return math.nan
    wealth = np.concatenate(([1.0], np.cumprod(1.0 + r)))
    peaks = np.maximum.accumulate(wealth)
    return float(np.min(wealth / peaks - 1.0))


def _annualised(r: np.ndarray, periods_per_year: int) -> tuple[float, float, float]:
    """(geometric annualised return, annualised volatility, Sharpe rf=0) of the returns in `r`."""
    n = r.size
    if n == 0:
        return math.nan, math.nan, math.nan
    growth = float(np.prod(1.0 + r))
    ann = growth ** (periods_per_year / n) - 1.0 if growth > 0 else math.nan
    if n < 2:
        return ann, math.nan, math.nan
    sd = float(np.std(r, ddof=1))
    vol = sd * math.sqrt(periods_per_year)
    sharpe = float(np.mean(r)) / sd * math.sqrt(periods_per_year) if sd > 0 else math.nan
    return ann, vol, sharpe


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
) -> pd.DataFrame:
    """Per-regime statistics, one row per regime (index name "regime").

    `regime` holds a regime label per date; dates without a label or without a strategy return are ignored.
    The benchmark is read on the same dates (missing benchmark days count as 0).  Columns: days, share
    (of labelled days), annualised geometric return, annualised volatility, Sharpe (rf=0) and max drawdown
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
    rows = {}
    for name in order:
        mask = (labels == name).to_numpy()
        n = int(mask.sum())
        row: dict[str, float] = {"days": n, "share": n / total if total else math.nan}
        for prefix, series in (("strategy", r), ("benchmark", b)):
            x = series.to_numpy()[mask]
            ann, vol, sharpe = _annualised(x, periods_per_year)
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
