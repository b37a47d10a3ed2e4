"""How well the walk-forward recovers the synthetic market's true regimes, against the best any online method
can do.

The *oracle* is the Bayes filter of the TRUE generating model (``backtests.synthetic.RegimeParams``) on everything a
trader has seen by day t: the assets' daily log returns up to t under their true multivariate Student-t densities,
and the macro series up to t - 1 (their publication lag) under their true regime-dependent AR(1) transitions. It
knows everything but the path, so no online method can beat it on average; its argmax is the ceiling the
walk-forward is measured against. ``returns_oracle_regimes`` is the weaker reference earlier versions used (a
Gaussian filter on the returns alone), kept to show how much the macro series and fat tails are worth.

Both are scored with ``sklearn.metrics.balanced_accuracy_score`` against the true regimes on the same out-of-sample
days (from the walk-forward's first refit on).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from regimeshift.regimes.fast_hmm import HMMParams, log_density
from regimeshift.regimes.filtering import forward_filter
from scipy.special import logsumexp
from scipy.stats import multivariate_t
from sklearn.metrics import balanced_accuracy_score, confusion_matrix


def _log_returns(prices: pd.DataFrame) -> pd.DataFrame:
    from regimeshift.data.synthetic import SYMBOLS

    return np.log(prices[list(SYMBOLS)]).diff().iloc[1:]


def _macro_log_density(raw: pd.DataFrame, market_returns: np.ndarray, params: Any) -> np.ndarray:
    """(T, K) log density of each day's macro values given the regime, the previous values and that day's MARKET
    return (the generator's AR(1)); 0 where a value is unknown or at its clip bound (a censored value is left out
    rather than mis-scored; the clips bind on < 0.1% of days)."""
    k = len(params.names)
    out = np.zeros((len(raw), k))
    for proc in params.macro:
        x = raw[proc.name].to_numpy(dtype=float)
        log_x = np.log(x)
        target = np.log(np.asarray(proc.level))
        ok = np.isfinite(log_x) & (x > proc.clip[0]) & (x < proc.clip[1])
        for j in range(k):
            dens = np.empty(len(x))
            dens[0] = -0.5 * ((log_x[0] - target[j]) / proc.start_sd) ** 2 - np.log(proc.start_sd)
            mean = log_x[:-1] + proc.kappa * (target[j] - log_x[:-1]) - proc.beta * market_returns[1:]
            dens[1:] = -0.5 * ((log_x[1:] - mean) / proc.sigma) ** 2 - np.log(proc.sigma)
            valid = ok.copy()
            valid[1:] &= ok[:-1]
            out[:, j] += np.where(valid, dens, 0.0)
    return out


def oracle_regimes(market: Any) -> pd.DataFrame:
    """The true model's online posterior p(s_t | returns up to t, macro up to t - lag), date x regime name, from the
    second day (the first is the base date)."""
    from regimeshift.data.synthetic import MACRO, MACRO_LAG, SYMBOLS

    if MACRO_LAG != 1:
        raise NotImplementedError("the oracle folds in the macro values one day late, as published (lag 1)")
    params = market.params
    prices = market.prices[list(SYMBOLS)]
    r = np.log(prices).diff().to_numpy(dtype=float, copy=True)
    r[0] = 0.0  # the generator's base day
    k = len(params.names)
    df = params.t_df
    # the generator scales its t shocks so their covariance is ``covs``: the t's shape matrix is covs (df-2)/df
    log_f = np.column_stack(
        [multivariate_t(loc=params.means[j], shape=params.covs[j] * (df - 2.0) / df, df=df).logpdf(r)
         for j in range(k)]
    )
    log_f[0] = 0.0  # day 0 carries no return
    raw = market.macro[list(MACRO)].shift(-MACRO_LAG)  # the value describing day t, known on day t + lag
    log_g = _macro_log_density(raw, r[:, SYMBOLS.index("MARKET")], params)
    # p(s_t | r_0..t, x_0..t): the filter a trader would run a day late for the macro part
    full = forward_filter(np.asarray(params.startprob), np.asarray(params.transmat), log_f + log_g)
    # on day t the macro value of day t is not out yet: predict from day t-1's full posterior, add day t's returns
    prior = np.log(np.maximum(full[:-1] @ np.asarray(params.transmat), 1e-300))
    post = prior + log_f[1:]
    post = np.exp(post - logsumexp(post, axis=1, keepdims=True))
    return pd.DataFrame(post, index=prices.index[1:], columns=list(params.names))


def returns_oracle_regimes(prices: pd.DataFrame, params: Any) -> pd.DataFrame:
    """Gaussian forward filter with the true parameters on the daily log returns alone (no macro, no fat tails)."""
    r = _log_returns(prices)
    p = HMMParams(np.asarray(params.startprob), np.asarray(params.transmat), np.asarray(params.means),
                  np.asarray(params.covs), "full")
    logf = log_density(r.to_numpy(), p.means, p.covars, "full")
    probs = forward_filter(p.startprob, p.transmat, logf)
    return pd.DataFrame(probs, index=r.index, columns=list(params.names))


@dataclass(frozen=True)
class Recovery:
    model: float  # balanced accuracy of the walk-forward's filtered argmax
    oracle: float  # balanced accuracy of the true model's online filter (returns and lagged macro)
    returns_oracle: float  # balanced accuracy of the Gaussian true-parameter filter on returns alone
    n_days: int
    start: pd.Timestamp
    end: pd.Timestamp
    confusion: pd.DataFrame  # truth (rows) x walk-forward label (columns)
    oracle_confusion: pd.DataFrame

    @property
    def gap_points(self) -> float:
        """Oracle minus model, in percentage points (negative = the model beat the oracle)."""
        return 100.0 * (self.oracle - self.model)


def recovery(probabilities: pd.DataFrame, market: Any) -> Recovery:
    """Score walk-forward probabilities (date x regime) against ``market.true_regimes`` and the oracle."""
    names = list(market.params.names)
    oracle = oracle_regimes(market)
    idx = probabilities.index.intersection(oracle.index)
    weak = returns_oracle_regimes(market.prices, market.params).loc[idx].idxmax(axis=1).astype(str).to_numpy()
    truth = market.true_regimes.loc[idx].astype(str).to_numpy()
    model = probabilities.loc[idx].idxmax(axis=1).astype(str).to_numpy()
    orac = oracle.loc[idx].idxmax(axis=1).astype(str).to_numpy()
    conf = pd.DataFrame(confusion_matrix(truth, model, labels=names), index=names, columns=names)
    oconf = pd.DataFrame(confusion_matrix(truth, orac, labels=names), index=names, columns=names)
    return Recovery(
        model=float(balanced_accuracy_score(truth, model)),
        oracle=float(balanced_accuracy_score(truth, orac)),
        returns_oracle=float(balanced_accuracy_score(truth, weak)),
        n_days=len(idx),
        start=idx[0],
        end=idx[-1],
        confusion=conf,
        oracle_confusion=oconf,
    )


def hindsight_recovery(cfg: Any, start: pd.Timestamp, end: pd.Timestamp) -> float:
    """Balanced accuracy of the config's model class fitted ONCE on every day (hindsight: it sees the future when
    fitting), then forward-filtered, scored from ``start`` to ``end`` (pass the walk-forward's ``Recovery`` span).

    Not a strategy anyone could run: it splits the gap to the oracle into what the model class and features cost
    (oracle - hindsight) and what learning online costs (hindsight - walk-forward).
    """
    from regimeshift.data.synthetic import generate_market
    from regimeshift.regimes.features import stress_sign
    from regimeshift.regimes.model import LiquidityHMM
    from regimeshift.regimes.walkforward import usable_block

    from regimeshift.pipeline import feature_stage

    r = cfg.regimes
    market = generate_market(seed=cfg.seed, years=cfg.data.synthetic_years)
    features = usable_block(feature_stage(cfg, market))  # type: ignore[arg-type]
    spec = r.spec([stress_sign(c) for c in features.columns], cfg.seed)
    spec = spec.replace(n_init=max(r.n_init, 5), feature_names=tuple(str(c) for c in features.columns))
    model = LiquidityHMM.from_spec(spec).fit(features.to_numpy())
    probs = pd.DataFrame(model.predict_filtered(features.to_numpy()), index=features.index, columns=list(r.names))
    scored = probs.loc[start:end].index
    truth = market.true_regimes.loc[scored].astype(str).to_numpy()
    return float(balanced_accuracy_score(truth, probs.loc[scored].idxmax(axis=1).astype(str).to_numpy()))


def recovery_for_config(cfg: Any, cache: bool = False) -> tuple[Recovery, Any]:
    """Run the regime stage of a synthetic config (no backtest) and score it; returns (Recovery, RegimeResult)."""
    from regimeshift.data.synthetic import generate_market

    from regimeshift.pipeline import feature_stage, regime_stage

    if cfg.data.source != "synthetic":
        raise ValueError("recovery needs the synthetic market (its true regimes are known)")
    market = generate_market(seed=cfg.seed, years=cfg.data.synthetic_years)
    features = feature_stage(cfg, market)  # type: ignore[arg-type]
    result = regime_stage(cfg, features, cache=cache)
    return recovery(result.probabilities, market), result


# -- scoring a labelling as named, under the best relabelling, and how late it comes (issue 11) ----------------
def best_relabelling(truth: np.ndarray, labels: np.ndarray, names: list[str]) -> dict[str, str]:
    """The one-to-one renaming of the model's labels that maximises balanced accuracy (Hungarian assignment on
    the recall matrix): what the model separated, whatever it called it."""
    from scipy.optimize import linear_sum_assignment

    conf = confusion_matrix(truth, labels, labels=names).astype(float)
    recall = conf / np.maximum(conf.sum(axis=1, keepdims=True), 1.0)
    rows, cols = linear_sum_assignment(-recall)  # rows: true regime, cols: model label
    return {names[c]: names[r] for r, c in zip(rows, cols)}


def detection_lags(truth: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per true regime change (day t where truth[t] != truth[t-1]): trading days from t to the model's first day
    at or after t labelled with the new regime, searched until the next true change; NaN where the model never
    got there (a missed episode)."""
    truth, labels = np.asarray(truth), np.asarray(labels)
    changes = np.flatnonzero(truth[1:] != truth[:-1]) + 1
    ends = np.r_[changes[1:], len(truth)]
    out = np.full(len(changes), np.nan)
    for i, (t, end) in enumerate(zip(changes, ends)):
        hit = np.flatnonzero(labels[t:end] == truth[t])
        if len(hit):
            out[i] = hit[0]
    return out


@dataclass(frozen=True)
class NamedRecovery:
    """A walk-forward scored on one market: as named, under the best relabelling, the oracle, and lags."""

    named: float  # balanced accuracy of the labels as the model named them
    relabelled: float  # ... under the best one-to-one renaming
    oracle: float  # balanced accuracy of the true-parameter filter on the same days
    names_right: bool  # the best renaming is the identity
    lag_median: float  # trading days from a true change to the model's first day in the new regime
    lag_p90: float
    oracle_lag_median: float
    missed: float  # share of true episodes the model never labelled before they ended
    n_days: int


def named_recovery(probabilities: pd.DataFrame, truth: pd.Series, oracle: pd.DataFrame) -> NamedRecovery:
    """Score filtered ``probabilities`` (date x regime name) against ``truth`` and the ``oracle`` probabilities
    over the days all three cover."""
    names = list(probabilities.columns)
    idx = probabilities.index.intersection(oracle.index).intersection(truth.index)
    t = truth.loc[idx].astype(str).to_numpy()
    m = probabilities.loc[idx].idxmax(axis=1).astype(str).to_numpy()
    o = oracle.loc[idx].idxmax(axis=1).astype(str).to_numpy()
    relabel = best_relabelling(t, m, names)
    m2 = np.array([relabel[x] for x in m])
    lags, olags = detection_lags(t, m), detection_lags(t, o)
    found = lags[np.isfinite(lags)]
    return NamedRecovery(
        named=float(balanced_accuracy_score(t, m)),
        relabelled=float(balanced_accuracy_score(t, m2)),
        oracle=float(balanced_accuracy_score(t, o)),
        names_right=all(k == v for k, v in relabel.items()),
        lag_median=float(np.median(found)) if len(found) else float("nan"),
        lag_p90=float(np.percentile(found, 90)) if len(found) else float("nan"),
        oracle_lag_median=float(np.nanmedian(olags)) if np.isfinite(olags).any() else float("nan"),
        missed=float(np.mean(~np.isfinite(lags))) if len(lags) else 0.0,
        n_days=len(idx),
    )
