"""From sleeves to symbols and back."""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from regimeshift.core.constants import CASH


def symbol_weights(sleeve_weights: pd.DataFrame, sleeves: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """Date x symbol weights: each sleeve's weight split over its members by their in-sleeve weights."""
    out: dict[str, pd.Series] = {}
    for sleeve, members in sleeves.items():
        total = sum(members.values())
        for sym, w in members.items():
            contrib = sleeve_weights[sleeve] * (w / total)
            out[sym] = out[sym] + contrib if sym in out else contrib
    return pd.DataFrame(out, index=sleeve_weights.index)


def sleeve_returns(prices: pd.DataFrame, sleeves: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """Daily simple returns of each sleeve, its members rebalanced daily to their in-sleeve weights."""
    rets = prices.pct_change()
    out = {}
    for sleeve, members in sleeves.items():
        total = sum(members.values())
        out[sleeve] = sum(rets[s] * (w / total) for s, w in members.items())
    frame = pd.DataFrame(out, index=prices.index)
    frame.columns.name = None
    assert CASH not in frame
    return frame
