"""Checks that catch wrong numbers in well-formed files: a bad tick or a missed split (a one-day move no real
asset makes) and a series that never moves (a constant or all-zero column, e.g. a stale export).

Both are errors, not warnings: a backtest run on a 1000x tick reports a strategy volatility in the thousands of
percent, and nothing downstream can tell it from a result. Every error names the file, the line, the date and
the move.

The default limit, ``data.max_daily_move = 0.4`` (a 40% close-to-close move either way, as a simple return),
was measured on the shipped ETF closes (``../shared/data``, 1993-2026): the largest one-day moves are QQQ
+16.8% (2001-01-03), SPY +14.5% (2008-10-13), SPYD -13.9% and VUG -12.6% (2020-03-16), so 2008 and 2020 pass
with room to spare, while a 2:1 split left unadjusted (-50%) or a bad tick fails. Leveraged or single-stock
data may need a higher limit.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from regimeshift.core.constants import DEFAULT_MAX_DAILY_MOVE
from regimeshift.core.errors import DataError

__all__ = ["DEFAULT_MAX_DAILY_MOVE", "check_daily_moves", "check_not_constant"]



def check_daily_moves(where: Callable[[int], str], prices: pd.Series, limit: float = DEFAULT_MAX_DAILY_MOVE) -> None:
    """DataError at the first close-to-close move larger than ``limit`` (a fraction) in ``prices`` (ascending,
    positive), naming the row (``where(i)``: file and line, or store and row), date, the move and both prices."""
    values = prices.to_numpy(dtype="float64")
    if len(values) < 2:
        return
    moves = values[1:] / values[:-1] - 1.0
    bad = np.abs(moves) > limit
    if bad.any():
        i = int(np.argmax(bad)) + 1
        raise DataError(
            f"{where(i)}: price moves {100 * moves[i - 1]:+.1f}% on {prices.index[i].date()} "
            f"({values[i - 1]:.6g} on {prices.index[i - 1].date()} -> {values[i]:.6g}), more than the "
            f"{100 * limit:g}% data.max_daily_move allows (a bad tick or an unadjusted split? raise "
            "data.max_daily_move if the move is real)"
        )


def check_not_constant(name: str, values: pd.Series, what: str = "value") -> None:
    """DataError when every value of the series is the same (all zero included)."""
    v = values.to_numpy(dtype="float64")
    v = v[np.isfinite(v)]
    if len(v) >= 2 and np.all(v == v[0]):
        kind = "all zero" if v[0] == 0 else f"constant ({v[0]:g} on every row)"
        raise DataError(
            f"{name}: the {what} is {kind} from {values.index[0].date()} to {values.index[-1].date()} "
            f"({len(v)} rows; expected a series that moves)"
        )
