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


def block_cut(features: pd.DataFrame, block: pd.DataFrame) -> str:
    """Why the usable rows (``block``, from :func:`usable_block`) end before the features do: the feature(s)
    missing on the next row and for how long, so a short history names the series with the gap instead of only
    counting rows. "" when the block runs to the last row."""
    if not len(block) or block.index[-1] == features.index[-1]:
        return ""
    after = features.loc[features.index > block.index[-1]]
    missing = after.isna()
    parts = []
    for col in missing.columns[missing.iloc[0].to_numpy()]:
        gone = missing[col].to_numpy()
        n = int(np.argmin(gone)) if not gone.all() else len(gone)
        back = f", back on {after.index[n].date()}" if n < len(gone) else ", never back"
        parts.append(f"{col} is missing from {after.index[0].date()} to {after.index[n - 1].date()} ({n} rows{back})")
    later = len(features.loc[features.index > block.index[-1]].dropna())
    more = f"; {later} usable rows after it are not used (a walk needs one unbroken block)" if later else ""
    return f"; the usable rows end there because {'; '.join(parts)} -- a gap in that feature's series{more}"


def refit_positions(index: pd.DatetimeIndex, min_train: int, schedule: str | int, cut: str = "") -> list[int]:
    """Row positions of refit dates: the first after ``min_train`` rows, then on the schedule. ``cut``
    (:func:`block_cut`) explains a block that ended early."""
    if len(index) < min_train:
        raise RegimeshiftError(
            f"regimes: {len(index)} usable feature rows ({index[0].date() if len(index) else '-'} .. "
            f"{index[-1].date() if len(index) else '-'}) but min_train_days is {min_train}{cut}"
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


def window_start(r: int, window: str | int) -> int:
    if window == "expanding":
        return 0
    return max(0, r + 1 - int(window))


def check_windows_move(block: pd.DataFrame, positions: list[int], window: str | int) -> None:
    """Raise one clear error if some feature is constant over a refit's training window.

    A feature that never moves in the window has no scale to standardise by and nothing to learn from: the HMM's
    EM then collapses states onto the zero-variance axis (every start fails), and a jump model silently weighs the
    feature in its raw units once it does move. A policy rate held for years is the real case."""
    X = block.to_numpy(dtype=float)
    for j, col in enumerate(block.columns):
        moves = np.flatnonzero(X[1:, j] != X[:-1, j]) + 1  # rows whose value differs from the row before
        for r in positions:
            lo = window_start(r, window)
            k = np.searchsorted(moves, lo, side="right")  # the first change strictly after the window's first row
            if k >= len(moves) or moves[k] > r:
                if k >= len(moves):
                    fix = "drop the feature: it never moves after that"
                elif window == "expanding":
                    fix = (f"drop the feature, or raise regimes.min_train_days so the first window reaches "
                           f"{block.index[moves[k]].date()}, where it first moves")
                else:
                    fix = f"drop the feature, or use a longer rolling regimes.window (now {window} rows)"
                raise RegimeshiftError(
                    f"regimes: feature '{col}' does not move in the training window of the refit on "
                    f"{block.index[r].date()} ({block.index[lo].date()} .. {block.index[r].date()}: {X[lo, j]:g} on "
                    f"every day), so the model can neither scale nor learn from it: {fix}"
                )


def dependent_features(window: pd.DataFrame) -> str | None:
    """Why a full covariance of these training rows is singular, if it is: the features that are an exact linear
    combination of each other ("'A' and 'B' move in lockstep (correlation 1)"); None when they are not. Called
    after every start of a fit failed, to say what to drop (two tickers or two names for one series)."""
    X = window.to_numpy(dtype=float)
    sd = X.std(axis=0)
    if len(X) < 3 or (sd == 0).any():
        return None
    corr = np.corrcoef(X.T)
    values, vectors = np.linalg.eigh(corr)
    if values[0] > 1e-12:
        return None
    members = [str(window.columns[i]) for i in np.flatnonzero(np.abs(vectors[:, 0]) > 0.1)]
    if len(members) == 2:
        i, j = (list(window.columns).index(m) for m in members)
        return f"features '{members[0]}' and '{members[1]}' move in lockstep (correlation {corr[i, j]:.6g})"
    return "features " + ", ".join(f"'{m}'" for m in members) + " are an exact linear combination of each other"


def first_fit_failed(window: pd.DataFrame, day: pd.Timestamp) -> str:
    """The error of a walk whose first fit failed on every start, with the reason when the rows show one."""
    why = dependent_features(window)
    if why is not None:
        return (f"regimes: the first fit at {day.date()} failed on every start: {why} over its training window, so "
                "a full covariance is singular: drop one of them (or use covariance_type='diag')")
    return (f"regimes: the first fit at {day.date()} failed on every start "
            "(try fewer states, covariance_type='diag' or a larger min_covar)")
