"""What a strategy sees and returns.

A strategy is any module (or object) with ``target_weights(ctx) -> DataFrame``: date x sleeve target weights
(non-negative, the cash column makes each row sum to exactly 1). It sees the filtered regime probabilities and
the market up to each date; the replay machinery is not its concern. Every computation must be causal
(row t may use rows <= t only): rolling windows, ``shift``, ``ewm`` are fine; full-sample statistics are not.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from regimeshift.core.constants import CASH
from regimeshift.core.errors import ConfigError


@dataclass(frozen=True)
class StrategyContext:
    probabilities: pd.DataFrame  # date x regime (calm -> stressed), forward-filtered
    prices: pd.DataFrame  # date x symbol, same index
    sleeves: Mapping[str, Mapping[str, float]]  # sleeve -> symbol -> weight inside the sleeve
    regime_weights: Mapping[str, Mapping[str, float]]  # regime -> sleeve -> weight (cash = rest)
    params: Mapping[str, Any] = field(default_factory=dict)
    sleeve_returns: pd.DataFrame | None = None  # date x sleeve daily simple returns (cash excluded)
    strategy_path: str | None = None  # the config's strategy.path: a wrapper (vol_target) finds its base there

    @property
    def sleeve_names(self) -> list[str]:
        return [*self.sleeves, CASH]


@dataclass(frozen=True)
class Param:
    """One declared strategy parameter: its type (float, int, str or bool), default and meaning.

    A strategy module lists its parameters in ``PARAMS: dict[str, Param]``; the pipeline then rejects, in one
    line, a parameter it does not declare (a misspelling such as ``thresholdd``) or one of the wrong type
    (``threshold = "high"``) before anything is computed. A module without ``PARAMS`` gets its table unchecked.
    """

    type: type
    default: Any
    doc: str = ""


def _type_ok(kind: type, value: Any) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):  # True is an int to Python, never a number to a config
        return False
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def check_params(where: str, declared: Mapping[str, Param], params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with every declared default filled in; ConfigError (one line) on an unknown or ill-typed one."""
    for key, value in params.items():
        if key not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise ConfigError(f"strategy.params.{key}: unknown parameter of {where} (its parameters: {known})")
        kind = declared[key].type
        if not _type_ok(kind, value):
            raise ConfigError(
                f"strategy.params.{key}: {value!r} is not a {kind.__name__} ({where}: {declared[key].doc or key})"
            )
    return {**{k: p.default for k, p in declared.items()}, **params}


class Strategy(Protocol):
    def target_weights(self, ctx: StrategyContext) -> pd.DataFrame: ...


def regime_weight_matrix(ctx: StrategyContext) -> pd.DataFrame:
    """Regime x sleeve matrix with cash filled in as the remainder."""
    cols = ctx.sleeve_names
    m = pd.DataFrame(0.0, index=list(ctx.probabilities.columns), columns=cols)
    for regime, row in ctx.regime_weights.items():
        for sleeve, w in row.items():
            m.loc[regime, sleeve] = float(w)
    # cash is the remainder (an explicit cash weight in the config is informative only)
    m[CASH] = (1.0 - m.drop(columns=CASH).sum(axis=1)).clip(lower=0.0)
    return m


def check_weights(weights: pd.DataFrame, where: str = "strategy") -> pd.DataFrame:
    """Enforce the weight contract; a violation is a strategy bug, named precisely."""
    values = weights.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        bad = weights.index[~np.isfinite(values).all(axis=1)][0]
        raise ConfigError(f"{where}: non-finite target weight on {bad.date()}")
    if (values < -1e-12).any():
        r, c = np.argwhere(values < -1e-12)[0]
        raise ConfigError(f"{where}: negative weight {values[r, c]:.4g} for {weights.columns[c]} on {weights.index[r].date()}")
    sums = values.sum(axis=1)
    if np.abs(sums - 1.0).max() > 1e-9:
        r = int(np.argmax(np.abs(sums - 1.0)))
        raise ConfigError(f"{where}: weights sum to {sums[r]:.12g} on {weights.index[r].date()} (expected 1 incl. cash)")
    return weights.clip(lower=0.0)
