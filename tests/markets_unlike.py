"""Synthetic markets built UNLIKE the project's own battery (issue 24), for checking that fits do not depend on
the seed and that the emission family the data chooses is the right one.

``tests/markets.py`` builds every market the same way: equicorrelated assets, one Student-t dof for every regime,
neighbour-only transitions. These generators differ in how the regimes are made:

- ``corr-only``: one-factor markets whose regimes differ ONLY in the factor's loading (correlation): same drift,
  same volatility of every asset in every regime;
- ``rare-crunch-jump``: a crunch on ~2-3 % of days, entered from calm as well as from tightening (a jump, not a
  slide), left straight to calm; Gaussian shocks;
- ``gauss-fat-crunch``: abundant and tightening exactly Gaussian, the crunch Student-t(3): the family differs by
  regime, so neither a Gaussian nor a single-dof t is the true model;
- ``sector-tilt``: regimes differ in which assets earn and which are volatile (two defensive, two cyclical), with
  regime-specific correlations of opposite sign between the groups;
- built later, to check the local cold start on markets it was not measured on: ``short-regimes`` (the sector
  tilt's regimes lasting two to four weeks), ``slow-vol`` (only volatility, regimes of months to a year),
  ``drift-corr-fat`` (drift and correlation, Student-t(5) shocks in every regime);
- other shapes than four assets and three regimes, to see where the plain config stops being enough:
  ``eight-assets`` (3 regimes, the crunch Student-t(4): 44 parameters per state where four assets have 14),
  ``two-assets``, ``two-regimes`` (calm / stress) and ``four-regimes``.

Each returns a ``tests.markets.Market`` (prices, the true path and the oracle: the forward filter of the TRUE
parameters, each regime under its own true density), so ``baselines.recovery.named_recovery`` scores it the same
way. Everything is drawn from one seeded ``numpy.random.default_rng``.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from regimeshift.regimes.filtering import forward_filter
from scipy.stats import multivariate_normal, multivariate_t

from tests.markets import DAYS, NAMES, Market, MarketSpec

N_ASSETS = 4


@dataclass(frozen=True)
class Regime:
    """One regime's daily return distribution: mean vector, covariance and Student-t dof (inf = Gaussian)."""

    mean: np.ndarray
    cov: np.ndarray
    dof: float = float("inf")

    def logpdf(self, r: np.ndarray) -> np.ndarray:
        if np.isinf(self.dof):
            return multivariate_normal(self.mean, self.cov).logpdf(r)
        return multivariate_t(loc=self.mean, shape=self.cov * (self.dof - 2.0) / self.dof, df=self.dof).logpdf(r)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        z = rng.standard_normal((n, len(self.mean))) @ np.linalg.cholesky(self.cov).T
        if np.isfinite(self.dof):  # scaled so the covariance is ``cov``
            z *= np.sqrt((self.dof - 2.0) / rng.chisquare(self.dof, size=n))[:, None]
        return self.mean + z


def _factor_cov(vol: np.ndarray, loading: np.ndarray) -> np.ndarray:
    """Covariance of daily returns with annual vols ``vol`` and a one-factor correlation: corr_ij = l_i l_j."""
    corr = np.outer(loading, loading)
    np.fill_diagonal(corr, 1.0)
    sd = vol / np.sqrt(DAYS)
    return corr * np.outer(sd, sd)


def _daily(x: float | np.ndarray, n_assets: int = N_ASSETS) -> np.ndarray:
    return np.full(n_assets, x / DAYS) if np.isscalar(x) else np.asarray(x, float) / DAYS


@dataclass(frozen=True)
class UnlikeSpec:
    name: str
    regimes: Callable[[], tuple[Regime, ...]]
    transmat: np.ndarray
    note: str
    days: int = 5000
    seed: int = 0

    def with_size(self, days: int) -> UnlikeSpec:
        return UnlikeSpec(self.name, self.regimes, self.transmat, self.note, days, self.seed)


def _corr_only() -> tuple[Regime, ...]:
    vol = np.array([0.16, 0.14, 0.18, 0.15])
    return tuple(Regime(_daily(0.06), _factor_cov(vol, np.full(N_ASSETS, np.sqrt(c)))) for c in (0.05, 0.45, 0.9))


def _rare_crunch() -> tuple[Regime, ...]:
    vol = np.array([0.15, 0.12, 0.20, 0.10])
    return (
        Regime(_daily(0.12), _factor_cov(vol * 0.8, np.full(N_ASSETS, 0.5))),
        Regime(_daily(-0.05), _factor_cov(vol * 1.3, np.full(N_ASSETS, 0.65))),
        Regime(_daily(-1.2), _factor_cov(vol * 3.0, np.full(N_ASSETS, 0.9))),
    )


def _gauss_fat_crunch() -> tuple[Regime, ...]:
    vol = np.array([0.14, 0.12, 0.18, 0.16])
    return (
        Regime(_daily(0.10), _factor_cov(vol, np.full(N_ASSETS, 0.5))),
        Regime(_daily(0.00), _factor_cov(vol * 1.6, np.full(N_ASSETS, 0.6))),
        Regime(_daily(-0.5), _factor_cov(vol * 2.6, np.full(N_ASSETS, 0.8)), dof=3.0),
    )


def _sector_tilt() -> tuple[Regime, ...]:
    # assets 0-1 cyclical, 2-3 defensive; the factor loads with opposite signs on the groups when stressed
    return (
        Regime(_daily(np.array([0.18, 0.16, 0.04, 0.03])),
               _factor_cov(np.array([0.16, 0.18, 0.08, 0.07]), np.array([0.6, 0.6, 0.3, 0.3]))),
        Regime(_daily(np.array([0.00, -0.02, 0.06, 0.05])),
               _factor_cov(np.array([0.24, 0.26, 0.10, 0.09]), np.array([0.7, 0.7, -0.2, -0.2]))),
        Regime(_daily(np.array([-0.60, -0.70, 0.10, 0.08])),
               _factor_cov(np.array([0.40, 0.45, 0.14, 0.12]), np.array([0.85, 0.85, -0.5, -0.5]))),
    )


def _slow_vol() -> tuple[Regime, ...]:
    vol = np.array([0.15, 0.13, 0.17, 0.12])
    return tuple(Regime(_daily(0.06), _factor_cov(vol * k, np.full(N_ASSETS, 0.6))) for k in (1.0, 1.5, 2.2))


def _drift_corr_fat() -> tuple[Regime, ...]:
    vol = np.full(N_ASSETS, 0.16)
    return (
        Regime(_daily(0.25), _factor_cov(vol, np.full(N_ASSETS, 0.3)), dof=5.0),
        Regime(_daily(0.0), _factor_cov(vol * 1.2, np.full(N_ASSETS, 0.6)), dof=5.0),
        Regime(_daily(-0.6), _factor_cov(vol * 1.5, np.full(N_ASSETS, 0.85)), dof=5.0),
    )


def _scaled(vol: tuple[float, ...], rows: tuple[tuple[float, float, float, float], ...]) -> tuple[Regime, ...]:
    """The shape markets' regimes: one per ``(annual drift, volatility multiplier, pairwise correlation, dof)``
    row, every asset's volatility ``vol`` times the multiplier, one factor loading sqrt(correlation) on all."""
    v = np.asarray(vol, float)
    return tuple(Regime(_daily(d, len(v)), _factor_cov(v * k, np.full(len(v), np.sqrt(c))), dof=f)
                 for d, k, c, f in rows)


_INF = float("inf")
_EIGHT_ASSETS = (tuple(np.linspace(0.12, 0.22, 8)),
                 ((0.10, 1.0, 0.3, _INF), (0.0, 1.4, 0.5, _INF), (-0.6, 2.2, 0.8, 4.0)))
_TWO_ASSETS = ((0.15, 0.10), ((0.10, 1.0, 0.2, _INF), (0.0, 1.5, 0.5, _INF), (-0.6, 2.5, 0.8, _INF)))
_TWO_REGIMES = ((0.15, 0.12, 0.18, 0.10), ((0.10, 1.0, 0.3, _INF), (-0.3, 1.8, 0.7, _INF)))
_FOUR_REGIMES = ((0.15, 0.12, 0.18, 0.10),
                 ((0.12, 0.8, 0.2, _INF), (0.06, 1.1, 0.4, _INF), (0.0, 1.6, 0.6, _INF), (-0.8, 2.6, 0.85, _INF)))


def _chain(stay: tuple[float, ...], exits: tuple[tuple[float, ...], ...]) -> np.ndarray:
    """Transition matrix: stay probabilities on the diagonal, the rest split by ``exits`` (rows sum to 1)."""
    a = np.asarray(exits, float)
    a = a / a.sum(axis=1, keepdims=True) * (1.0 - np.asarray(stay))[:, None]
    return a + np.diag(stay)


UNLIKE: tuple[UnlikeSpec, ...] = (
    UnlikeSpec("corr-only", _corr_only, _chain((0.99, 0.985, 0.975), ((0, 1, 0), (1, 0, 1), (0, 1, 0))),
               "regimes differ only in correlation (one factor's loading): same drift and vol", seed=241),
    UnlikeSpec("rare-crunch-jump", _rare_crunch, _chain((0.992, 0.98, 0.93), ((0, 3, 1), (3, 0, 1), (1, 0, 0))),
               "crunch ~2-3 % of days, entered straight from calm, left straight to calm", seed=242),
    UnlikeSpec("gauss-fat-crunch", _gauss_fat_crunch, _chain((0.99, 0.98, 0.96), ((0, 1, 0), (1, 0, 1), (1, 2, 0))),
               "abundant/tightening Gaussian, crunch Student-t(3)", seed=243),
    UnlikeSpec("sector-tilt", _sector_tilt, _chain((0.99, 0.98, 0.96), ((0, 1, 0), (1, 0, 1), (1, 2, 0))),
               "cyclicals vs defensives: which assets earn and move together changes by regime", seed=244),
    # built after the local cold start, to check it on markets it was not measured on
    UnlikeSpec("short-regimes", _sector_tilt, _chain((0.95, 0.93, 0.90), ((0, 1, 0), (1, 0, 1), (1, 2, 0))),
               "the sector tilt's regimes lasting two to four weeks", seed=301),
    UnlikeSpec("slow-vol", _slow_vol, _chain((0.995, 0.99, 0.98), ((0, 1, 0), (1, 0, 1), (0, 1, 0))),
               "only volatility differs, regimes lasting months to a year", seed=302),
    UnlikeSpec("drift-corr-fat", _drift_corr_fat, _chain((0.985, 0.98, 0.97), ((0, 1, 0), (1, 0, 1), (1, 2, 0))),
               "drift and correlation separate the regimes, Student-t(5) shocks in all of them", seed=303),
    # other shapes (built after everything above was settled; nothing was chosen on them)
    UnlikeSpec("eight-assets", functools.partial(_scaled, *_EIGHT_ASSETS),
               _chain((0.99, 0.98, 0.96), ((0, 1, 0), (1, 0, 1), (1, 2, 0))),
               "eight assets, the crunch Student-t(4)", seed=311),
    UnlikeSpec("two-assets", functools.partial(_scaled, *_TWO_ASSETS),
               _chain((0.99, 0.98, 0.96), ((0, 1, 0), (1, 0, 1), (1, 2, 0))), "two assets", seed=312),
    UnlikeSpec("two-regimes", functools.partial(_scaled, *_TWO_REGIMES), _chain((0.99, 0.97), ((0, 1), (1, 0))),
               "calm and stress", seed=313),
    UnlikeSpec("four-regimes", functools.partial(_scaled, *_FOUR_REGIMES),
               _chain((0.99, 0.98, 0.97, 0.95), ((0, 1, 0, 0), (1, 0, 1, 0), (0, 1, 0, 1), (0, 0, 1, 0))),
               "four regimes, neighbour transitions", seed=314),
)


def by_name(name: str) -> UnlikeSpec:
    return next(s for s in UNLIKE if s.name == name)


def generate_unlike(spec: UnlikeSpec) -> Market:
    """Prices, true path and true-parameter filter of ``spec`` (a ``tests.markets.Market``)."""
    rng = np.random.default_rng(spec.seed)
    regimes = spec.regimes()
    A = spec.transmat
    k, n = len(regimes), spec.days
    w, v = np.linalg.eig(A.T)
    pi = np.real(v[:, np.argmin(np.abs(w - 1))])
    pi = pi / pi.sum()
    states = np.empty(n, dtype=int)
    states[0] = rng.choice(k, p=pi)
    u = rng.random(n)
    cum = np.cumsum(A, axis=1)
    for t in range(1, n):
        states[t] = min(int(np.searchsorted(cum[states[t - 1]], u[t], side="right")), k - 1)
    draws = np.stack([reg.draw(rng, n) for reg in regimes])  # every regime drawn every day: one rng path
    r = draws[states, np.arange(n)]
    r[0] = 0.0
    index = pd.bdate_range("2001-01-02", periods=n, name="date")
    n_assets = len(regimes[0].mean)
    symbols = tuple(f"A{i}" for i in range(n_assets))
    prices = pd.DataFrame(100.0 * np.exp(np.cumsum(r, axis=0)), index=index, columns=list(symbols))
    log_f = np.column_stack([reg.logpdf(r) for reg in regimes])
    log_f[0] = 0.0
    post = forward_filter(pi, A, log_f)
    names = list(NAMES[k])
    truth = pd.Series(np.asarray(names)[states], index=index, name="regime")
    oracle = pd.DataFrame(post[1:], index=index[1:], columns=names)
    # a MarketSpec so the battery's helpers (features, names) read it like their own markets
    ms = MarketSpec(spec.name, drift=(0.0,) * k, vol=(0.0,) * k, corr=(0.0,) * k, duration=(1.0,) * k,
                    asset_vol=(1.0,) * n_assets, years=n / DAYS, seed=spec.seed, note=spec.note)
    return Market(ms, prices, pd.DataFrame(index=index), truth, oracle,
                  {"transmat": A, "startprob": pi, "regimes": regimes})


# -- the plainest user config (issue 24): daily returns of the four assets, 3 states, monthly refits, defaults ----
PLAIN = dict(min_train=756, refit="monthly", workers=1)


def plain_walk(market: Market, seed: int, **overrides):  # type: ignore[no-untyped-def]
    """The regime stage with the config defaults (``RegimeSpec()``) on ``market``'s daily returns."""
    from regimeshift.regimes.features import build_features, stress_sign
    from regimeshift.regimes.walkforward import walk_forward

    feats = build_features(market.prices, None, market.spec.features)
    kw = {**PLAIN, **overrides}
    return walk_forward(feats, names=market.spec.names, seed=seed,
                        stress_signs=[stress_sign(c) for c in feats.columns], **kw)


def plain_score(market: Market, seed: int, **overrides):  # type: ignore[no-untyped-def]
    from tests.baselines.recovery import named_recovery

    result = plain_walk(market, seed, **overrides)
    return named_recovery(result.probabilities, market.truth, market.oracle), result
