"""When a walk-forward refits and on which rows: shared by the HMM walk (walkforward.py) and the model-agnostic
one (generic_walk.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from regimeshift.core.errors import RegimeshiftError


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
    if isinstance(schedule, (int, np.integer)) and not isinstance(schedule, bool):
        if schedule < 1:
            raise RegimeshiftError(f"regimes.refit: every N days needs N >= 1, got {schedule}")
        return list(range(first, len(index), int(schedule)))
    month = index.month.to_numpy()
    new_month = np.r_[True, month[1:] != month[:-1]]
    if schedule == "monthly":
        due = new_month
    elif schedule == "quarterly":
        due = new_month & np.isin(month, (1, 4, 7, 10))
    elif schedule == "semiannual":
        due = new_month & np.isin(month, (1, 7))
    elif schedule == "yearly":
        due = new_month & (month == 1)
    else:
        raise RegimeshiftError(f"regimes.refit: unknown schedule '{schedule}' (monthly, quarterly, semiannual, yearly or N days)")
    return [first] + [int(p) for p in np.flatnonzero(due) if p > first]


def _window_start(r: int, window: str | int) -> int:
    if window == "expanding":
        return 0
    return max(0, r + 1 - int(window))
