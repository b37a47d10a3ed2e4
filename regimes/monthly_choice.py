"""Each month, the candidate signal whose 0/1 strategy did best on the days before it (Shu, Yu & Mulvey 2024).

The paper chooses its jump penalty (and smooths its HMM's signal) this way: on the first day of every month each
candidate's own online signal is scored by the Sharpe ratio of the 0/1 rule "hold the index while the calm state
is the most probable, else cash", net of 10 bp per switch and with the one-day trading delay, over the preceding
validation span; the winner's signal is used for that month. ``choose_monthly`` is that rule for any candidates
(penalties, smoothing lengths, or pairs of both): the choice on day p reads signals and returns of days < p only.
"""
from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from regimeshift.core.constants import TRADING_DAYS

#: 10 bp one-way per switch, and the position decided at the close of t earns the return of t + 2 (filled at the
#: close of t + 1: the paper's one-day trading delay, the pipeline's next_bar)
WALK_CV_COST = 0.001
WALK_CV_DELAY = 2
#: fewer validation rows than this (the first months of a walk): the middle candidate
WALK_CV_MIN_DAYS = TRADING_DAYS


def strategy_sharpe(calm_prob: np.ndarray, returns: np.ndarray, delay: int = 1, cost: float = 0.0) -> float:
    """Annualised Sharpe of the 0/1 rule 'hold the asset while the calmest state is the most probable, else
    nothing', the position decided at t earning the return of t + delay (returns: simple daily returns), less
    ``cost`` (a fraction, one-way) per unit of position change."""
    pos = (np.asarray(calm_prob) >= 0.5).astype(float)
    r = np.asarray(returns, float)
    if len(r) <= delay:
        return float("nan")
    s = pos[:-delay] * r[delay:] - cost * np.abs(np.diff(pos, prepend=pos[0]))[:-delay]
    sd = s.std(ddof=1)
    return float(np.sqrt(TRADING_DAYS) * s.mean() / sd) if sd > 0 else 0.0


@dataclass(frozen=True)
class MonthlyChoice:
    """Rows ``start``..``end`` (exclusive) use candidate ``key``, which won with validation Sharpe ``sharpe`` over
    ``days`` rows (NaN when too few rows: the default candidate)."""

    start: int
    end: int
    key: Hashable
    sharpe: float
    days: int


def month_starts(index: pd.DatetimeIndex) -> list[int]:
    """Row 0 and the first row of every later month."""
    month = index.month.to_numpy()
    return [0] + [int(p) for p in np.flatnonzero(np.r_[False, month[1:] != month[:-1]])]


def choose_monthly(
    calm: Mapping[Hashable, np.ndarray],
    returns: np.ndarray,
    index: pd.DatetimeIndex,
    validation_days: int,
    order: Sequence[Hashable] | None = None,
) -> list[MonthlyChoice]:
    """The winning candidate of every month.

    ``calm``: per candidate, the probability of the calmest state on each row of ``index`` (NaN where that
    candidate has no signal yet); ``returns``: the traded index's simple daily returns on the same rows. A
    candidate is scored over the last ``validation_days`` rows before the month on its rows with a signal, if it
    has at least ``WALK_CV_MIN_DAYS`` (or ``validation_days`` if fewer) of them. Ties go to the largest key (the
    larger penalty or the longer smoothing: fewer trades); with no scored candidate the middle of ``order``
    (default: the keys in ``calm``'s order) is used.
    """
    keys = list(order if order is not None else calm)
    ret = np.asarray(returns, dtype=float)
    need = min(WALK_CV_MIN_DAYS, int(validation_days))
    starts = month_starts(index)
    out: list[MonthlyChoice] = []
    for k, p in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(index)
        lo = max(0, p - int(validation_days))
        scores: dict[Hashable, float] = {}
        if p - lo >= need:
            for key in keys:
                c, r = calm[key][lo:p], ret[lo:p]
                ok = np.isfinite(c)
                if ok.sum() >= need:
                    s = strategy_sharpe(c[ok], r[ok], delay=WALK_CV_DELAY, cost=WALK_CV_COST)
                    if np.isfinite(s):
                        scores[key] = s
        if scores:
            best = max(scores.values())
            chosen = max(key for key, v in scores.items() if v >= best - 1e-12)  # type: ignore[type-var]
        else:
            chosen = keys[len(keys) // 2]
        out.append(MonthlyChoice(p, end, chosen, scores.get(chosen, float("nan")), p - lo))
    return out
