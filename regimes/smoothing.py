"""Signal smoothing: the regime probabilities averaged over the last k days, k fixed or chosen every month.

An online regime signal on daily data flickers (a daily-return HMM switches about 15 times a year); each flicker
is a round trip paid in costs. Shu, Yu & Mulvey (2024) smooth their HMM benchmark's signal over k days, k chosen
monthly by the 0/1 strategy's validation Sharpe (``regimes.monthly_choice``). Here the smoothed row at t is the
mean of the probability rows t-k+1..t (fewer at the start of the walk): forward-only, so the no-look-ahead
guarantee of the walk-forward carries over, and rows still sum to one, so every strategy reads it unchanged.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
from regimeshift.core.errors import RegimeshiftError
from regimeshift.regimes.monthly_choice import choose_monthly
from regimeshift.regimes.result import RegimeResult

CV = "cv"


def smooth(probabilities: pd.DataFrame, days: int) -> pd.DataFrame:
    """Each row replaced by the mean of the last ``days`` rows (rows with NaN skipped); ``days = 1``: unchanged."""
    if int(days) < 1:
        raise ValueError(f"smoothing over {days!r} days (expected an integer >= 1)")
    if int(days) == 1:
        return probabilities
    return probabilities.rolling(int(days), min_periods=1).mean()


def smooth_result(
    result: RegimeResult,
    days: int | str,
    grid: Sequence[int],
    returns: pd.Series | None,
    validation_days: int,
) -> RegimeResult:
    """``result`` with its probabilities smoothed over ``days`` rows, or, with ``days = "cv"``, over the k in
    ``grid`` whose 0/1 signal had the best validation Sharpe before each month (``meta["smoothing"]``: per month
    the chosen k, its validation Sharpe and the validation rows). ``returns``: the traded index's daily returns
    (needed for "cv" only)."""
    if days != CV:
        if int(days) == 1:
            return result
        return replace(result, probabilities=smooth(result.probabilities, int(days)),
                       meta={**result.meta, "smooth_days": int(days)})
    if returns is None:
        raise RegimeshiftError("regimes.smooth_days = 'cv' needs the index's returns (run it through the pipeline)")
    P = result.probabilities
    ks = sorted({int(k) for k in grid})
    candidates = {k: smooth(P, k).to_numpy(dtype=float) for k in ks}
    calm = {k: c[:, 0] for k, c in candidates.items()}
    ret = returns.reindex(P.index).fillna(0.0).to_numpy(dtype=float)
    choices = choose_monthly(calm, ret, P.index, validation_days, order=ks)
    out = np.full(P.shape, np.nan)
    for ch in choices:
        out[ch.start : ch.end] = candidates[ch.key][ch.start : ch.end]  # type: ignore[index]
    chosen = pd.DataFrame(
        {"smooth_days": [int(ch.key) for ch in choices], "cv_sharpe": [ch.sharpe for ch in choices],  # type: ignore[call-overload]
         "cv_days": [ch.days for ch in choices]},
        index=pd.DatetimeIndex([P.index[ch.start] for ch in choices], name="date"),
    )
    return replace(result, probabilities=pd.DataFrame(out, index=P.index, columns=P.columns),
                   meta={**result.meta, "smoothing": chosen})
