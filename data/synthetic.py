"""The embedded default market: a seeded Markov-switching multi-asset daily market with known regimes.

``regimeshift run`` with no arguments needs no network and no files: it calls :func:`generate_market`
and runs the whole pipeline on the result. Because the generating regime path and parameters are
returned too, tests (and curious users) can compare any fitted regime model with the truth and with
an *oracle* filter that knows the true parameters.

Everything is drawn from one ``numpy.random.default_rng(seed)`` in a fixed order, so the same
``(seed, years, start)`` gives bit-identical frames, and a different seed gives a different path.
Twenty years (5,040 business days) take a few milliseconds to generate.

Regimes (hidden Markov chain, one step per business day)
--------------------------------------------------------
Three liquidity regimes, ``("abundant", "tightening", "crunch")``. The daily transition matrix is
built from expected durations ``D`` (``P[i, i] = 1 - 1/D[i]``) and how each regime's exits split::

    regime        expected duration   exits go to
    abundant      250 bdays (~1 y)    tightening 95 %, crunch 5 % (a rare shock out of calm)
    tightening     80 bdays (~4 m)    abundant 45 %, crunch 55 %
    crunch         40 bdays (~2 m)    tightening 80 %, abundant 20 % (a V-shaped, policy-led rebound)

Stationary shares come out at about 57.8 / 32.7 / 9.5 % with ~12 crunches per 20 years, 1 per
1.7 years. The brief's wish list (durations 250 / 120 / 30 *and* shares 60 / 28 / 12 %, with crunches
mostly entered from tightening) cannot hold at once: a 12 % share of 30-day crunches needs a crunch
entry every 250 days, more than all exits out of tightening (0.28 / 120 per day) can supply. The
numbers above are the compromise closest to both: abundant duration and share as asked, crunches
a little longer and rarer, tightening a little shorter and more common. The start state is drawn from
the stationary distribution (``RegimeParams.startprob``).

Asset returns (daily log returns, columns in ``SYMBOLS`` order)
---------------------------------------------------------------
Daily mean = annual drift / 252, daily volatility = annual volatility / sqrt(252)::

                  GROWTH        VALUE         SHORTBOND     GOLD          MARKET (benchmark)
    abundant      +22 % / 16 %  +12 % / 12 %  +2 % / 1.2 %  +4 % / 14 %   +15 % / 13 %
    tightening     -4 % / 24 %   +4 % / 16 %  +3 % / 1.8 %  +6 % / 16 %    0 % / 19 %
    crunch        -60 % / 45 %  -40 % / 35 %  +4 % / 2.5 %  -25 % / 28 %  -50 % / 40 %

Correlations: the equities (GROWTH, VALUE, MARKET) are always tightly linked (GROWTH-VALUE 0.80 /
0.78 / 0.88, GROWTH-MARKET 0.92 / 0.92 / 0.95, VALUE-MARKET 0.90 / 0.90 / 0.93 in abundant /
tightening / crunch). GOLD vs equities is 0.0 / 0.1 / 0.5 (in a crunch everything is sold for
cash), SHORTBOND vs equities -0.2 / -0.2 / -0.1, SHORTBOND vs GOLD 0.1 / 0.1 / 0.0. Every
covariance is checked to be positive definite (Cholesky) at import.

Mild fat tails: returns are multivariate Student-t with 10 degrees of freedom (excess kurtosis 1
within a regime; mixing regimes adds more), scaled so that the covariance equals the regime
covariance exactly (``mu + L z sqrt((df - 2) / chi2_df)``), so the ``RegimeParams`` moments are the
true first two moments of the data. df = 10 rather than 6 keeps the regimes identifiable: a Gaussian
oracle filter with the true parameters labels ~91 % of days correctly at df = 10 (worst of 40 seeds
88.5 %), but only ~85 % at df = 6 (worst 83 %); its Viterbi path gets ~97 %.

Prices start at exactly 100 on the first day; day ``t >= 1`` applies that day's return, drawn from
that day's regime (so ``log(prices).diff().iloc[t]`` comes from ``true_regimes.iloc[t]``).

Macro series (published with a one-business-day lag)
----------------------------------------------------
``VOLINDEX`` (VIX-like): the log level is an AR(1) (discretised OU) with daily mean reversion
``kappa = 0.05`` (half-life ~14 days) toward ``log(14 / 22 / 45)`` in abundant / tightening /
crunch, plus ``-2.5 x`` that day's MARKET log return (a -4 % day lifts it ~10 %), plus N(0, 0.03²)
noise; clipped to [9, 90] (the clip binds on <0.1 % of days). Over 200 simulated years the 1-99 %
ranges are ~10-26 (abundant, median 14), ~13-45 (tightening, median 22), ~18-75 (crunch, median
40: a 40-day crunch ends before the level fully converges). Daily log changes have sd ~0.044 and
correlation ~-0.68 with MARKET returns (the real VIX: ~0.07 and ~-0.7).

``CREDITSPREAD`` (high-yield-spread-like, in %): the log level is an AR(1) with slower mean
reversion ``kappa = 0.03`` (half-life ~23 days) toward ``log(3.5 / 5 / 10)``, plus ``-1.5 x`` the
MARKET log return, plus N(0, 0.015²) noise; clipped to [2, 25] (never binds in practice). Medians
~3.5 / 4.9 / 8 %, crunch peaks ~14-18 %.

The returned ``macro`` frame is what a trader could know on each day: the raw series shifted by one
business day (``macro.iloc[t]`` is the raw value of day ``t - 1``; the first row is NaN), matching the
``align_macro(..., default_lag=1)`` convention of the CSV loader.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from regimeshift.core.constants import TRADING_DAYS

__all__ = [
    "MACRO",
    "MACRO_LAG",
    "PARAMS",
    "MacroProcess",
    "REGIMES",
    "SYMBOLS",
    "RegimeParams",
    "SyntheticMarket",
    "generate_market",
    "stationary_distribution",
]

REGIMES: tuple[str, ...] = ("abundant", "tightening", "crunch")
SYMBOLS: tuple[str, ...] = ("GROWTH", "VALUE", "SHORTBOND", "GOLD", "MARKET")  # MARKET = benchmark
MACRO: tuple[str, ...] = ("VOLINDEX", "CREDITSPREAD")

_T_DF = 10.0  # Student-t degrees of freedom for the return shocks (mild tails, see docstring)

# -- regime chain --------------------------------------------------------------------------------------------
_DURATIONS = np.array([250.0, 80.0, 40.0])
# where each regime's exits go (rows sum to 1, diagonal 0)
_EXIT_SPLIT = np.array(
    [
        [0.00, 0.95, 0.05],  # abundant -> mostly tightening, rarely straight to crunch
        [0.45, 0.00, 0.55],  # tightening -> back to abundant or on into a crunch
        [0.20, 0.80, 0.00],  # crunch -> mostly tightening, sometimes a V-shaped rebound
    ]
)

# -- returns: (annual drift, annual vol) per regime, columns in SYMBOLS order -----------------------------
_ANNUAL_DRIFT = np.array(
    [
        [0.22, 0.12, 0.02, 0.04, 0.15],
        [-0.04, 0.04, 0.03, 0.06, 0.00],
        [-0.60, -0.40, 0.04, -0.25, -0.50],
    ]
)
_ANNUAL_VOL = np.array(
    [
        [0.16, 0.12, 0.012, 0.14, 0.13],
        [0.24, 0.16, 0.018, 0.16, 0.19],
        [0.45, 0.35, 0.025, 0.28, 0.40],
    ]
)
# pairwise correlations per regime: (G-V, G-M, V-M, SB-equity, GOLD-equity, SB-GOLD)
_CORR_SPEC = [
    (0.80, 0.92, 0.90, -0.20, 0.00, 0.10),
    (0.78, 0.92, 0.90, -0.20, 0.10, 0.10),
    (0.88, 0.95, 0.93, -0.10, 0.50, 0.00),
]

MACRO_LAG = 1  # business days between the day a macro value describes and the day a trader can know it


@dataclass(frozen=True, eq=False)
class MacroProcess:
    """One macro series: ``log x[t] = log x[t-1] + kappa (log level[s_t] - log x[t-1]) - beta r_MARKET[t] + sigma e``.

    ``log x[0] = log level[s_0] + start_sd e0``; the published value is ``clip(x)``.
    """

    name: str
    level: np.ndarray  # (K,) level each regime pulls toward, in the series' units
    kappa: float  # daily mean reversion
    beta: float  # loading on that day's MARKET log return (negative sign: a sell-off lifts the series)
    sigma: float  # sd of the daily log-level noise
    start_sd: float  # sd of the first day's log level around its regime's level
    clip: tuple[float, float]


@dataclass(frozen=True, eq=False)
class RegimeParams:
    """The TRUE generating parameters (read-only arrays): everything an oracle filter needs but the path."""

    names: tuple[str, ...]
    startprob: np.ndarray  # (K,)
    transmat: np.ndarray  # (K, K) daily transition matrix
    means: np.ndarray  # (K, n_assets) daily log-return means, columns in SYMBOLS order
    covs: np.ndarray  # (K, n_assets, n_assets) daily log-return covariances
    t_df: float = _T_DF  # return shocks are multivariate Student-t with this many degrees of freedom
    macro: tuple[MacroProcess, ...] = ()  # in MACRO order

    @property
    def stationary(self) -> np.ndarray:
        return stationary_distribution(self.transmat)

    @property
    def expected_durations(self) -> np.ndarray:
        """Expected run length of each regime, in business days: ``1 / (1 - P[i, i])``."""
        return 1.0 / (1.0 - np.diag(self.transmat))


@dataclass(frozen=True, eq=False)
class SyntheticMarket:
    prices: pd.DataFrame  # business-day index "date", columns SYMBOLS, first row exactly 100
    macro: pd.DataFrame  # same index, columns MACRO, lagged one business day (first row NaN)
    true_regimes: pd.Series  # same index, categorical regime name per day
    params: RegimeParams


def stationary_distribution(transmat: np.ndarray) -> np.ndarray:
    """Stationary distribution ``pi`` of a row-stochastic matrix (``pi @ P = pi``, ``sum(pi) = 1``)."""
    p = np.asarray(transmat, dtype=float)
    k = p.shape[0]
    a = np.vstack([p.T - np.eye(k), np.ones(k)])
    b = np.zeros(k + 1)
    b[-1] = 1.0
    pi, *_ = np.linalg.lstsq(a, b, rcond=None)
    return pi


def _readonly(a: ArrayLike) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


def _corr(gv: float, gm: float, vm: float, sb_eq: float, gold_eq: float, sb_gold: float) -> np.ndarray:
    g, v, s, au, m = range(5)
    c = np.eye(5)
    pairs = {
        (g, v): gv,
        (g, m): gm,
        (v, m): vm,
        (s, g): sb_eq,
        (s, v): sb_eq,
        (s, m): sb_eq,
        (au, g): gold_eq,
        (au, v): gold_eq,
        (au, m): gold_eq,
        (s, au): sb_gold,
    }
    for (i, j), r in pairs.items():
        c[i, j] = c[j, i] = r
    return c


def _build_params() -> RegimeParams:
    k = len(REGIMES)
    exit_p = 1.0 / _DURATIONS
    transmat = _EXIT_SPLIT * exit_p[:, None] + np.diag(1.0 - exit_p)
    assert np.allclose(transmat.sum(axis=1), 1.0)
    means = _ANNUAL_DRIFT / TRADING_DAYS
    sd = _ANNUAL_VOL / np.sqrt(TRADING_DAYS)
    covs = np.empty((k, len(SYMBOLS), len(SYMBOLS)))
    for i, spec in enumerate(_CORR_SPEC):
        covs[i] = _corr(*spec) * np.outer(sd[i], sd[i])
        # positive definite, or the generator (and any oracle filter) is meaningless
        np.linalg.cholesky(covs[i])
        assert np.linalg.eigvalsh(covs[i]).min() > 0.0, f"covariance of {REGIMES[i]!r} not positive definite"
    macro = (
        MacroProcess("VOLINDEX", _readonly([14.0, 22.0, 45.0]), kappa=0.05, beta=2.5, sigma=0.03, start_sd=0.15,
                     clip=(9.0, 90.0)),
        MacroProcess("CREDITSPREAD", _readonly([3.5, 5.0, 10.0]), kappa=0.03, beta=1.5, sigma=0.015,
                     start_sd=0.10, clip=(2.0, 25.0)),
    )
    assert tuple(m.name for m in macro) == MACRO
    return RegimeParams(
        names=REGIMES,
        startprob=_readonly(stationary_distribution(transmat)),
        transmat=_readonly(transmat),
        means=_readonly(means),
        covs=_readonly(covs),
        t_df=_T_DF,
        macro=macro,
    )


PARAMS: RegimeParams = _build_params()


def _simulate_states(rng: np.random.Generator, n: int, params: RegimeParams) -> np.ndarray:
    """A Markov chain path of ``n`` state codes: ``s[0] ~ startprob``, ``s[t] ~ transmat[s[t-1]]``."""
    u = rng.random(n)
    cum_start = np.cumsum(params.startprob)
    cum = np.cumsum(params.transmat, axis=1)
    cum[:, -1] = 1.0
    cum_start[-1] = 1.0
    rows = [tuple(r.tolist()) for r in cum]
    ul = u.tolist()
    states = np.empty(n, dtype=np.intp)
    s = int(np.searchsorted(cum_start, u[0], side="right"))
    states[0] = s
    for t in range(1, n):  # plain Python over floats: ~1 ms per 5,000 days
        s = bisect_right(rows[s], ul[t])
        states[t] = s
    return states


def _log_ar1(
    target_log: np.ndarray, kappa: float, shock: np.ndarray, x0: float
) -> np.ndarray:
    """``x[t] = x[t-1] + kappa * (target[t] - x[t-1]) + shock[t]`` for t >= 1, ``x[0] = x0``."""
    drive = kappa * target_log[1:] + shock[1:]
    phi = 1.0 - kappa
    # the first-order recursion scipy.signal.lfilter([1], [1, -phi], drive, zi=[phi * x0]) computes, the same
    # operations in the same order (so the same bits), as a loop over floats (~1 ms a series): importing
    # scipy.signal cost 0.8 s of every run on the synthetic market
    out = [float(x0)]
    prev = float(x0)
    for d in drive.tolist():
        prev = d + phi * prev
        out.append(prev)
    return np.asarray(out)


def _simulate(
    seed: int = 7, years: float = 20.0, start: str = "2006-01-02"
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, RegimeParams]:
    """Generate ``(prices, raw_macro, true_regimes, params)``; ``raw_macro`` is NOT yet lagged."""
    n = int(round(years * TRADING_DAYS))
    if n < 2:
        raise ValueError(f"years={years!r} gives {n} business days; need at least 2")
    params = PARAMS
    rng = np.random.default_rng(seed)
    n_assets = len(SYMBOLS)

    # fixed draw order: states, gaussian shocks, chi-square mixing, macro noise, macro start noise
    states = _simulate_states(rng, n, params)
    z = rng.standard_normal((n, n_assets))
    w = rng.chisquare(_T_DF, size=n)
    eps = rng.standard_normal((n, 2))
    eps0 = rng.standard_normal(2)

    chol = np.linalg.cholesky(params.covs)  # (K, A, A)
    scale = np.sqrt((_T_DF - 2.0) / w)
    shocks = np.einsum("tij,tj->ti", chol[states], z) * scale[:, None]
    rets = params.means[states] + shocks
    rets[0] = 0.0  # day 0 is the base date: prices start at exactly 100
    log_prices = np.log(100.0) + np.cumsum(rets, axis=0)
    prices_arr = np.exp(log_prices)
    prices_arr[0] = 100.0

    mkt = rets[:, SYMBOLS.index("MARKET")]
    cols = []
    for j, proc in enumerate(params.macro):
        target = np.log(proc.level)[states]
        log_x = _log_ar1(
            target, proc.kappa, -proc.beta * mkt + proc.sigma * eps[:, j], target[0] + proc.start_sd * eps0[j]
        )
        cols.append(np.clip(np.exp(log_x), *proc.clip))
    raw_macro_arr = np.column_stack(cols)

    index = pd.bdate_range(start=start, periods=n, name="date")
    prices = pd.DataFrame(prices_arr, index=index, columns=list(SYMBOLS))
    raw_macro = pd.DataFrame(raw_macro_arr, index=index, columns=list(MACRO))
    regimes = pd.Series(
        pd.Categorical.from_codes(states, categories=list(REGIMES)), index=index, name="regime"
    )
    return prices, raw_macro, regimes, params


def generate_market(seed: int = 7, years: float = 20.0, start: str = "2006-01-02") -> SyntheticMarket:
    """A deterministic synthetic market of ``round(years * 252)`` business days starting at ``start``.

    ``macro`` is lagged one business day (``macro.iloc[t]`` describes day ``t - 1``; first row NaN).
    """
    prices, raw_macro, regimes, params = _simulate(seed=seed, years=years, start=start)
    macro = raw_macro.shift(MACRO_LAG).ffill()
    return SyntheticMarket(prices=prices, macro=macro, true_regimes=regimes, params=params)


#: the sleeves of :func:`generate_universe`: each member follows its sleeve's base asset of the synthetic market
UNIVERSE_BASES = {"growth": "GROWTH", "value": "VALUE", "bonds": "SHORTBOND", "gold": "GOLD"}


def generate_universe(n_assets: int = 60, seed: int = 7, years: float = 20.0,
                      start: str = "2006-01-02") -> tuple[SyntheticMarket, dict[str, tuple[str, ...]]]:
    """A universe of ``n_assets`` members in four sleeves on :func:`generate_market`'s regimes, and the sleeves.

    Member ``j`` of a sleeve (named ``GROWTH01``, ``VALUE07``, ...) has the daily log return
    ``beta_j * base + idio_j``: ``base`` the sleeve's base asset of the market (``UNIVERSE_BASES``), ``beta_j``
    uniform in [0.7, 1.3], and ``idio_j`` Gaussian noise with a daily volatility of 25-60 % of the base's own
    (so members are alike but not the same, and their risk differs). The base assets, the benchmark and the
    macro series are the market's own; everything is drawn from ``default_rng(seed + 1)`` after the market, so
    the universe is as deterministic as the market.
    """
    if n_assets < len(UNIVERSE_BASES):
        raise ValueError(f"n_assets={n_assets}: a universe needs at least one member per sleeve")
    market = generate_market(seed=seed, years=years, start=start)
    base_rets = np.log(market.prices).diff().fillna(0.0)
    rng = np.random.default_rng(seed + 1)
    names = list(UNIVERSE_BASES)
    counts = [n_assets // len(names) + (i < n_assets % len(names)) for i in range(len(names))]
    columns: dict[str, np.ndarray] = {}
    sleeves: dict[str, tuple[str, ...]] = {}
    for sleeve, count in zip(names, counts):
        base = base_rets[UNIVERSE_BASES[sleeve]].to_numpy()
        sd = float(base.std())
        members = []
        for j in range(count):
            beta = rng.uniform(0.7, 1.3)
            idio = rng.normal(0.0, rng.uniform(0.25, 0.6) * sd, len(base))
            rets = beta * base + idio
            rets[0] = 0.0  # every member starts at exactly 100, like the market
            name = f"{UNIVERSE_BASES[sleeve]}{j + 1:02d}"
            columns[name] = 100.0 * np.exp(np.cumsum(rets))
            members.append(name)
        sleeves[sleeve] = tuple(members)
    prices = pd.concat([market.prices, pd.DataFrame(columns, index=market.prices.index)], axis=1)
    universe = SyntheticMarket(prices=prices, macro=market.macro, true_regimes=market.true_regimes,
                               params=market.params)
    return universe, sleeves
