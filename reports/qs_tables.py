"""QuantStats' three tearsheet tables (key performance metrics, EOY returns, worst drawdowns) computed here, with
QuantStats' own definitions and formatting, without importing QuantStats.

Why: importing QuantStats costs ~1.2 s (scipy.stats, seaborn, yfinance) and its ``reports.metrics`` another
~1 s (a pandas ``groupby.apply`` per month and year, the drawdown table three times), while the tearsheet's
whole budget is 1.5 s. Each figure below is the expression QuantStats 0.0.8x evaluates (``quantstats/stats.py``,
``reports.metrics``, ``reports._calc_dd``), on the same pandas objects, so the numbers are QuantStats' to the
last shown digit; ``tests/test_reports.py`` compares the three tables with QuantStats' on the same inputs.
The normal quantile and density come from the standard library (``statistics.NormalDist``), the correlation
behind R^2 from scipy's ``linregress`` formula.

Where QuantStats fails on degenerate input (a constant strategy: its regression raises) or writes a bare '%' (no
series ever recovers from a first-day drawdown), these tables show '-' instead.

Rows the finished page drops (``reports.qs_fixes.DROPPED_METRICS``: QuantStats' zero-rate Sharpe, Sortino,
Omega, Treynor and the risk-free rate) are not computed.
"""
from __future__ import annotations

import math
import re
from datetime import datetime
from statistics import NormalDist

import numpy as np
import pandas as pd

PCT = 100  # QuantStats' "internal" tables show percentages
_NORMAL = NormalDist()


# ----------------------------------------------------------------------------------------------- QuantStats' stats
def _comp(r: pd.Series | pd.DataFrame):
    return r.add(1).prod(axis=0) - 1


def _aggregate(r: pd.DataFrame, period: str | None) -> pd.DataFrame:
    """``utils.aggregate_returns`` (compounded) for the periods the page uses."""
    if period is None:
        return r
    idx = r.index
    keys = {"ME": [idx.year, idx.month], "QE": [idx.year, idx.quarter], "YE": idx.year}[period]
    # groupby(...).apply(comp) without the per-group Python call: the same product in the same order
    return r.add(1).groupby(keys).prod() - 1


def _exposure(r: pd.Series) -> float:
    observed = int((~np.isnan(r)).sum())
    if observed == 0:
        return 0.0
    ex = len(r[(~np.isnan(r)) & (r != 0)]) / observed
    return math.ceil(ex * 100) / 100


def _cagr(df: pd.DataFrame, periods: int) -> pd.Series:
    total = _comp(df)
    years = df.count() / periods
    wealth = np.asarray(total + 1.0, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        res = np.where(wealth < 0, np.nan, np.abs(wealth) ** (1.0 / np.asarray(years, dtype=float)) - 1)
    return pd.Series(res, index=df.columns)


def _prices(df: pd.DataFrame) -> pd.DataFrame:
    """``utils._prepare_prices`` of returns: 1 + compounded sum, with QuantStats' phantom day at 1.0 before the
    first date (a first-day loss is a drawdown)."""
    prices = 1.0 + 1.0 * (df.fillna(0).add(1).cumprod(axis=0) - 1)
    prices = prices.replace([np.inf, -np.inf], float("nan")).ffill().bfill()
    phantom = prices.index[0] - pd.Timedelta(days=1)
    ext = prices.copy()
    ext.loc[phantom] = 1.0
    return ext.sort_index()


def drawdown_series(df: pd.DataFrame) -> pd.DataFrame:
    """``stats.to_drawdown_series``: each column's loss from its running peak (0 at a new high)."""
    ext = _prices(df)
    dd = ext / np.maximum.accumulate(ext) - 1.0
    dd = dd.drop(ext.index[0])
    return dd.replace([np.inf, -np.inf, -0], 0)


def _max_drawdown(df: pd.DataFrame) -> pd.Series:
    ext = _prices(df)
    return (ext / ext.expanding(min_periods=0).max()).min() - 1


def drawdown_details(dd: pd.Series) -> pd.DataFrame:
    """``stats.drawdown_details`` of one drawdown series, without its 99% column: start, valley, end (last day
    under water), calendar days and max drawdown in %, one row per drawdown in date order."""
    no_dd = dd == 0
    starts_mask = ~no_dd & no_dd.shift(1)
    starts = list(starts_mask[starts_mask.values].index)
    ends_mask = (no_dd & (~no_dd).shift(1)).shift(-1, fill_value=False)
    ends = list(ends_mask[ends_mask.values].index)
    columns = ["start", "valley", "end", "days", "max drawdown"]
    if not starts:
        return pd.DataFrame(index=[], columns=columns)
    if ends and starts[0] > ends[0]:
        starts.insert(0, dd.index[0])
    if not ends or starts[-1] > ends[-1]:
        ends.append(dd.index[-1])
    values = dd.to_numpy(dtype=float)
    index = dd.index
    pos_start = index.get_indexer(starts)
    pos_end = index.get_indexer(ends)
    rows = []
    for a, z, s, e in zip(pos_start.tolist(), pos_end.tolist(), starts, ends):
        seg = values[a: z + 1]  # label slicing includes both ends
        k = int(np.argmin(seg))  # the first lowest day, as idxmin
        rows.append((s, index[a + k], e, (e - s).days + 1, seg[k] * 100))
    out = pd.DataFrame(rows, columns=columns)
    out["days"] = out["days"].astype(int)
    out["max drawdown"] = out["max drawdown"].astype(float)
    for col in ("start", "end", "valley"):
        out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d")
    return out


def _win_rate(r: pd.Series) -> float:
    r = r.dropna()
    non_zero = r[r != 0]
    if len(non_zero) == 0:
        return 0.0
    return len(r[r > 0]) / len(non_zero)


def _payoff(r: pd.Series) -> float:
    loss, win = r[r < 0].mean(), r[r > 0].mean()
    if loss == 0:
        return np.nan
    return win / abs(loss)


def _profit_ratio(r: pd.Series) -> float:
    wins, loss = r[r >= 0], r[r < 0]
    if len(wins) == 0:
        return 0.0
    if len(loss) == 0:
        return np.nan
    win_ratio = abs(wins.mean() / len(wins))
    loss_ratio = abs(loss.mean() / len(loss))
    if loss_ratio == 0:
        return np.nan
    return win_ratio / loss_ratio


def _profit_factor(df: pd.DataFrame) -> pd.Series:
    """Gains over losses; no loss at all counts as 0 (QuantStats' DataFrame branch)."""
    return (df[df >= 0].sum() / abs(df[df < 0].sum())).replace([np.inf, -np.inf], 0)


def _tail_ratio(r: pd.Series) -> float:
    up, low = r.quantile(0.95), r.quantile(0.05)
    if pd.isna(up) or pd.isna(low) or low == 0:
        return np.nan
    return abs(up / low)


ALPHA = 1 - 0.95  # QuantStats' tail for VaR and cVaR, as it computes it (0.050000000000000044)


def _expected_shortfall(series: pd.Series, alpha: float = ALPHA) -> float:
    """QuantStats' parametric cVaR: the mean of a normal below its alpha quantile."""
    series = series.dropna()
    if len(series) == 0:
        return np.nan
    mu, sd = series.mean(), series.std()
    if sd == 0 or np.isnan(sd):
        return mu
    z = _NORMAL.inv_cdf(alpha)
    pdf = math.exp(-z * z / 2.0) / math.sqrt(2 * math.pi)
    return mu - sd * pdf / alpha


def _value_at_risk(r: pd.Series) -> float:
    mu, sigma = r.mean(), r.std()
    if not sigma > 0:  # scipy's norm.ppf is NaN for a zero (or NaN) scale
        return np.nan
    return _NORMAL.inv_cdf(ALPHA) * sigma + mu  # scipy's norm.ppf(q, loc, scale), in its order


def _ulcer(df: pd.DataFrame) -> pd.Series:
    dd = drawdown_series(df)
    return np.sqrt(np.divide((dd ** 2).sum(), df.shape[0] - 1))


def _consecutive(flags: pd.Series) -> int:
    counted = flags * (flags.groupby((flags != flags.shift(1)).cumsum()).cumcount() + 1)
    return counted.max()


def _r_squared(a: pd.Series, b: pd.Series) -> float:
    """scipy.stats.linregress's r, squared: covariances with bias=1, clipped to [-1, 1]."""
    ssxm, ssxym, _, ssym = np.cov(a.to_numpy(float), b.to_numpy(float), bias=1).flat
    if ssxm == 0.0 or ssym == 0.0:  # a constant series: no correlation (scipy: NaN, or an error for x)
        return np.nan
    r = ssxym / np.sqrt(ssxm * ssym)
    r = 1.0 if r > 1.0 else (-1.0 if r < -1.0 else r)
    return r ** 2


# ----------------------------------------------------------------------------------------------- the metrics table
def _dd_stats(dd_info: pd.DataFrame) -> dict[str, object]:
    """``reports._calc_dd`` for one series (a series that never left its first drawdown has no drawdown row in
    QuantStats' table: its figures are NaN, as QuantStats reads them from the other series' rows)."""
    if dd_info.empty:
        return {"Max Drawdown %": np.nan, "Max DD Date": np.nan, "Max DD Period Start": np.nan,
                "Max DD Period End": np.nan, "Longest DD Days": str(np.round(np.nan)), "Avg. Drawdown %": np.nan,
                "Avg. Drawdown Days": str(np.round(np.nan))}
    max_dd = dd_info.sort_values(by="max drawdown", ascending=True)
    return {
        "Max Drawdown %": max_dd["max drawdown"].values[0] / 100,
        "Max DD Date": max_dd["valley"].values[0],
        "Max DD Period Start": max_dd["start"].values[0],
        "Max DD Period End": max_dd["end"].values[0],
        "Longest DD Days": str(np.round(dd_info.sort_values(by="days", ascending=False)["days"].values[0])),
        "Avg. Drawdown %": dd_info["max drawdown"].mean() / 100,
        "Avg. Drawdown Days": str(np.round(dd_info["days"].mean())),
    }


def metrics_table(returns: pd.Series, benchmark: pd.Series, strategy_title: str, benchmark_title: str,
                  periods: int = 252, drawdowns: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """``reports.metrics(returns, benchmark, rf=0, mode="full", sep=True, internal=True, compounded=True,
    prepare_returns=False, match_dates=False)[2:]`` less the dropped rows: metric x (benchmark, strategy), every
    value formatted as QuantStats formats it (a string). `drawdowns`: each column's drawdown details when the
    caller has them already ({"returns": ..., "benchmark": ...})."""
    df = pd.DataFrame({"returns": returns, "benchmark": benchmark}).fillna(0)
    cols = list(df.columns)
    blank = ["", ""]
    m: dict[str, object] = {}

    def per_col(fn) -> list:  # noqa: ANN001
        return [fn(df[c]) for c in cols]

    m["Time in Market %"] = pd.Series(per_col(_exposure), index=cols) * PCT
    m["~"] = blank
    m["Cumulative Return %"] = (_comp(df) * PCT).map("{:,.2f}".format)
    m["CAGR﹪%"] = _cagr(df, periods) * PCT
    m["~~~~~~~~~~~~~~"] = blank
    m["~~~~~~~~"] = blank
    for key in ("Max Drawdown %", "Max DD Date", "Max DD Period Start", "Max DD Period End", "Longest DD Days"):
        m[key] = blank
    m["Volatility (ann.) %"] = [df["returns"].std() * np.sqrt(periods) * PCT,
                                df["benchmark"].std() * np.sqrt(periods) * PCT]
    m["R^2"] = _r_squared(df["returns"], df["benchmark"])
    diff = df["returns"] - df["benchmark"]
    std = diff.std()
    m["Information Ratio"] = diff.mean() / std if std != 0 else 0
    cagr = _cagr(df, periods)
    max_dd = _max_drawdown(df)
    m["Calmar"] = cagr / abs(max_dd)
    m["Skew"] = df.skew()
    m["Kurtosis"] = df.kurtosis()
    ulcer = _ulcer(df)
    m["Ulcer Performance Index"] = _comp(df) / ulcer.replace(0, np.nan)
    m["Risk-Adjusted Return %"] = cagr / pd.Series(per_col(_exposure), index=cols) * PCT
    std = df.std()
    m["Risk-Return Ratio"] = df.mean() / std.replace(0, np.nan)
    m["~~~~~~~~~~"] = blank
    m["Avg. Return %"] = df[df != 0].mean() * PCT
    m["Avg. Win %"] = df[df > 0].mean() * PCT
    m["Avg. Loss %"] = df[df < 0].mean() * PCT
    payoff = pd.Series(per_col(_payoff), index=cols)
    m["Win/Loss Ratio"] = payoff
    m["Profit Ratio"] = pd.Series(per_col(_profit_ratio), index=cols)
    m["~~~~~~~~~~~"] = blank
    for label, period in (("Expected Daily %%", None), ("Expected Monthly %%", "ME"), ("Expected Yearly %%", "YE")):
        agg = _aggregate(df, period)
        m[label] = (np.nanprod(1 + agg, axis=0) ** (1 / agg.count()) - 1) * PCT
    win = pd.Series(per_col(_win_rate), index=cols)
    m["Kelly Criterion %"] = ((payoff.replace(0, np.nan) * win) - (1 - win)) / payoff.replace(0, np.nan) * PCT
    m["Risk of Ruin %"] = ((1 - win) / (1 + win)) ** df.count()
    m["Daily Value-at-Risk %"] = -abs(pd.Series(per_col(_value_at_risk), index=cols) * PCT)
    m["Expected Shortfall (cVaR) %"] = -abs(pd.Series(per_col(_expected_shortfall), index=cols) * PCT)
    m["~~~~~~"] = blank
    m["Max Consecutive Wins *int"] = [_consecutive(df[c] > 0) for c in cols]
    m["Max Consecutive Losses *int"] = [_consecutive(df[c] < 0) for c in cols]
    for label, freq in (("Gain/Pain Ratio", "D"), ("Gain/Pain (1M)", "ME")):
        res = df.resample(freq).sum()
        downside = abs(res[res < 0].sum())
        m[label] = res.sum() / downside.replace(0, np.nan)
    m["~~~~~~~"] = blank
    m["Payoff Ratio"] = payoff
    pf = _profit_factor(df)
    m["Profit Factor"] = pf
    m["Common Sense Ratio"] = pf * pd.Series(per_col(_tail_ratio), index=cols)
    m["CPC Index"] = pf * win * payoff
    m["Tail Ratio"] = pd.Series(per_col(_tail_ratio), index=cols)
    m["Outlier Win Ratio"] = df.quantile(0.99) / df[df >= 0].mean().replace(0, np.nan)
    m["Outlier Loss Ratio"] = df.quantile(0.01) / df[df < 0].mean().replace(0, np.nan)
    m["~~"] = blank
    from dateutil.relativedelta import relativedelta  # noqa: PLC0415  (pandas already imports it)

    today = df.index[-1]
    since = {"MTD %": datetime(today.year, today.month, 1), "3M %": today - relativedelta(months=3),
             "6M %": today - relativedelta(months=6), "YTD %": datetime(today.year, 1, 1),
             "1Y %": today - relativedelta(years=1)}
    for label, d in since.items():
        m[label] = _comp(df[df.index >= d]) * PCT
    for label, months in (("3Y (ann.) %", 35), ("5Y (ann.) %", 59), ("10Y (ann.) %", 119)):
        m[label] = _cagr(df[df.index >= today - relativedelta(months=months)], periods) * PCT
    m["All-time (ann.) %"] = _cagr(df, periods) * PCT
    m["~~~"] = blank
    for name, period in (("Day", None), ("Month", "ME"), ("Year", "YE")):
        agg = _aggregate(df, period)
        m[f"Best {name} %"] = agg.max() * PCT
        m[f"Worst {name} %"] = agg.min() * PCT
    # QuantStats' order: Best Day, Worst Day, Best Month, ...
    m["~~~~"] = blank
    dd = drawdown_series(df)
    details = drawdowns or {c: drawdown_details(dd[c]) for c in cols}
    stats = {c: _dd_stats(details[c]) for c in cols}
    for key in stats["returns"]:
        m[key] = [stats[c][key] * (PCT if key.endswith("%") else 1) if key.endswith("%") else stats[c][key]
                  for c in cols]
    m["Recovery Factor"] = abs(df.sum() - 0.0) / abs(max_dd).replace(0, np.nan)
    m["Ulcer Index"] = ulcer
    std = df.std()
    cvar_dd = pd.Series([_expected_shortfall(dd[c]) for c in cols], index=cols)
    pitfall = -cvar_dd / std.replace(0, np.nan)
    denominator = ulcer * pitfall
    m["Serenity Index"] = (df.sum() - 0) / denominator.replace(0, np.nan)
    m["~~~~~"] = blank
    monthly = _aggregate(df, "ME")
    m["Avg. Up Month %"] = monthly[monthly > 0].mean() * PCT
    m["Avg. Down Month %"] = monthly[monthly < 0].mean() * PCT
    for label, period in (("Win Days %%", None), ("Win Month %%", "ME"), ("Win Quarter %%", "QE"),
                          ("Win Year %%", "YE")):
        agg = _aggregate(df, period)
        m[label] = pd.Series([_win_rate(agg[c]) for c in cols], index=cols) * PCT
    m["~~~~~~~~~~~~"] = blank
    pr, pb = df["returns"], df["benchmark"]
    cov = np.cov(pr, pb)
    beta = np.nan if cov[1, 1] == 0 else cov[0, 1] / cov[1, 1]
    alpha = (pr.mean() - beta * pb.mean()) * periods
    greeks = pd.Series({"beta": beta, "alpha": alpha}).fillna(0)
    m["Beta"] = [str(round(greeks["beta"], 2)), "-"]
    m["Alpha"] = [str(round(greeks["alpha"], 2)), "-"]
    m["Correlation"] = [str(round(pb.corr(pr) * PCT, 2)) + "%", "-"]
    return _format(m, cols, strategy_title, benchmark_title)


def _as_list(value: object, cols: list[str]) -> list:
    if isinstance(value, pd.Series):
        return [value[c] for c in cols]
    if isinstance(value, (list, tuple, np.ndarray)):
        return list(value)
    return [value] * len(cols)


def _format(m: dict[str, object], cols: list[str], strategy_title: str, benchmark_title: str) -> pd.DataFrame:
    """The end of ``reports.metrics``: round to 2 decimals, strings, %, ints, '-' for what is not a number.

    QuantStats does it column by column in pandas (``astype(float).round(2).astype(str)``: ~80 small Series,
    a third of the table's time); here the same steps run on each metric's two values (numpy's rounding, Python's
    shortest float repr, as pandas' string conversion writes it)."""
    names: list[str] = []
    rows: list[list[object]] = []
    for name, value in m.items():
        vals = _as_list(value, cols)
        try:
            vals = [str(x) for x in np.round(np.asarray(vals, dtype=float), 2).tolist()]
        except (ValueError, TypeError):
            pass  # not numbers (dates, '-', '1,234.56'): kept as they are
        if "*int" in name:
            vals = [v.replace(".0", "") for v in vals]
            name = name.replace("*int", "")
        if "%" in name:
            vals = [v + "%" for v in vals]
        names.append(name)
        rows.append(vals)
    at = {name: i for i, name in enumerate(names)}
    try:
        longest = [str(int(float(v))) for v in rows[at["Longest DD Days"]]]
        average = [str(int(float(v))) for v in rows[at["Avg. Drawdown Days"]]]
        rows[at["Longest DD Days"]], rows[at["Avg. Drawdown Days"]] = longest, average
    except (ValueError, TypeError):  # a NaN among them: QuantStats shows '-' for both series
        rows[at["Longest DD Days"]] = ["-", "-"]
        rows[at["Avg. Drawdown Days"]] = ["-", "-"]
    names = [name if "~" not in name else "" for name in names]
    names = [name[:-1] if "%" in name else name for name in names]
    names = [name.replace(" %", "").replace(" *int", "").strip() for name in names]
    missing = {"-nan%", "nan%", "-nan", "nan", "-inf%", "inf%", "-inf", "inf"}

    def shown(v: object) -> object:
        if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
            return "-"
        if v == "-0":
            return 0
        return "-" if isinstance(v, str) and v in missing else v

    table = pd.DataFrame([[shown(v) for v in row] for row in rows], index=names,
                         columns=[strategy_title, benchmark_title], dtype=object)
    table = table[[benchmark_title, strategy_title]]
    table.index.name = "Metric"
    return table


# ----------------------------------------------------------------------------------------------- the other tables
def eoy_table(returns: pd.Series, benchmark: pd.Series, strategy_title: str, benchmark_title: str) -> pd.DataFrame:
    """``stats.compare(returns, benchmark, "YE")`` as the page titles it: year x (benchmark, strategy, Multiplier,
    Won), returns in %."""
    b = (benchmark.add(1).groupby(benchmark.index.year).prod() - 1) * 100
    r = (returns.add(1).groupby(returns.index.year).prod() - 1) * 100
    data = pd.DataFrame({"Benchmark": b, "Returns": r})
    data["Multiplier"] = data["Returns"] / data["Benchmark"].replace(0, np.nan)
    data["Won"] = np.where(data["Returns"] >= data["Benchmark"], "+", "-")
    data.columns = [benchmark_title, strategy_title, "Multiplier", "Won"]
    data.index.name = "Year"
    return data


def worst_drawdowns_table(details: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    info = details.sort_values(by="max drawdown", ascending=True)[:n]
    info = info[["start", "end", "max drawdown", "days"]]
    info.columns = ["Started", "Recovered", "Drawdown", "Days"]
    return info


def html_table(obj: pd.DataFrame, showindex: bool | str = "default") -> str:
    """``reports._html_table``: tabulate's HTML, its alignment styles and cell padding removed."""
    from tabulate import tabulate  # noqa: PLC0415  (a few ms; only where a table is written)

    out = tabulate(obj, headers="keys", tablefmt="html", floatfmt=".2f", showindex=showindex)
    for align in ("right", "left", "center"):
        out = out.replace(f' style="text-align: {align};"', "")
    out = re.sub("<td> +", "<td>", out)
    out = re.sub(" +</td>", "</td>", out)
    out = re.sub("<th> +", "<th>", out)
    return re.sub(" +</th>", "</th>", out)
