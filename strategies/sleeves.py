"""From sleeves to symbols and back."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from regimeshift.core.constants import CASH
from regimeshift.core.errors import ConfigError
from regimeshift.strategies.member_weights import MemberWeights, member_weights


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


# -- sleeves that are rules ----------------------------------------------------------------------------------------
def is_rule(spec: Any) -> bool:
    """A rule sleeve (members weighed by a rule at each decision) rather than a fixed symbol -> weight mapping."""
    return hasattr(spec, "weigh") and hasattr(spec, "members")


def members_of(spec: Any) -> tuple[str, ...]:
    return tuple(spec.members) if is_rule(spec) else tuple(spec)


def has_rules(sleeves: Mapping[str, Any]) -> bool:
    return any(is_rule(spec) for spec in sleeves.values())


def sleeve_symbols(sleeves: Mapping[str, Any]) -> tuple[str, ...]:
    """Every member once, in the order the sleeves list them (the column order of every symbol frame)."""
    return tuple(dict.fromkeys(s for spec in sleeves.values() for s in members_of(spec)))


class MemberBook:
    """The member weights of every sleeve on any decision date, each from :func:`member_weights` on the closes up
    to that date only; a date asked for twice is computed once (the replay, its benchmarks and the report share
    one book). Fixed sleeves give their normalised mapping on every date."""

    def __init__(self, prices: pd.DataFrame, sleeves: Mapping[str, Any]) -> None:
        self.prices = prices
        self.sleeves = sleeves
        self._closes = {name: prices[list(spec.members)].to_numpy(dtype=float)
                        for name, spec in sleeves.items() if is_rule(spec)}
        self._memo: dict[tuple[str, int], MemberWeights] = {}
        self._matrices: dict[bytes, np.ndarray] = {}
        for name, spec in sleeves.items():
            if is_rule(spec) and spec.weigh != "equal" and spec.lookback >= len(prices):
                span = f"{prices.index[0].date()} .. {prices.index[-1].date()}" if len(prices) else "none"
                raise ConfigError(f"sleeves.{name}.lookback: {spec.lookback} trading days is longer than the "
                                  f"history ({len(prices)} days of prices, {span}); shorten it or load more data")

    def _at(self, name: str, row: int) -> MemberWeights:
        key = (name, row)
        if key not in self._memo:
            spec = self.sleeves[name]
            self._memo[key] = member_weights(self._closes[name][: row + 1], spec.weigh, spec.lookback, spec.top_k)
        return self._memo[key]

    def _rows(self, dates: pd.DatetimeIndex) -> np.ndarray:
        rows = self.prices.index.get_indexer(dates)
        if (rows < 0).any():
            raise ConfigError(f"sleeves: no prices on {pd.Timestamp(dates[rows < 0][0]).date()} to weigh members")
        return rows

    def weights(self, name: str, dates: pd.DatetimeIndex) -> pd.DataFrame:
        """Date x member weights of sleeve ``name`` (rows sum to one)."""
        spec = self.sleeves[name]
        members = list(members_of(spec))
        if not is_rule(spec):
            total = sum(spec.values())
            return pd.DataFrame([[spec[m] / total for m in members]] * len(dates), index=dates, columns=members)
        values = [self._at(name, int(r)).weights for r in self._rows(dates)]
        return pd.DataFrame(np.array(values).reshape(len(dates), len(members)), index=dates, columns=members)

    def filled(self, name: str, dates: pd.DatetimeIndex) -> np.ndarray:
        if not is_rule(self.sleeves[name]):
            return np.ones(len(dates), dtype=bool)
        return np.array([self._at(name, int(r)).filled for r in self._rows(dates)], dtype=bool)

    def member_matrix(self, dates: pd.DatetimeIndex) -> np.ndarray:
        """Date x sleeve x symbol (``sleeve_symbols`` order): each symbol's share of each sleeve on each date.
        Kept per set of dates, because a sweep's variants ask for the same decision dates thousands of times."""
        key = np.asarray(dates.asi8).tobytes()  # the dates themselves: equal keys are equal dates
        matrix = self._matrices.get(key)
        if matrix is None:
            symbols = sleeve_symbols(self.sleeves)
            matrix = np.zeros((len(dates), len(self.sleeves), len(symbols)))
            for i, name in enumerate(self.sleeves):
                members = self.weights(name, dates)
                matrix[:, i, [symbols.index(s) for s in members.columns]] = members.to_numpy()
            matrix.setflags(write=False)
            self._matrices[key] = matrix
        return matrix

    def symbol_rows(self, sleeve_weights: np.ndarray, dates: pd.DatetimeIndex) -> np.ndarray:
        """Date x symbol (``sleeve_symbols`` order) targets of ``sleeve_weights`` (date x sleeve, the sleeves'
        order; a cash column after them is ignored): each sleeve's weight split by its members' weights."""
        matrix = self.member_matrix(dates)
        out = np.zeros(matrix.shape[::2])
        for i in range(len(self.sleeves)):  # sleeve by sleeve, so a symbol in two sleeves sums in one order
            out += sleeve_weights[:, i : i + 1] * matrix[:, i, :]
        return out

    def targets(self, sleeve_weights: pd.DataFrame) -> pd.DataFrame:
        """:func:`symbol_weights` with each sleeve's members weighed on each row's date."""
        w = sleeve_weights[list(self.sleeves)].to_numpy(dtype=float)
        return pd.DataFrame(self.symbol_rows(w, sleeve_weights.index), index=sleeve_weights.index,
                            columns=list(sleeve_symbols(self.sleeves)))

    def sleeve_returns(self, decisions: pd.DatetimeIndex) -> pd.DataFrame:
        """Daily simple returns of each sleeve: a rule sleeve holds the member weights of the last decision
        before the day (members rebalanced daily to them, like a fixed sleeve); before the first decision,
        equal weights. Row t uses closes up to t only."""
        rets = self.prices.pct_change()
        out = {}
        for name, spec in self.sleeves.items():
            members = list(members_of(spec))
            if not is_rule(spec):
                total = sum(spec.values())
                out[name] = sum(rets[s] * (w / total) for s, w in spec.items())
                continue
            held = self.weights(name, decisions).reindex(self.prices.index).ffill().shift(1)
            held = held.fillna(1.0 / len(members))
            out[name] = (rets[members] * held).sum(axis=1, min_count=1)
        frame = pd.DataFrame(out, index=self.prices.index)
        frame.columns.name = None
        return frame

    def table(self, dates: pd.DatetimeIndex) -> pd.DataFrame:
        """member_weights.csv: one row per decision date, rule sleeve and member, with the rule that set it
        (``equal (lookback not filled)`` while the window is short)."""
        parts = []
        for name, spec in self.sleeves.items():
            if not is_rule(spec):
                continue
            w = self.weights(name, dates)
            filled = self.filled(name, dates)
            rule = np.where(filled, spec.weigh, "equal (lookback not filled)")
            for sym in w.columns:
                parts.append(pd.DataFrame({"date": dates, "sleeve": name, "symbol": sym,
                                           "weight": w[sym].to_numpy(), "rule": rule}))
        if not parts:
            return pd.DataFrame(columns=["date", "sleeve", "symbol", "weight", "rule"])
        out = pd.concat(parts, ignore_index=True)
        order = {n: i for i, n in enumerate(self.sleeves)}
        out["_s"] = out["sleeve"].map(order)
        return out.sort_values(["date", "_s"], kind="stable").drop(columns="_s").reset_index(drop=True)

    def fallback_summary(self, dates: pd.DatetimeIndex) -> dict[str, Any]:
        """Per rule sleeve: its rule and how many decisions fell back to equal weights (metrics.json)."""
        out: dict[str, Any] = {}
        for name, spec in self.sleeves.items():
            if not is_rule(spec):
                continue
            filled = self.filled(name, dates)
            first = dates[filled][0] if filled.any() else None
            out[name] = {"members": list(spec.members), "weigh": spec.weigh, "lookback": spec.lookback,
                         "top_k": spec.top_k, "decisions": int(len(dates)),
                         "equal_fallback_decisions": int((~filled).sum()),
                         "first_rule_decision": str(first.date()) if first is not None else None}
        return out
