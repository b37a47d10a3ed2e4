"""Point-in-time features for the regime model, built from a small text grammar.

A feature is written ``kind:ARG:ARG...`` (see ``feature_help()`` for every kind). ``build_features`` turns a list
of such specs into a DataFrame with one column per spec, named by the normalised spec text, on the prices' index.

Rules every kind follows:
- no look-ahead: the value at t uses data at or before t only (trailing windows, no centring, no back-fill, no
  full-sample statistic); turbulence and selloff even exclude day t from their reference window;
- NaN during warm-up, and NaN wherever a window touches a missing input (macro series may start late);
- daily returns are log returns ``r_t = log(P_t / P_{t-1})``; annualisation uses 252 days;
- a symbol is looked up in ``prices`` first, then in ``macro``;
- windows are integers >= 2; the horizon of a change (ret, chg, pctchg, logchg) is an integer >= 1.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
import pandas as pd
from regimeshift.core.constants import TRADING_DAYS
from regimeshift.core.errors import ConfigError, DataError

__all__ = [
    "FEATURES",
    "SELLOFF_Z",
    "FeatureKind",
    "FeatureSpec",
    "FeatureSpecError",
    "build_features",
    "feature_help",
    "parse_feature",
    "stress_sign",
]

#: Default threshold of ``selloff``, in robust daily sigmas. Calibrated on SPY, QQQ, GLD, DVY 2005-2026 (63-day
#: window): the 3-of-4 signal is on 1.87% of days and fires on 2026-02-12 (smallest of the three moves: 2.30 sigma).
SELLOFF_Z = 2.2
_PHI_INV_075 = 0.6744897501960817  # median |X| of a standard normal: median(|r|) / this estimates sigma


class FeatureSpecError(ConfigError):
    """A feature spec is malformed, names an unknown kind or symbol, or has a bad window."""


@dataclass(frozen=True)
class FeatureSpec:
    kind: str
    args: tuple[str, ...]
    text: str

    def __str__(self) -> str:
        return self.text


class FeatureKind(NamedTuple):
    """Everything about one kind of feature: how it is written, what it computes, which way is stress.

    ``pattern``: the argument types in order, each ``(type, optional)``: SYM one series, SYMS a comma list,
    N window >= 2, H horizon >= 1, K integer >= 1, Z positive number. ``sign``: +1 if a higher value means more
    stress, -1 if lower does, None to follow the series it reads (``stress_sign``).
    """

    syntax: str
    doc: str
    func: Callable[[FeatureSpec, "_Data"], pd.Series]
    pattern: tuple[tuple[str, bool], ...] = ()
    sign: int | None = None

    def symbols(self, spec: FeatureSpec) -> tuple[str, ...]:
        """The series (price columns or macro series) a parsed spec of this kind reads; () = every price."""
        out: list[str] = []
        # optional elements may be absent: walk the pattern the way parse_feature matched it
        pos = 0
        for typ, optional in self.pattern:
            if pos >= len(spec.args):
                break
            token = spec.args[pos]
            numeric = bool(_NUMBER.fullmatch(token))
            if optional and typ in ("N", "H", "K", "Z") and not numeric:
                continue
            if typ == "SYM":
                out.append(token)
            elif typ == "SYMS":
                out.extend(token.split(","))
            pos += 1
        return tuple(out)


# -- grammar ---------------------------------------------------------------------------------------------------
_NUMBER = re.compile(r"[-+]?\d+(\.\d*)?")  # the same test backtests.pipeline uses to tell numbers from symbols
_INT = re.compile(r"\+?\d+")

# argument types: SYM one series; N window (>= 2: a statistic needs two points); H horizon of a change (>= 1);
# K positive integer; Z positive number; SYMS comma-separated list.
_PATTERNS: dict[str, tuple[tuple[str, bool], ...]] = {
    "ret": (("SYM", False), ("H", False)),
    "vol": (("SYM", False), ("N", False)),
    "downvol": (("SYM", False), ("N", False)),
    "drawdown": (("SYM", False), ("N", True)),
    "corr": (("SYM", False), ("SYM", False), ("N", False)),
    "avgcorr": (("N", False), ("SYMS", True)),
    "turbulence": (("N", False), ("SYMS", True)),
    "absorption": (("N", False), ("K", True), ("SYMS", True)),
    "selloff": (("N", False), ("Z", True), ("SYMS", True)),
    "level": (("SYM", False),),
    "chg": (("SYM", False), ("H", False)),
    "pctchg": (("SYM", False), ("H", False)),
    "logchg": (("SYM", False), ("H", False)),
    "z": (("SYM", False), ("N", False)),
    "spread": (("SYM", False), ("SYM", False)),
    "ewm_ret": (("SYM", False), ("N", False)),
    "ewm_dd": (("SYM", False), ("N", False)),
    "ewm_sortino": (("SYM", False), ("N", False)),
    "ewm_dd_x": (("SYM", False), ("SYM", False), ("N", False)),
    "ewm_sortino_x": (("SYM", False), ("SYM", False), ("N", False)),
}


def _valid_kinds() -> str:
    return ", ".join(k.syntax for k in FEATURES.values())


def _check_token(kind_text: str, typ: str, token: str, syntax: str) -> str:
    """Validate one argument token of type ``typ`` and return it normalised; raise FeatureSpecError."""
    if typ == "N":
        if not _INT.fullmatch(token) or int(token) < 2:
            raise FeatureSpecError(f"feature {kind_text!r}: window {token!r} must be an integer >= 2 ({syntax})")
        return str(int(token))
    if typ == "H":
        if not _INT.fullmatch(token) or int(token) < 1:
            raise FeatureSpecError(f"feature {kind_text!r}: horizon {token!r} must be an integer >= 1 ({syntax})")
        return str(int(token))
    if typ == "K":
        if not _INT.fullmatch(token) or int(token) < 1:
            raise FeatureSpecError(f"feature {kind_text!r}: K {token!r} must be an integer >= 1 ({syntax})")
        return str(int(token))
    if typ == "Z":
        if not _NUMBER.fullmatch(token) or not (0 < float(token) < math.inf):
            raise FeatureSpecError(f"feature {kind_text!r}: Z {token!r} must be a positive number like 2 or 1.75 ({syntax})")
        return token.lstrip("+")
    if typ == "SYM":
        if not token or "," in token or _NUMBER.fullmatch(token) or re.search(r"\s", token):
            raise FeatureSpecError(f"feature {kind_text!r}: {token!r} is not a symbol name ({syntax})")
        return token
    # SYMS
    names = [s.strip() for s in token.split(",")]
    for name in names:
        if not name or _NUMBER.fullmatch(name) or re.search(r"\s", name):
            raise FeatureSpecError(f"feature {kind_text!r}: bad symbol {name!r} in list {token!r} ({syntax})")
    if len(set(names)) != len(names):
        raise FeatureSpecError(f"feature {kind_text!r}: symbol list {token!r} repeats a symbol")
    return ",".join(names)


def parse_feature(text: str) -> FeatureSpec:
    """Parse and validate one spec ``kind:ARG:...``; symbols are checked later, against the data."""
    if not isinstance(text, str):
        raise FeatureSpecError(f"feature spec must be a string, got {type(text).__name__}: {text!r}")
    raw = text.strip()
    if not raw:
        raise FeatureSpecError(f"empty feature spec; valid kinds: {_valid_kinds()}")
    tokens = [t.strip() for t in raw.split(":")]
    kind = tokens[0].lower()
    if kind not in FEATURES:
        raise FeatureSpecError(f"unknown feature kind {tokens[0]!r} in {raw!r}; valid kinds: {_valid_kinds()}")
    syntax = FEATURES[kind].syntax
    rest = tokens[1:]
    args: list[str] = []
    i = 0
    for typ, optional in FEATURES[kind].pattern:
        if i >= len(rest):
            if optional:
                continue
            raise FeatureSpecError(f"feature {raw!r}: too few arguments, expected {syntax}")
        token = rest[i]
        if optional:
            numeric = bool(_NUMBER.fullmatch(token))
            if typ in ("N", "H", "K", "Z") and not numeric:
                continue  # not this optional argument: try the next pattern element with the same token
            if typ == "SYMS" and numeric:
                raise FeatureSpecError(f"feature {raw!r}: unexpected number {token!r}, expected {syntax}")
        args.append(_check_token(raw, typ, token, syntax))
        i += 1
    if i < len(rest):
        raise FeatureSpecError(f"feature {raw!r}: unexpected argument {rest[i]!r}, expected {syntax}")
    return FeatureSpec(kind=kind, args=tuple(args), text=":".join([kind, *args]))


# -- data access -----------------------------------------------------------------------------------------------
class _Data:
    """Symbol lookup (prices first, then macro) with a cache of daily log returns."""

    def __init__(self, prices: pd.DataFrame, macro: pd.DataFrame):
        self.prices = prices
        self.macro = macro
        self._lr: dict[str, pd.Series] = {}

    def available(self) -> str:
        p = ", ".join(map(str, self.prices.columns)) or "none"
        m = ", ".join(map(str, self.macro.columns)) or "none"
        return f"prices: {p}; macro: {m}"

    def series(self, spec: FeatureSpec, name: str) -> pd.Series:
        if name in self.prices.columns:
            return self.prices[name]
        if name in self.macro.columns:
            return self.macro[name]
        raise FeatureSpecError(
            f"feature {spec.text!r}: unknown symbol {name!r}; available {self.available()}"
        )

    def log_returns(self, spec: FeatureSpec, name: str) -> pd.Series:
        if name not in self._lr:
            self._lr[name] = _log(self.series(spec, name)).diff()
        return self._lr[name]

    def symbols(self, spec: FeatureSpec, token: str | None, minimum: int) -> list[str]:
        names = list(map(str, self.prices.columns)) if token is None else token.split(",")
        for n in names:
            self.series(spec, n)  # raises on unknown
        if len(names) < minimum:
            raise FeatureSpecError(
                f"feature {spec.text!r}: needs at least {minimum} symbols, got {len(names)} ({', '.join(names)})"
            )
        return names

    def return_matrix(self, spec: FeatureSpec, names: list[str]) -> np.ndarray:
        return np.column_stack([self.log_returns(spec, n).to_numpy(dtype=float) for n in names])


def _log(x: pd.Series) -> pd.Series:
    v = x.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(v > 0, np.log(np.where(v > 0, v, 1.0)), np.nan)
    return pd.Series(out, index=x.index)


def _window(spec: FeatureSpec, pos: int = -1) -> int:
    return int(spec.args[pos])


def _optional(spec: FeatureSpec, typ: str) -> str | None:
    """The value of optional argument ``typ`` (K, Z or SYMS) in a spec of the N[:K|Z][:SYMS] kinds."""
    for a in spec.args[1:]:
        numeric = bool(_NUMBER.fullmatch(a))
        if (typ == "SYMS") != numeric:
            return a
    return None


# -- kinds: single series --------------------------------------------------------------------------------------
def _ret(spec: FeatureSpec, d: _Data) -> pd.Series:
    lp = _log(d.series(spec, spec.args[0]))
    return lp - lp.shift(_window(spec))


def _vol(spec: FeatureSpec, d: _Data) -> pd.Series:
    n = _window(spec)
    return d.log_returns(spec, spec.args[0]).rolling(n, min_periods=n).std() * math.sqrt(TRADING_DAYS)


def _downvol(spec: FeatureSpec, d: _Data) -> pd.Series:
    n = _window(spec)
    r = d.log_returns(spec, spec.args[0])
    down2 = np.minimum(r, 0.0) ** 2
    return np.sqrt(down2.rolling(n, min_periods=n).mean() * TRADING_DAYS)


def _drawdown(spec: FeatureSpec, d: _Data) -> pd.Series:
    x = d.series(spec, spec.args[0]).astype(float)
    if len(spec.args) == 1:
        peak = x.cummax()
    else:
        n = _window(spec)
        peak = x.rolling(n, min_periods=n).max()
    return x / peak - 1.0


def _level(spec: FeatureSpec, d: _Data) -> pd.Series:
    return d.series(spec, spec.args[0]).astype(float)


def _chg(spec: FeatureSpec, d: _Data) -> pd.Series:
    x = d.series(spec, spec.args[0]).astype(float)
    return x - x.shift(_window(spec))


def _pctchg(spec: FeatureSpec, d: _Data) -> pd.Series:
    x = d.series(spec, spec.args[0]).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return x / x.shift(_window(spec)) - 1.0


def _z(spec: FeatureSpec, d: _Data) -> pd.Series:
    x = d.series(spec, spec.args[0]).astype(float)
    n = _window(spec)
    roll = x.rolling(n, min_periods=n)
    sd = roll.std()
    return (x - roll.mean()) / sd.where(sd > 0)


def _logchg(spec: FeatureSpec, d: _Data) -> pd.Series:
    lx = _log(d.series(spec, spec.args[0]))
    return lx - lx.shift(_window(spec))


def _spread(spec: FeatureSpec, d: _Data) -> pd.Series:
    return d.series(spec, spec.args[0]).astype(float) - d.series(spec, spec.args[1]).astype(float)


# -- kinds: exponentially weighted (Shu, Yu & Mulvey 2024) -----------------------------------------------------
def _ewm(x: pd.Series, halflife: int) -> pd.Series:
    # pandas' adjusted EWM: the value at t weights rows <= t only; NaN until HL returns are in
    return x.ewm(halflife=halflife, min_periods=halflife).mean()


def _ewm_ret(spec: FeatureSpec, d: _Data) -> pd.Series:
    return _ewm(d.log_returns(spec, spec.args[0]), _window(spec))


def _ewm_dd_raw(spec: FeatureSpec, d: _Data) -> pd.Series:
    r = d.log_returns(spec, spec.args[0])
    return np.sqrt(_ewm(np.minimum(r, 0.0) ** 2, _window(spec)))


def _ewm_dd(spec: FeatureSpec, d: _Data) -> pd.Series:
    dd = _ewm_dd_raw(spec, d)
    return np.log(dd.where(dd > 0))


def _ewm_sortino(spec: FeatureSpec, d: _Data) -> pd.Series:
    dd = _ewm_dd_raw(spec, d)
    return _ewm_ret(spec, d) / dd.where(dd > 0)


def _excess_returns(spec: FeatureSpec, d: _Data) -> pd.Series:
    """Daily simple returns of SYM over the cash yield RATE (annual percent, e.g. IRX): r_t - RATE_{t-1}/100/252,
    the yield known at the previous close (carried forward over its missing days: past values only)."""
    px = d.series(spec, spec.args[0]).astype(float)
    r = px / px.shift(1) - 1.0
    rate = d.series(spec, spec.args[1]).astype(float).ffill().shift(1)
    return r - rate / 100.0 / TRADING_DAYS


def _ewm_dd_x_raw(spec: FeatureSpec, d: _Data) -> pd.Series:
    return np.sqrt(_ewm(np.minimum(_excess_returns(spec, d), 0.0) ** 2, _window(spec)))


def _ewm_dd_x(spec: FeatureSpec, d: _Data) -> pd.Series:
    dd = _ewm_dd_x_raw(spec, d)
    return np.log(dd.where(dd > 0))


def _ewm_sortino_x(spec: FeatureSpec, d: _Data) -> pd.Series:
    dd = _ewm_dd_x_raw(spec, d)
    return _ewm(_excess_returns(spec, d), _window(spec)) / dd.where(dd > 0)


# -- kinds: cross-asset ----------------------------------------------------------------------------------------
def _corr(spec: FeatureSpec, d: _Data) -> pd.Series:
    n = _window(spec)
    a = d.log_returns(spec, spec.args[0])
    b = d.log_returns(spec, spec.args[1])
    return a.rolling(n, min_periods=n).corr(b).clip(-1.0, 1.0)


def _avgcorr(spec: FeatureSpec, d: _Data) -> pd.Series:
    n = _window(spec, 0)
    names = d.symbols(spec, _optional(spec, "SYMS"), 2)
    rets = [d.log_returns(spec, s) for s in names]
    total: pd.Series | None = None
    for i in range(len(rets)):
        for j in range(i + 1, len(rets)):
            c = rets[i].rolling(n, min_periods=n).corr(rets[j]).clip(-1.0, 1.0)
            total = c if total is None else total + c
    # d.symbols guarantees at least two series, hence at least one pair
    assert total is not None
    pairs = len(rets) * (len(rets) - 1) / 2
    return total / pairs


def _rolling_moments(r: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Trailing ``n``-row means and sample covariances (ddof=1) of ``r`` (T x k), for every window end.

    Returns ``(ends, mu, cov, ok)``: the window ending at row ``ends[i]`` covers rows ``ends[i]-n+1 .. ends[i]``;
    ``ok[i]`` is False when it holds a NaN. Uses running sums of r and of r r' (O(T k^2), no per-window loop);
    a running sum at row e only involves rows <= e, so nothing leaks backwards in time.
    """
    t_len, k = r.shape
    ends = np.arange(n - 1, t_len)
    if len(ends) == 0:
        return ends, np.empty((0, k)), np.empty((0, k, k)), np.empty(0, dtype=bool)
    nan = np.isnan(r)
    clean = np.where(nan, 0.0, r)
    bad = np.concatenate([[0], np.cumsum(nan.any(axis=1))])
    s1 = np.concatenate([np.zeros((1, k)), np.cumsum(clean, axis=0)])
    s2 = np.concatenate([np.zeros((1, k, k)), np.cumsum(clean[:, :, None] * clean[:, None, :], axis=0)])
    hi, lo = ends + 1, ends + 1 - n
    mu = (s1[hi] - s1[lo]) / n
    cov = ((s2[hi] - s2[lo]) - n * mu[:, :, None] * mu[:, None, :]) / (n - 1)
    ok = (bad[hi] - bad[lo]) == 0
    return ends, mu, cov, ok


def _turbulence(spec: FeatureSpec, d: _Data) -> pd.Series:
    n = _window(spec, 0)
    names = d.symbols(spec, _optional(spec, "SYMS"), 1)
    r = d.return_matrix(spec, names)
    out = np.full(len(r), np.nan)
    ends, mu, cov, ok = _rolling_moments(r, n)
    ends, mu, cov, ok = ends[:-1], mu[:-1], cov[:-1], ok[:-1]  # window ending at t-1 scores day t
    if len(ends):
        rows = ends + 1
        inv = np.linalg.pinv(np.where(ok[:, None, None], cov, 0.0), rtol=1e-10, hermitian=True)
        dev = r[rows] - mu
        dist = np.einsum("ck,ckl,cl->c", dev, inv, dev)
        out[rows] = np.where(ok, dist, np.nan)  # NaN in r_t propagates through dev
    return pd.Series(out, index=d.prices.index)


def _absorption(spec: FeatureSpec, d: _Data) -> pd.Series:
    n = _window(spec, 0)
    names = d.symbols(spec, _optional(spec, "SYMS"), 2)
    k_tok = _optional(spec, "K")
    k = int(k_tok) if k_tok is not None else max(1, int(math.floor(len(names) / 5 + 0.5)))
    if k > len(names):
        raise FeatureSpecError(f"feature {spec.text!r}: K={k} exceeds the number of assets ({len(names)})")
    r = d.return_matrix(spec, names)
    out = np.full(len(r), np.nan)
    ends, _, cov, ok = _rolling_moments(r, n)
    if len(ends):
        eig = np.clip(np.linalg.eigvalsh(np.where(ok[:, None, None], cov, 0.0)), 0.0, None)  # ascending
        total = eig.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ar = eig[:, -k:].sum(axis=1) / total
        out[ends] = np.where(ok & (total > 0), ar, np.nan)
    return pd.Series(out, index=d.prices.index)


def _selloff(spec: FeatureSpec, d: _Data) -> pd.Series:
    n = _window(spec, 0)
    z_tok = _optional(spec, "Z")
    z = float(z_tok) if z_tok is not None else SELLOFF_Z
    names = d.symbols(spec, _optional(spec, "SYMS"), 1)
    r = pd.DataFrame({i: d.log_returns(spec, s) for i, s in enumerate(names)})
    sigma = (r.abs().rolling(n, min_periods=n).median() / _PHI_INV_075).shift(1)  # excludes day t
    hit = (r < -z * sigma).astype(float).where(r.notna() & sigma.notna())
    return hit.mean(axis=1, skipna=False)


# -- registry --------------------------------------------------------------------------------------------------
FEATURES: Mapping[str, FeatureKind] = MappingProxyType(
    {
        "ret": FeatureKind(
            "ret:SYM:N",
            "N-day log return log(P_t / P_{t-N}), N >= 1 (ret:SYM:1 is the daily return; longer N = momentum).",
            _ret,
        ),
        "vol": FeatureKind(
            "vol:SYM:N",
            "annualised realised volatility: sample std (ddof=1) of the last N daily log returns x sqrt(252).",
            _vol,
        ),
        "downvol": FeatureKind(
            "downvol:SYM:N",
            "annualised downside semi-deviation sqrt(mean over N days of min(r,0)^2) x sqrt(252) "
            "(Sortino & van der Meer 1991).",
            _downvol,
        ),
        "drawdown": FeatureKind(
            "drawdown:SYM[:N]",
            "P_t / max(P over the last N days, t included) - 1 (<= 0); without N, from the running peak up to t.",
            _drawdown,
        ),
        "corr": FeatureKind(
            "corr:A:B:N",
            "Pearson correlation of A's and B's daily log returns over N days "
            "(equity vs gold rising = 'even gold is sold').",
            _corr,
        ),
        "avgcorr": FeatureKind(
            "avgcorr:N[:SYM1,SYM2,...]",
            "mean of the pairwise N-day correlations of daily log returns across all price columns (or the list).",
            _avgcorr,
        ),
        "turbulence": FeatureKind(
            "turbulence:N[:SYM1,SYM2,...]",
            "financial turbulence d_t = (r_t - mu)' pinv(Sigma) (r_t - mu), mu and Sigma (ddof=1) from the N days "
            "BEFORE t, r = daily log returns of all price columns (or the list) "
            "(Kritzman & Li 2010, 'Skulls, Financial Turbulence, and Risk Management', FAJ 66(5)).",
            _turbulence,
        ),
        "absorption": FeatureKind(
            "absorption:N[:K][:SYM1,SYM2,...]",
            "absorption ratio: sum of the top K eigenvalues / trace of the covariance of daily log returns over the "
            "N days up to t, K default max(1, round(n_assets/5)) "
            "(Kritzman, Li, Page & Rigobon 2011, 'Principal Components as a Measure of Systemic Risk', JPM 37(4)).",
            _absorption,
        ),
        "selloff": FeatureKind(
            "selloff:N[:Z][:SYM1,SYM2,...]",
            "synchronised sell-off: share of price columns (or the list) with r_t < -Z x sigma, sigma = robust "
            f"daily std median(|r|)/0.6745 over the N days BEFORE t; Z default {SELLOFF_Z} "
            "(project-defined co-crash indicator; 3 of SPY,QQQ,GLD,DVY = 'even gold is sold', cf. Baur & Lucey 2010, "
            "'Is Gold a Hedge or a Safe Haven?', Financial Review 45(2)).",
            _selloff,
        ),
        "level": FeatureKind(
            "level:SERIES",
            "the series value x_t (macro already lagged by its publication lag, or a price).",
            _level,
        ),
        "chg": FeatureKind(
            "chg:SERIES:N",
            "N-day difference x_t - x_{t-N}, N >= 1 (for rates and spreads in points).",
            _chg,
        ),
        "pctchg": FeatureKind(
            "pctchg:SERIES:N",
            "N-day percent change x_t / x_{t-N} - 1, N >= 1.",
            _pctchg,
        ),
        "logchg": FeatureKind(
            "logchg:SERIES:N",
            "N-day log change log(x_t / x_{t-N}), N >= 1 (for positive levels such as VIX; NaN where x <= 0).",
            _logchg,
        ),
        "z": FeatureKind(
            "z:SERIES:N",
            "trailing z-score (x_t - mean(x_{t-N+1..t})) / std(x_{t-N+1..t}) (ddof=1; NaN when std = 0).",
            _z,
        ),
        "spread": FeatureKind(
            "spread:A:B",
            "difference A_t - B_t of two series (e.g. spread:DGS10:DGS2 = term spread).",
            _spread,
        ),
        "ewm_ret": FeatureKind(
            "ewm_ret:SYM:HL",
            "exponentially weighted mean of the daily log returns, half-life HL days (pandas ewm, adjusted; "
            "Shu, Yu & Mulvey 2024, 'Downside Risk Reduction Using Regime-Switching Signals', JAM 25(5)).",
            _ewm_ret,
        ),
        "ewm_dd": FeatureKind(
            "ewm_dd:SYM:HL",
            "log of the exponentially weighted downside deviation log sqrt(EWM_HL(min(r,0)^2)) of daily log "
            "returns (daily units; Shu, Yu & Mulvey 2024).",
            _ewm_dd,
        ),
        "ewm_sortino": FeatureKind(
            "ewm_sortino:SYM:HL",
            "exponentially weighted Sortino ratio EWM_HL(r) / sqrt(EWM_HL(min(r,0)^2)), daily (Shu, Yu & Mulvey 2024).",
            _ewm_sortino,
        ),
        "ewm_dd_x": FeatureKind(
            "ewm_dd_x:SYM:RATE:HL",
            "ewm_dd on daily EXCESS simple returns r_t - RATE_{t-1}/100/252 over a cash yield in annual percent "
            "(e.g. IRX), as Shu, Yu & Mulvey 2024 compute their features.",
            _ewm_dd_x,
        ),
        "ewm_sortino_x": FeatureKind(
            "ewm_sortino_x:SYM:RATE:HL",
            "ewm_sortino on daily EXCESS simple returns over RATE (annual percent, the previous close's yield).",
            _ewm_sortino_x,
        ),
    }
)
_KIND_SIGN = {
    "ret": -1,
    "drawdown": -1,
    "vol": 1,
    "downvol": 1,
    "corr": 1,
    "avgcorr": 1,
    "turbulence": 1,
    "absorption": 1,
    "selloff": 1,
    "ewm_dd": 1,
    "ewm_ret": -1,
    "ewm_sortino": -1,
    "ewm_dd_x": 1,
    "ewm_sortino_x": -1,
}
assert set(FEATURES) == set(_PATTERNS)
_REGISTRY: dict[str, FeatureKind] = {
    name: kind._replace(pattern=_PATTERNS[name], sign=_KIND_SIGN.get(name)) for name, kind in FEATURES.items()
}
FEATURES = MappingProxyType(_REGISTRY)


def register(name: str, kind: FeatureKind) -> None:
    """Add a user feature kind (``name`` as written before the first colon). ``kind.func(spec, data)`` must use
    data up to t only for the value at t; ``data.series(spec, SYM)`` gives a price or macro series, and
    ``data.log_returns(spec, SYM)`` its daily log returns."""
    key = name.strip().lower()
    if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
        raise FeatureSpecError(f"feature kind name {name!r}: expected lower-case letters, digits and _")
    if key in _REGISTRY:
        raise FeatureSpecError(f"feature kind {key!r} exists already")
    for typ, _ in kind.pattern:
        if typ not in ("SYM", "SYMS", "N", "H", "K", "Z"):
            raise FeatureSpecError(f"feature kind {key!r}: unknown argument type {typ!r}")
    _REGISTRY[key] = kind


def feature_series(text: str) -> tuple[str, ...]:
    """The series a feature spec reads (price columns or macro series); () means every price column."""
    spec = parse_feature(text)
    return FEATURES[spec.kind].symbols(spec)


def feature_help() -> str:
    """Multi-line description of the grammar and of every feature kind."""
    width = max(len(k.syntax) for k in FEATURES.values())
    lines = [
        "Features are written kind:ARG:ARG... ([...] optional). N = window in days (integer >= 2), "
        "SYM/SERIES = a price column or macro series,",
        "SYMx,SYMy = comma-separated symbols (default: all price columns), K = integer >= 1, Z = positive number. "
        "Returns are daily log returns;",
        "every value at t uses data up to t only (NaN during warm-up). Kinds:",
    ]
    for k in FEATURES.values():
        lines.append(f"  {k.syntax.ljust(width)}  {k.doc}")
    return "\n".join(lines)


# -- build -----------------------------------------------------------------------------------------------------
def build_features(prices: pd.DataFrame, macro: pd.DataFrame | None, specs: Sequence[str]) -> pd.DataFrame:
    """One column per spec (named by its normalised text) on ``prices.index``; NaN during warm-up."""
    if isinstance(specs, str):
        specs = [specs]
    parsed = [parse_feature(s) for s in specs]
    if not parsed:
        raise FeatureSpecError(f"no features given; valid kinds: {_valid_kinds()}")
    seen: dict[str, None] = {}
    for p in parsed:
        if p.text in seen:
            raise FeatureSpecError(f"feature {p.text!r} is listed twice")
        seen[p.text] = None
    if not isinstance(prices, pd.DataFrame):
        raise DataError(f"prices must be a DataFrame, got {type(prices).__name__}")
    index = prices.index
    if not index.is_monotonic_increasing or not index.is_unique:
        raise DataError("prices: the index must be unique and ascending")
    if macro is None:
        macro = pd.DataFrame(index=index)
    elif not macro.index.equals(index):
        macro = macro.reindex(index)  # align only; no filling, so nothing moves backwards in time
    data = _Data(prices.astype(float), macro.astype(float))
    cols = {}
    for p in parsed:
        s = FEATURES[p.kind].func(p, data)
        cols[p.text] = s.to_numpy(dtype=float)
    out = pd.DataFrame(cols, index=index)
    return out.replace([np.inf, -np.inf], np.nan)


# -- stress direction ------------------------------------------------------------------------------------------
# Series for which a LOWER value means more stress (prices, liquidity, curve slope); any other series
# (VIX, MOVE, credit spreads, TED, financial-stress indices, the dollar, yields, ...) counts higher = more stress.
_LOWER_IS_STRESS = {
    # equity, gold and bond ETFs: a falling price is stress
    *"SPY QQQ IWF VUG VYM DVY SCHD SPYD VTV SHY BIL VGSH SCHO IEF TLT AGG GLD IAU IWM DIA EFA EEM VTI".split(),
    # liquidity aggregates and curve slope
    *"M2SL WM2NS M2 WALCL T10Y2Y T10Y3M".split(),
}
_TREASURY_YIELD = re.compile(r"^(DGS\d+MO?|DGS\d+|DTB\d+|TB\dMS|TNX|IRX|TYX|FVX|DFF|FEDFUNDS)$", re.IGNORECASE)


def _series_sign(name: str) -> int:
    return -1 if name.upper() in _LOWER_IS_STRESS else 1


def stress_sign(spec: str) -> int:
    """+1 if a higher value of the feature means more stress, -1 if a lower value does.

    Kinds: vol, downvol, corr, avgcorr, turbulence, absorption, selloff -> +1; ret, drawdown -> -1.
    level/chg/pctchg/logchg/z follow their series: -1 for prices and liquidity (SPY..., M2SL, WALCL, T10Y2Y), else +1
    (VIX, MOVE, OAS, TED, stress indices, dollar, yields). spread:A:B follows A, except a spread of two Treasury
    yields (a term spread, e.g. DGS10:DGS2) -> -1 (a flat/inverted curve is the tight-liquidity signal).
    """
    p = parse_feature(spec)
    sign = FEATURES[p.kind].sign
    if sign is not None:
        return sign
    if p.kind == "spread":
        a, b = p.args
        if _TREASURY_YIELD.match(a) and _TREASURY_YIELD.match(b):
            return -1
        return _series_sign(a)
    return _series_sign(p.args[0])
