"""Regimes the model never uses: a state with no share of the days, or one that is never the most probable, is a
sign of too many states for the data (e.g. 10 states on 3 years). Said in the run summary and the tearsheet."""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def occupancy_warnings(probabilities: pd.DataFrame, names: Sequence[str]) -> list[str]:
    """One line per unused regime of ``names`` in ``probabilities`` (date x regime, filtered)."""
    probs = probabilities.reindex(columns=list(names)).dropna(how="all")
    if probs.empty:
        return []
    top = probs.fillna(-1.0).idxmax(axis=1)
    mean = probs.fillna(0.0).mean()
    out = []
    for name in names:
        if float(mean[name]) == 0.0:
            out.append(f"regime {name!r} has a share of 0: its probability is 0 on every day "
                       "(too many regimes for the data?)")
        elif not (top == name).any():
            out.append(f"regime {name!r} is never the most probable regime (average probability "
                       f"{100 * float(mean[name]):.1f}%; too many regimes for the data?)")
    return out
