"""What the walk-forward returns: filtered probabilities, the refits table, the last model, fit quality.

Its own module so the cache (which stores it) and the walk-forward (which makes it) need not import each other.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class RegimeResult:
    probabilities: pd.DataFrame  # filtered, date x regime name (calm -> stressed), from the first refit on
    refits: pd.DataFrame  # one row per refit: date, n_train, loglik, n_iter, converged, warm_started, fallback, ...
    model: Any  # the last fitted estimator
    oos_loglik: float  # sum over days of log p(x_t | x_<t) under the model in force: out-of-sample fit quality
    seconds: float
    # log p(x_t | x_<t) per day after the first refit (original feature units); its cumulative sum is the
    # out-of-sample log-likelihood path
    loglik_path: pd.Series | None = None
    cached: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def regime(self) -> pd.Series:
        """Most probable regime per day."""
        return self.probabilities.idxmax(axis=1).rename("regime")

    @property
    def n_refits(self) -> int:
        return len(self.refits)

    @property
    def n_nonconverged(self) -> int:
        return int((~self.refits["converged"].astype(bool)).sum())
