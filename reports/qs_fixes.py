"""What is shown wrong in QuantStats' page (0.0.8x) is taken out after it is assembled, so the assembled page
stays byte-identical to ``quantstats.reports.html`` (tests/test_reports.py) and the fallback gets the same fixes.

- "EOY Returns vs Benchmark" bar chart: QuantStats draws the bars at their year positions but the year labels
  at bar indices, so 18 labels pile up in an unreadable smear at the left of the axis while the bars sit at the
  right. The EOY table beside it has the same figures, so the chart is dropped.
- "Treynor Ratio": QuantStats divides the total (not annualised) return by beta and prints it as a percentage
  (e.g. 805.15%); a misleading metric is dropped rather than shown.
- Its risk-adjusted ratios (Sharpe and its variants, Sortino and its variants, Omega) and its "Risk-Free Rate"
  row: QuantStats computes them over a constant rate (zero here), while every ratio the product reports is on
  daily excess returns over the run's risk-free rate (reports/metrics.py). One page must not show two Sharpes
  on two bases, so QuantStats' are dropped; the regime story's comparison table has the run's.
"""
from __future__ import annotations

import re

DROPPED_METRICS = ("Treynor Ratio", "Risk-Free Rate", "Sharpe", "Prob. Sharpe Ratio", "Smart Sharpe", "Sortino",
                   "Smart Sortino", "Sortino/√2", "Smart Sortino/√2", "Omega")

_RE_EOY_CHART = re.compile(r'<div id="eoy_returns">.*?</div>', re.S)
_EOY_NOTE = ('<div id="eoy_returns"><p style="font-size:12px;color:#555">The EOY returns bar chart of QuantStats '
             "is left out (it misplaces its year labels); the EOY Returns vs Benchmark table has its figures.</p></div>")


def _metric_row(name: str) -> re.Pattern[str]:
    return re.compile(r"<tr>\s*<td>\s*" + re.escape(name) + r"\s*</td>.*?</tr>\s*", re.S)


def fix_quantstats_page(page: str) -> str:
    """``page`` without the EOY bar chart and the dropped metrics (see the module docstring)."""
    page = _RE_EOY_CHART.sub(lambda _: _EOY_NOTE, page, count=1)
    for name in DROPPED_METRICS:
        page = _metric_row(name).sub("", page)
    return page
