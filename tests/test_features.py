"""Tests for regimes.features: hand-computed values per kind, grammar errors, no look-ahead, real-data checks."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from regimeshift.core.errors import ConfigError
from regimeshift.regimes.features import (
    FEATURES,
    SELLOFF_Z,
    FeatureSpec,
    FeatureSpecError,
    build_features,
    feature_help,
    parse_feature,
    stress_sign,
)

ANN = math.sqrt(252)
DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def frame_from_returns(**returns: list[float]) -> pd.DataFrame:
    """Prices 100 * exp(cumsum(r)) whose daily log returns (from row 1) are exactly the given lists."""
    n = len(next(iter(returns.values()))) + 1
    idx = pd.bdate_range("2020-01-01", periods=n)
    return pd.DataFrame(
        {k: 100 * np.exp(np.concatenate([[0.0], np.cumsum(v)])) for k, v in returns.items()}, index=idx
    )


def empty_macro(prices: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(index=prices.index)


# -- each kind, hand-computed ----------------------------------------------------------------------------------
def test_ret():
    idx = pd.bdate_range("2020-01-01", periods=4)
    px = pd.DataFrame({"A": [100.0, 110.0, 121.0, 108.9]}, index=idx)
    f = build_features(px, empty_macro(px), ["ret:A:2"])["ret:A:2"]
    assert f.iloc[:2].isna().all()
    assert f.iloc[2] == pytest.approx(0.1906203596)  # log(121/100)
    assert f.iloc[3] == pytest.approx(-0.0100503359)  # log(108.9/110)


def test_ret_and_changes_accept_a_one_day_horizon():
    idx = pd.bdate_range("2020-01-01", periods=3)
    px = pd.DataFrame({"A": [100.0, 110.0, 99.0]}, index=idx)
    macro = pd.DataFrame({"V": [20.0, 25.0, 20.0]}, index=idx)
    f = build_features(px, macro, ["ret:A:1", "logchg:V:1", "chg:V:1", "pctchg:V:1"])
    assert math.isnan(f["ret:A:1"].iloc[0])
    assert f["ret:A:1"].iloc[1:].tolist() == pytest.approx([math.log(1.1), math.log(0.9)])
    assert f["logchg:V:1"].iloc[1:].tolist() == pytest.approx([math.log(1.25), math.log(0.8)])
    assert f["chg:V:1"].iloc[1:].tolist() == [5.0, -5.0]
    assert f["pctchg:V:1"].iloc[1:].tolist() == pytest.approx([0.25, -0.2])


def test_logchg_of_a_non_positive_value_is_nan():
    idx = pd.bdate_range("2020-01-01", periods=3)
    px = pd.DataFrame({"A": [1.0, 1.0, 1.0]}, index=idx)
    macro = pd.DataFrame({"R": [0.5, -0.1, 0.4]}, index=idx)
    f = build_features(px, macro, ["logchg:R:1"])["logchg:R:1"]
    assert f.isna().all()


def test_vol_and_downvol():
    px = frame_from_returns(A=[0.01, -0.02, 0.03, -0.02])
    f = build_features(px, empty_macro(px), ["vol:A:3", "downvol:A:3"])
    assert f["vol:A:3"].iloc[:3].isna().all()
    # r = .01, -.02, .03: mean .006667, sample var 6.3333e-4, std .025166 -> x sqrt(252)
    assert f["vol:A:3"].iloc[3] == pytest.approx(0.3994996871)
    # min(r, 0)^2 = 0, 4e-4, 0 -> sqrt(4e-4 / 3) x sqrt(252)
    assert f["downvol:A:3"].iloc[3] == pytest.approx(0.1833030278)
    # r = -.02, .03, -.02: downside mean square = 8e-4 / 3
    assert f["downvol:A:3"].iloc[4] == pytest.approx(math.sqrt(8e-4 / 3) * ANN)


def test_drawdown_window_and_running_peak():
    idx = pd.bdate_range("2020-01-01", periods=5)
    px = pd.DataFrame({"A": [100.0, 120.0, 90.0, 110.0, 80.0]}, index=idx)
    f = build_features(px, empty_macro(px), ["drawdown:A:3", "drawdown:A"])
    w = f["drawdown:A:3"]
    assert w.iloc[:2].isna().all()
    assert w.iloc[2] == pytest.approx(-0.25)  # 90 / 120 - 1
    assert w.iloc[3] == pytest.approx(110 / 120 - 1)
    assert w.iloc[4] == pytest.approx(80 / 110 - 1)  # the 120 peak has left the 3-day window
    allt = f["drawdown:A"]
    assert allt.tolist() == pytest.approx([0.0, 0.0, -0.25, 110 / 120 - 1, 80 / 120 - 1])


def test_corr_and_avgcorr():
    # a dev (-1, 0, 1), b dev (-1, 1, 0), c dev (1, 0, -1): corr(a,b) = .5, corr(a,c) = -1, corr(b,c) = -.5
    px = frame_from_returns(A=[0.01, 0.02, 0.03], B=[0.01, 0.03, 0.02], C=[0.03, 0.02, 0.01])
    f = build_features(px, empty_macro(px), ["corr:A:B:3", "corr:A:C:3", "avgcorr:3", "avgcorr:3:A,B"])
    assert f["corr:A:B:3"].iloc[:3].isna().all()
    assert f["corr:A:B:3"].iloc[3] == pytest.approx(0.5)
    assert f["corr:A:C:3"].iloc[3] == pytest.approx(-1.0)
    assert f["avgcorr:3"].iloc[3] == pytest.approx((0.5 - 1.0 - 0.5) / 3)
    assert f["avgcorr:3:A,B"].iloc[3] == pytest.approx(0.5)


def test_turbulence_hand_computed():
    # window (rows 1-3, in %): a = 1, 2, 3; b = 1, 3, 2 -> mu = (2, 2), Sigma = [[1, .5], [.5, 1]]
    # day 4: r = (4, 0) -> dev = (2, -2); Sigma^-1 = [[1, -.5], [-.5, 1]] / .75 -> d = 12 / .75 = 16
    px = frame_from_returns(A=[0.01, 0.02, 0.03, 0.04], B=[0.01, 0.03, 0.02, 0.0])
    f = build_features(px, empty_macro(px), ["turbulence:3", "turbulence:3:A"])
    assert f["turbulence:3"].iloc[:4].isna().all()  # needs 3 returns strictly before t
    assert f["turbulence:3"].iloc[4] == pytest.approx(16.0)
    # one asset: (r_t - mu)^2 / var = (4 - 2)^2 / 1
    assert f["turbulence:3:A"].iloc[4] == pytest.approx(4.0)


def test_turbulence_singular_covariance_uses_pseudo_inverse():
    # B == A: Sigma is singular; pinv gives the one-asset answer, (4 - 2)^2 / 1 = 4
    r = [0.01, 0.02, 0.03, 0.04]
    px = frame_from_returns(A=r, B=r)
    f = build_features(px, empty_macro(px), ["turbulence:3"])
    # pinv of [[s, s], [s, s]] is [[1, 1], [1, 1]] / (4 s): d = (2 + 2)^2 / 4 = 4
    assert f["turbulence:3"].iloc[4] == pytest.approx(4.0)


def test_absorption_hand_computed():
    # window rows 1-3: Sigma = [[1, .5], [.5, 1]] (x 1e-4): eigenvalues 1.5 and .5 -> top-1 share .75
    px = frame_from_returns(A=[0.01, 0.02, 0.03], B=[0.01, 0.03, 0.02])
    f = build_features(px, empty_macro(px), ["absorption:3", "absorption:3:1", "absorption:3:2", "absorption:3:1:A,B"])
    assert f["absorption:3"].iloc[:3].isna().all()
    assert f["absorption:3"].iloc[3] == pytest.approx(0.75)  # default K = max(1, round(2/5)) = 1
    assert f["absorption:3:1"].iloc[3] == pytest.approx(0.75)
    assert f["absorption:3:2"].iloc[3] == pytest.approx(1.0)
    assert f["absorption:3:1:A,B"].iloc[3] == pytest.approx(0.75)


def test_selloff_hand_computed():
    # trailing |r| = .01, .01, .01 -> sigma = .01 / .6745 = .014826; default Z = 2.2 -> threshold -.032617
    # day 4: A -4% (hit), B -2% (no hit at Z = 2.2, hit at Z = 1)
    px = frame_from_returns(A=[0.01, -0.01, 0.01, -0.04], B=[-0.01, 0.01, -0.01, -0.02])
    specs = ["selloff:3", "selloff:3:1", "selloff:3:1:B", "selloff:3:A,B", "selloff:3:3"]
    f = build_features(px, empty_macro(px), specs)
    assert SELLOFF_Z == pytest.approx(2.2)
    assert f["selloff:3"].iloc[:4].isna().all()  # sigma excludes day t: 3 returns before t
    assert f["selloff:3"].iloc[4] == pytest.approx(0.5)
    assert f["selloff:3:1"].iloc[4] == pytest.approx(1.0)
    assert f["selloff:3:1:B"].iloc[4] == pytest.approx(1.0)
    assert f["selloff:3:A,B"].iloc[4] == pytest.approx(0.5)
    assert f["selloff:3:3"].iloc[4] == pytest.approx(0.0)  # -.04 > -3 x .014826 = -.04448


def test_macro_kinds():
    idx = pd.bdate_range("2020-01-01", periods=5)
    px = pd.DataFrame({"A": [1.0, 2.0, 3.0, 4.0, 5.0]}, index=idx)
    macro = pd.DataFrame(
        {"M": [1.0, 2.0, 3.0, 4.0, 10.0], "Y10": [np.nan, 4.0, 4.2, 4.1, 4.5], "Y2": [3.0, 3.5, 4.6, 4.0, 4.0]},
        index=idx,
    )
    f = build_features(px, macro, ["level:M", "chg:M:2", "pctchg:M:2", "z:M:3", "spread:Y10:Y2", "level:A"])
    assert f["level:M"].tolist() == [1.0, 2.0, 3.0, 4.0, 10.0]
    assert f["level:A"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert f["chg:M:2"].iloc[:2].isna().all()
    assert f["chg:M:2"].iloc[4] == pytest.approx(7.0)  # 10 - 3
    assert f["pctchg:M:2"].iloc[4] == pytest.approx(10 / 3 - 1)
    assert f["pctchg:M:2"].iloc[2] == pytest.approx(2.0)  # 3 / 1 - 1
    # window 3, 4, 10: mean 5.6667, sample std 3.78594
    assert f["z:M:3"].iloc[4] == pytest.approx(1.1445861782)
    assert f["z:M:3"].iloc[:2].isna().all()
    sp = f["spread:Y10:Y2"]
    assert math.isnan(sp.iloc[0])  # NaN macro start stays NaN (no back-fill)
    assert sp.iloc[1:].tolist() == pytest.approx([0.5, -0.4, 0.1, 0.5])


def test_prices_take_precedence_over_macro_and_output_shape():
    idx = pd.bdate_range("2020-01-01", periods=3)
    px = pd.DataFrame({"X": [1.0, 2.0, 3.0]}, index=idx)
    macro = pd.DataFrame({"X": [9.0, 9.0, 9.0], "M": [np.nan, 1.0, np.nan]}, index=idx)
    f = build_features(px, macro, [" level : X ", "level:M"])
    assert list(f.columns) == ["level:X", "level:M"]
    assert f.index.equals(idx)
    assert f["level:X"].tolist() == [1.0, 2.0, 3.0]
    assert f.dtypes.eq(np.float64).all()


def test_z_of_constant_series_is_nan_not_inf():
    idx = pd.bdate_range("2020-01-01", periods=4)
    px = pd.DataFrame({"A": [1.0, 1.0, 1.0, 1.0]}, index=idx)
    f = build_features(px, empty_macro(px), ["z:A:3"])
    assert f["z:A:3"].isna().all()


# -- grammar and errors ----------------------------------------------------------------------------------------
def test_parse_normalises_and_validates():
    assert parse_feature("  vol : SPY : 21 ") == FeatureSpec("vol", ("SPY", "21"), "vol:SPY:21")
    assert parse_feature("VOL:SPY:21").text == "vol:SPY:21"
    assert parse_feature("selloff:63:1.5:SPY, QQQ").args == ("63", "1.5", "SPY,QQQ")
    assert parse_feature("selloff:63:SPY,GLD").args == ("63", "SPY,GLD")
    assert parse_feature("absorption:252:2").args == ("252", "2")
    assert parse_feature("drawdown:SPY").args == ("SPY",)
    assert issubclass(FeatureSpecError, ConfigError)


def test_unknown_kind_lists_valid_kinds_on_one_line():
    with pytest.raises(FeatureSpecError) as e:
        parse_feature("volatility:SPY:21")
    msg = str(e.value)
    assert "\n" not in msg
    assert "volatility" in msg
    for kind in FEATURES.values():
        assert kind.syntax in msg


@pytest.mark.parametrize(
    "bad",
    ["vol:SPY:1", "vol:SPY:0", "vol:SPY:2.5", "vol:SPY:x", "vol:SPY:-5", "ret:SPY", "vol:SPY:21:5", "corr:SPY:21",
     "absorption:63:0", "selloff:63:-1", "ret:SPY:0", "logchg:VIX:0", "chg:VIX:1.5", "avgcorr:63:SPY,SPY", "turbulence:1", "level:", "", "drawdown:SPY:1"],
)
def test_bad_specs_raise(bad):
    with pytest.raises(FeatureSpecError) as e:
        parse_feature(bad)
    assert "\n" not in str(e.value)


def test_missing_symbol_names_feature_symbol_and_available():
    px = frame_from_returns(SPY=[0.01, 0.02, 0.0], GLD=[0.0, 0.01, 0.02])
    macro = pd.DataFrame({"VIX": [20.0, 21.0, 22.0, 23.0]}, index=px.index)
    with pytest.raises(FeatureSpecError) as e:
        build_features(px, macro, ["vol:SPY:2", "corr:SPY:QQQ:2"])
    msg = str(e.value)
    assert "QQQ" in msg and "corr:SPY:QQQ:2" in msg
    assert "SPY" in msg and "GLD" in msg and "VIX" in msg
    with pytest.raises(FeatureSpecError, match="NOPE"):
        build_features(px, macro, ["turbulence:2:SPY,NOPE"])


def test_other_build_errors():
    px = frame_from_returns(A=[0.01, 0.02, 0.0], B=[0.0, 0.01, 0.02])
    with pytest.raises(FeatureSpecError, match="twice"):
        build_features(px, empty_macro(px), ["vol:A:2", " vol:A:2"])
    with pytest.raises(FeatureSpecError, match="K=3"):
        build_features(px, empty_macro(px), ["absorption:2:3"])
    with pytest.raises(FeatureSpecError, match="at least 2"):
        build_features(px, empty_macro(px), ["avgcorr:2:A"])


def test_registry_help_and_stress_signs():
    for kind, entry in FEATURES.items():
        assert entry.syntax.startswith(kind + ":") and entry.doc and callable(entry.func) and entry.pattern
    help_text = feature_help()
    assert len(help_text.splitlines()) > len(FEATURES)
    for entry in FEATURES.values():
        assert entry.syntax in help_text
    assert "Kritzman" in FEATURES["turbulence"].doc and "Kritzman" in FEATURES["absorption"].doc
    plus = ["vol:SPY:21", "downvol:SPY:21", "turbulence:252", "absorption:252", "corr:SPY:GLD:63", "avgcorr:63",
            "selloff:63", "level:VIX", "z:VIX:252", "chg:BAMLH0A0HYM2:21", "spread:BAA10Y:DGS10", "level:MOVE"]
    minus = ["ret:SPY:63", "drawdown:SPY", "drawdown:SPY:252", "level:T10Y2Y", "spread:DGS10:DGS2", "z:SPY:63"]
    assert [stress_sign(s) for s in plus] == [1] * len(plus)
    assert [stress_sign(s) for s in minus] == [-1] * len(minus)


def test_every_kind_is_complete_after_warm_up_on_5_assets_5000_days():
    rng = np.random.default_rng(1)
    idx = pd.bdate_range("2005-01-03", periods=5000)
    px = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (5000, 5)), axis=0)), index=idx,
                      columns=list("ABCDE"))
    specs = ["turbulence:252", "absorption:252", "vol:A:21", "ret:A:63", "corr:A:B:63", "avgcorr:63", "selloff:63",
             "drawdown:C:252", "z:D:63", "downvol:E:21"]
    f = build_features(px, empty_macro(px), specs)  # speed is benchmarks' business; here: complete output
    assert f.iloc[300:].notna().all().all()


# -- no look-ahead ---------------------------------------------------------------------------------------------
ALL_KINDS_SPECS = [
    "ret:A:5", "vol:A:5", "downvol:B:5", "drawdown:C:10", "drawdown:A", "corr:A:B:10", "avgcorr:10",
    "avgcorr:10:A,C", "turbulence:10", "turbulence:10:A,B", "absorption:10", "absorption:10:2:A,B,C",
    "selloff:10", "selloff:10:1:A,B", "level:M", "level:A", "chg:M:5", "pctchg:M:5", "z:M:10", "z:B:10",
    "spread:M:L", "spread:A:L", "ret:B:1", "logchg:M:1", "logchg:L:3",
    "ewm_ret:A:5", "ewm_dd:B:3", "ewm_sortino:C:4", "ewm_dd_x:A:M:3", "ewm_sortino_x:B:M:4",
]


def test_lookahead_specs_cover_every_kind():
    assert {parse_feature(s).kind for s in ALL_KINDS_SPECS} == set(FEATURES)


def _random_market(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    idx = pd.bdate_range("2010-01-01", periods=n)
    prices = pd.DataFrame(
        50 * np.exp(np.cumsum(rng.normal(0, 0.02, (n, 3)), axis=0)), index=idx, columns=["A", "B", "C"]
    )
    m = np.cumsum(rng.normal(0, 1, n)) + 100
    lvl = rng.normal(2, 0.5, n)
    start = int(rng.integers(0, 10))
    m[:start] = np.nan  # macro may start late
    macro = pd.DataFrame({"M": m, "L": lvl}, index=idx)
    return prices, macro


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(15, 80), cut_frac=st.floats(0.0, 1.0))
def test_no_lookahead(seed, n, cut_frac):
    rng = np.random.default_rng(seed)
    prices, macro = _random_market(rng, n)
    cut = min(n - 1, int(cut_frac * n))
    before = build_features(prices, macro, ALL_KINDS_SPECS)

    other_prices, other_macro = _random_market(np.random.default_rng(seed + 1), n)
    p2, m2 = prices.copy(), macro.copy()
    p2.iloc[cut + 1 :] = other_prices.iloc[cut + 1 :].to_numpy() * 3.0
    m2.iloc[cut + 1 :] = other_macro.iloc[cut + 1 :].to_numpy()
    if cut + 1 < n:
        m2.iloc[-1, 0] = np.nan  # macro may end early too
    after = build_features(p2, m2, ALL_KINDS_SPECS)

    np.testing.assert_array_equal(before.iloc[: cut + 1].to_numpy(), after.iloc[: cut + 1].to_numpy())


# -- real data -------------------------------------------------------------------------------------------------
realdata = pytest.mark.skipif(not DATA_DIR.is_dir(), reason=f"real data directory {DATA_DIR} is absent")


def load_closes(symbols: list[str]) -> pd.DataFrame:
    """Read ``Date,Close`` CSVs from shared/data and inner-join them on date (local helper, no project loader)."""
    cols = []
    for s in symbols:
        df = pd.read_csv(DATA_DIR / f"{s}.csv")
        cols.append(pd.Series(df["Close"].to_numpy(float), index=pd.to_datetime(df["Date"]), name=s))
    return pd.concat(cols, axis=1, join="inner").sort_index()


@pytest.fixture(scope="module")
def real_features() -> pd.DataFrame:
    px = load_closes(["SPY", "QQQ", "GLD", "DVY"])
    return build_features(px, pd.DataFrame(index=px.index), ["selloff:63", "turbulence:252"])


@pytest.mark.realdata
@realdata
def test_selloff_real_data(real_features):
    s = real_features["selloff:63"]
    assert s.loc["2026-02-12"] >= 0.75  # SPY -1.5%, QQQ -2.0%, GLD -3.5% on the day
    on = s.loc["2005":"2026"].dropna() >= 0.75
    assert len(on) > 5000
    assert on.mean() <= 0.02


@pytest.mark.realdata
@realdata
def test_turbulence_real_data_crisis_days(real_features):
    t = real_features["turbulence:252"].dropna()
    pct = t.rank(pct=True)
    assert pct.loc["2008-10-10"] >= 0.98
    assert pct.loc["2020-03-16"] >= 0.98


def test_each_kind_records_the_series_it_reads():
    from regimeshift.regimes.features import feature_series

    assert feature_series("corr:SPY:GLD:63") == ("SPY", "GLD")
    assert feature_series("drawdown:SPY") == ("SPY",)
    assert feature_series("selloff:63:2.5:SPY,QQQ,GLD") == ("SPY", "QQQ", "GLD")
    assert feature_series("turbulence:252") == ()  # every price column
    assert feature_series("spread:DGS10:DGS2") == ("DGS10", "DGS2")


def test_a_registered_user_kind_parses_builds_and_signs(monkeypatch):
    import regimeshift.regimes.features as features

    monkeypatch.setattr(features, "_REGISTRY", dict(features._REGISTRY))
    monkeypatch.setattr(features, "FEATURES", features.MappingProxyType(features._REGISTRY))
    kind = features.FeatureKind("range:SYM:N", "max - min of the level over N days.",
                                lambda spec, d: d.series(spec, spec.args[0]).rolling(int(spec.args[1])).apply(np.ptp),
                                pattern=(("SYM", False), ("N", False)), sign=1)
    features.register("range", kind)
    idx = pd.bdate_range("2020-01-01", periods=5)
    out = features.build_features(pd.DataFrame({"A": [1.0, 3.0, 2.0, 5.0, 4.0]}, index=idx), None, ["range:A:3"])
    assert out["range:A:3"].tolist()[2:] == [2.0, 3.0, 3.0]
    assert features.stress_sign("range:A:3") == 1
    with pytest.raises(features.FeatureSpecError, match="exists already"):
        features.register("range", kind)


def test_ewm_features_follow_the_papers_definitions():
    """Shu, Yu & Mulvey (2024): EWM average return, log EWM downside deviation and their ratio (Sortino)."""
    rng = np.random.default_rng(4)
    prices, macro = _random_market(rng, 120)
    out = build_features(prices, macro, ["ewm_ret:A:10", "ewm_dd:A:10", "ewm_sortino:A:10"])
    r = np.log(prices["A"]).diff()
    ret = r.ewm(halflife=10, min_periods=10).mean()
    dd = np.sqrt((np.minimum(r, 0.0) ** 2).ewm(halflife=10, min_periods=10).mean())
    np.testing.assert_allclose(out["ewm_ret:A:10"], ret, equal_nan=True)
    np.testing.assert_allclose(out["ewm_dd:A:10"], np.log(dd), equal_nan=True)
    np.testing.assert_allclose(out["ewm_sortino:A:10"], ret / dd, equal_nan=True)
    assert out.iloc[:10].isna().all().all() and out.iloc[10:].notna().all().all()
    assert [stress_sign(c) for c in out.columns] == [-1, 1, -1]


def test_excess_return_features_subtract_the_previous_close_s_cash_yield():
    """ewm_dd_x / ewm_sortino_x (Shu, Yu & Mulvey 2024): the ewm features of r_t - RATE_{t-1}/100/252."""
    idx = pd.bdate_range("2005-01-03", periods=200)
    rng = np.random.default_rng(4)
    px = pd.DataFrame({"SPY": 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 200)))}, index=idx)
    rate = pd.Series(np.linspace(1.0, 5.0, 200), index=idx)
    rate.iloc[50] = np.nan  # a missing yield: the last known one is used
    out = build_features(px, pd.DataFrame({"IRX": rate}), ["ewm_dd_x:SPY:IRX:10", "ewm_sortino_x:SPY:IRX:20"])
    x = px["SPY"].pct_change() - rate.ffill().shift(1) / 100 / 252
    dd10 = np.sqrt((np.minimum(x, 0) ** 2).ewm(halflife=10, min_periods=10).mean())
    dd20 = np.sqrt((np.minimum(x, 0) ** 2).ewm(halflife=20, min_periods=20).mean())
    np.testing.assert_allclose(out["ewm_dd_x:SPY:IRX:10"], np.log(dd10), equal_nan=True)
    np.testing.assert_allclose(out["ewm_sortino_x:SPY:IRX:20"], x.ewm(halflife=20, min_periods=20).mean() / dd20,
                               equal_nan=True)
    # the value at t uses data up to t only
    later = px.copy()
    later.iloc[150:] *= 1.3
    cut = build_features(later, pd.DataFrame({"IRX": rate}), ["ewm_sortino_x:SPY:IRX:20"])
    np.testing.assert_allclose(cut.iloc[:150, 0], out["ewm_sortino_x:SPY:IRX:20"].iloc[:150], equal_nan=True)
    assert stress_sign("ewm_dd_x:SPY:IRX:10") == 1 and stress_sign("ewm_sortino_x:SPY:IRX:20") == -1
