"""Input contract of the report: everything the pipeline hands over, nothing computed here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from regimeshift.core.constants import DEFAULT_SHOCK_DATE
from regimeshift.reports.metrics import RiskFree


@dataclass(frozen=True)
class ReportData:
    title: str  # user-supplied run name (HTML-escaped on output)
    returns: pd.Series  # strategy daily simple returns, DatetimeIndex
    benchmark: pd.Series  # benchmark daily simple returns, same index
    benchmark_name: str  # e.g. "SPY" (user string: escaped on output)
    # filtered regime probabilities, date x regime names ordered calm -> stressed; rows sum to 1;
    # may start later than `returns` (NaN before the first fit)
    probabilities: pd.DataFrame
    weights: pd.DataFrame  # target weights per sleeve, date x sleeve
    refit_dates: tuple[pd.Timestamp, ...]
    transmat: pd.DataFrame | None  # last fitted model's transition matrix, index/columns = regime names
    metrics: Mapping[str, Any]  # headline numbers (the dict written to metrics.json)
    config_summary: Mapping[str, str]  # ordered key -> value lines for the header
    warnings: tuple[str, ...] = ()  # banner lines, e.g. "Costs are OFF"
    stress_windows: Mapping[str, tuple[str, str]] | None = None  # extra named (start, end) windows
    shock_date: str | None = DEFAULT_SHOCK_DATE  # a day whose sleeve returns the current portfolio is replayed on
    sleeve_returns: pd.DataFrame | None = None  # daily simple returns per sleeve, date x sleeve
    # show the built-in real-market stress windows (2008, Covid, 2022...); False on a synthetic calendar
    default_stress_windows: bool = True
    # the rate the run's ratios are measured over (metrics.json's "risk_free"); None: a zero rate
    risk_free: RiskFree | None = None
    # sleeve -> rule -> members with their weights at the last decision (a universe of any size stays readable:
    # the weights figure draws sleeves, this table lists members); None: one symbol per sleeve
    members: pd.DataFrame | None = None
