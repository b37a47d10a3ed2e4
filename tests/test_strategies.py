"""The strategy API: built-ins on hand-made probabilities, weight properties on random paths, the README's
worked example run through allocation_stage, custom modules found by name, multi-symbol sleeves end to end."""
from __future__ import annotations

import re
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from regimeshift.backtests.config import config_from_dict
from regimeshift.data.market import MarketData, load_prices
from regimeshift.core.constants import CASH
from regimeshift.core.errors import ConfigError
from regimeshift.strategies import liquidity_rotation, regime_switch, vol_target
from regimeshift.strategies.algos import held_regime, trailing_covariance
from regimeshift.strategies.base import StrategyContext
from regimeshift.strategies.registry import resolve_strategy
from regimeshift.strategies.sleeves import sleeve_returns, symbol_weights

from regimeshift.pipeline import allocation_stage, replay_stage
from tests.conftest import REPO, SHARED_DATA, requires_shared

REGIMES = ["abundant", "tightening", "crunch"]
SLEEVES = {"growth": {"G": 1.0}, "value": {"V": 1.0}, "bonds": {"B": 1.0}, "gold": {"AU": 1.0}}
WEIGHTS = {  # the shipped thesis
    "abundant": {"growth": 0.80, "value": 0.10, "bonds": 0.10},
    "tightening": {"growth": 0.10, "value": 0.40, "bonds": 0.45, "gold": 0.05},
    "crunch": {"bonds": 0.80, "gold": 0.10, "cash": 0.10},
}
COLS = ["growth", "value", "bonds", "gold", CASH]


def _ctx(probs: list[list[float]] | np.ndarray, params: dict | None = None, weights: dict | None = None,
         sleeve_rets: pd.DataFrame | None = None) -> StrategyContext:
    p = np.asarray(probs, dtype=float)
    idx = pd.bdate_range("2021-01-04", periods=len(p), name="date")
    frame = pd.DataFrame(p, index=idx, columns=REGIMES[: p.shape[1]])
    prices = pd.DataFrame(100.0, index=idx, columns=["G", "V", "B", "AU"])
    if sleeve_rets is None:
        sleeve_rets = pd.DataFrame(0.0, index=idx, columns=list(SLEEVES))
    return StrategyContext(frame, prices, SLEEVES, weights or WEIGHTS, params or {}, sleeve_rets)


def _row(**w: float) -> list[float]:
    return [w.get(c, 0.0) for c in COLS]


# -- built-ins on hand-made probabilities -----------------------------------------------------------------------
def test_liquidity_rotation_is_the_probability_weighted_blend_of_regime_portfolios():
    w = liquidity_rotation.target_weights(_ctx([[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]]))
    assert list(w.columns) == COLS
    expected = [
        _row(growth=0.80, value=0.10, bonds=0.10),
        _row(growth=0.45, value=0.25, bonds=0.275, gold=0.025),
        # 0.2 abundant + 0.3 tightening + 0.5 crunch (bonds .8, gold .1, cash .1)
        _row(growth=0.19, value=0.14, bonds=0.555, gold=0.065, cash=0.05),
    ]
    np.testing.assert_allclose(w.to_numpy(), expected, atol=1e-12)


def test_regime_switch_enters_only_above_threshold_after_the_minimum_holding_period():
    probs = [
        [0.50, 0.30, 0.20],  # day 0: most probable (abundant), no threshold needed to start
        [0.30, 0.65, 0.05],  # tightening above 0.6 but abundant held 1 day < 3
        [0.30, 0.65, 0.05],  # held 2 days
        [0.30, 0.65, 0.05],  # held 3 days: switch
        [0.20, 0.20, 0.60],  # crunch at exactly 0.6 is not above the threshold (and held 1 day)
        [0.10, 0.10, 0.80],  # held 2 days
        [0.10, 0.10, 0.80],  # held 3 days: switch to crunch
        [0.45, 0.10, 0.45],  # abundant most probable but far below the threshold: stay
    ]
    w = regime_switch.target_weights(_ctx(probs, {"threshold": 0.6, "min_hold": 3}))
    a, t, c = (_row(**{k: v for k, v in WEIGHTS[r].items() if k != CASH}) for r in REGIMES)
    c[-1] = 0.10
    np.testing.assert_allclose(w.to_numpy(), [a, a, a, t, t, t, c, c], atol=1e-12)


def test_regime_switch_threshold_is_strict():
    held = held_regime(np.array([[1.0, 0, 0], [0.4, 0.6, 0], [0.39, 0.61, 0]]), threshold=0.6, min_hold=1)
    assert held.tolist() == [0, 0, 1]


def test_regime_switch_rejects_bad_params():
    with pytest.raises(ConfigError, match="min_hold"):
        regime_switch.target_weights(_ctx([[1, 0, 0]], {"min_hold": 0}))
    with pytest.raises(ConfigError, match="threshold"):
        regime_switch.target_weights(_ctx([[1, 0, 0]], {"threshold": 1.5}))


def _alternating(n: int, a: float) -> pd.DataFrame:
    """Growth returns +a, -a, +a, ...; the other sleeves flat: any even window has sample sd a*sqrt(L/(L-1))."""
    idx = pd.bdate_range("2021-01-04", periods=n, name="date")
    r = pd.DataFrame(0.0, index=idx, columns=list(SLEEVES))
    r["growth"] = a * np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    return r


def test_vol_target_scales_risky_sleeves_to_the_target_and_parks_the_rest_in_bonds():
    n, lookback, a = 40, 20, 0.01
    ctx = _ctx([[1, 0, 0]] * n, {"target": 0.10, "lookback": lookback}, sleeve_rets=_alternating(n, a))
    w = vol_target.target_weights(ctx)
    vol = 0.8 * a * np.sqrt(lookback / (lookback - 1)) * np.sqrt(252)  # growth weight 0.8, others flat
    scale = 0.10 / vol
    assert 0.7 < scale < 0.8
    before, after = w.iloc[:lookback], w.iloc[lookback:]
    np.testing.assert_allclose(before.to_numpy(), [_row(growth=0.8, value=0.1, bonds=0.1)] * lookback, atol=1e-12)
    expected = _row(growth=0.8 * scale, value=0.1 * scale, bonds=0.1 + 0.9 * (1 - scale))
    np.testing.assert_allclose(after.to_numpy(), [expected] * (n - lookback), atol=1e-9)


def test_vol_target_never_levers_up_and_can_park_in_cash():
    n = 30
    calm = _alternating(n, 0.0005)  # ~1% vol: below target, scale capped at 1
    w = vol_target.target_weights(_ctx([[1, 0, 0]] * n, {"target": 0.10, "lookback": 10}, sleeve_rets=calm))
    np.testing.assert_allclose(w.to_numpy(), [_row(growth=0.8, value=0.1, bonds=0.1)] * n, atol=1e-12)
    wild = _alternating(n, 0.03)
    w = vol_target.target_weights(_ctx([[1, 0, 0]] * n, {"target": 0.10, "lookback": 10, "into": "cash"}, sleeve_rets=wild))
    last = w.iloc[-1]
    assert last["bonds"] == pytest.approx(0.1 * 0.10 / (0.8 * 0.03 * np.sqrt(10 / 9) * np.sqrt(252)))
    assert last[CASH] > 0.5 and last.sum() == pytest.approx(1.0)


def test_vol_target_is_causal_and_wraps_regime_switch():
    n = 40
    rets = _alternating(n, 0.02)  # tightening holds 10% growth: ~3% vol, under the 10% target
    probs = [[1, 0, 0]] * 20 + [[0, 0.9, 0.1]] * 20
    params = {"base": "regime_switch", "threshold": 0.6, "min_hold": 2, "lookback": 10}
    base = vol_target.target_weights(_ctx(probs, params, sleeve_rets=rets))
    shocked = rets.copy()
    shocked.iloc[30:, 0] *= 5.0
    w = vol_target.target_weights(_ctx(probs, params, sleeve_rets=shocked))
    pd.testing.assert_frame_equal(base.iloc[:31], w.iloc[:31])  # day 30's return is first used on day 31
    assert not np.allclose(base.iloc[31:].to_numpy(), w.iloc[31:].to_numpy())
    assert base.iloc[25]["value"] > base.iloc[5]["value"]  # switched to tightening (more value)


def test_trailing_covariance_matches_pandas_rolling():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 0.01, (80, 3))
    cov = trailing_covariance(x, 15)
    for t in (15, 40, 79):
        np.testing.assert_allclose(cov[t], np.cov(x[t - 15 : t].T), rtol=1e-9, atol=1e-15)
    assert np.isnan(cov[14]).all()


def test_vol_target_rejects_an_unknown_into_sleeve_and_itself_as_base():
    ctx = _ctx([[1, 0, 0]] * 5, {"into": "nope"})
    with pytest.raises(ConfigError, match="into"):
        vol_target.target_weights(ctx)
    with pytest.raises(ConfigError, match="itself"):
        vol_target.target_weights(_ctx([[1, 0, 0]] * 5, {"base": "vol_target"}))


# -- properties on random probability paths --------------------------------------------------------------------
@st.composite
def _random_setup(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 120))
    raw = draw(hnp.arrays(np.float64, (n, 3), elements=st.floats(0.0, 1.0)))
    raw[raw.sum(axis=1) == 0, 0] = 1.0  # a path of probabilities: rows on the simplex
    probs = raw / raw.sum(axis=1, keepdims=True)
    weights = {}
    for regime in REGIMES:
        w = draw(hnp.arrays(np.float64, 5, elements=st.floats(0.0, 1.0)))
        w = w / w.sum() if w.sum() > 0 else np.r_[0.0, 0, 0, 0, 1]
        weights[regime] = dict(zip(COLS, w))
    seed = draw(st.integers(0, 2**16))
    rets = pd.DataFrame(
        np.random.default_rng(seed).normal(0, [0.02, 0.01, 0.002, 0.012], (n, 4)),
        index=pd.bdate_range("2021-01-04", periods=n, name="date"), columns=list(SLEEVES),
    )
    params = {
        "threshold": draw(st.floats(0.0, 1.0)),
        "min_hold": draw(st.integers(1, 30)),
        "target": draw(st.floats(0.01, 0.5)),
        "lookback": draw(st.integers(2, 80)),
        "into": draw(st.sampled_from(["bonds", CASH])),
        "base": draw(st.sampled_from(["liquidity_rotation", "regime_switch"])),
    }
    return _ctx(probs, params, weights, rets)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ctx=_random_setup(), name=st.sampled_from(["liquidity_rotation", "regime_switch", "vol_target"]))
def test_builtin_weights_are_non_negative_and_sum_to_one_including_cash(ctx, name):
    w = resolve_strategy(name)(ctx)
    values = w[COLS].to_numpy()
    assert w.index.equals(ctx.probabilities.index)
    assert np.isfinite(values).all()
    assert (values >= 0).all()
    np.testing.assert_allclose(values.sum(axis=1), 1.0, atol=1e-9)
    assert (values[:, :-1].sum(axis=1) <= 1.0 + 1e-9).all()


# -- the README's worked example, verbatim ----------------------------------------------------------------------
def _readme_example() -> tuple[str, str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Writing a strategy", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    path = re.search(r"^# (\w+)/(\w+)\.py", code, re.M)
    return f"{path.group(1)}.{path.group(2)}", code


def _fake_run(probs: pd.DataFrame, weights: dict, params: dict, name: str):  # type: ignore[no-untyped-def]
    cfg = config_from_dict({
        "data": {"source": "synthetic", "benchmark": "G"},
        "sleeves": SLEEVES, "strategy": {"name": name, "weights": weights, "params": params},
    })
    prices = pd.DataFrame(
        100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, (len(probs), 4)), axis=0)),
        index=probs.index, columns=["G", "V", "B", "AU"],
    )
    market = MarketData(prices=prices, macro=pd.DataFrame(index=prices.index))
    return cfg, market, SimpleNamespace(probabilities=probs)


def test_readme_strategy_example_runs_through_allocation_stage(tmp_path, monkeypatch):
    name, code = _readme_example()
    package, module = name.split(".")
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / package / f"{module}.py").write_text(code, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.delitem(sys.modules, package, raising=False)
    idx = pd.bdate_range("2021-01-04", periods=6, name="date")
    probs = pd.DataFrame(
        [[0.9, 0.1, 0.0], [0.4, 0.0, 0.6], [0.0, 0.3, 0.7], [0.1, 0.1, 0.8], [0.3, 0.2, 0.5], [0.0, 0.0, 1.0]],
        index=idx, columns=REGIMES,
    )
    # a crunch portfolio holding almost no bonds: the old example went negative on bonds here
    weights = {**WEIGHTS, "crunch": {"bonds": 0.02, "gold": 0.30, "cash": 0.68}}
    cfg, market, regimes = _fake_run(probs, weights, {"threshold": 0.6}, name)
    try:
        w = allocation_stage(cfg, market, regimes)
    finally:
        sys.modules.pop(name, None)
        sys.modules.pop(package, None)
    blend = liquidity_rotation.target_weights(_ctx(probs.to_numpy(), weights=weights))
    crunch = (probs["crunch"] > 0.6).to_numpy()
    assert crunch.tolist() == [False, False, True, True, False, True]
    shift = np.where(crunch, np.minimum(blend["bonds"], 0.1), 0.0)
    assert (blend["bonds"][crunch] < 0.1).any()  # the case the example must handle
    np.testing.assert_allclose(w["gold"], blend["gold"] + shift, atol=1e-12)
    np.testing.assert_allclose(w["bonds"], blend["bonds"] - shift, atol=1e-12)
    assert (w.to_numpy() >= 0).all()
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-12)


def test_a_custom_strategy_by_dotted_path_and_a_bad_one_named_precisely(tmp_path, monkeypatch):
    pkg = tmp_path / "mydesk"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "all_cash.py").write_text(
        "import pandas as pd\n"
        "def target_weights(ctx):\n"
        "    w = pd.DataFrame(0.0, index=ctx.probabilities.index, columns=ctx.sleeve_names)\n"
        "    w['cash'] = 1.0\n"
        "    return w\n"
    )
    (pkg / "leveraged.py").write_text(
        "import pandas as pd\n"
        "def target_weights(ctx):\n"
        "    w = pd.DataFrame(0.0, index=ctx.probabilities.index, columns=ctx.sleeve_names)\n"
        "    w['growth'] = 1.5\n"
        "    return w\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    idx = pd.bdate_range("2021-01-04", periods=3, name="date")
    probs = pd.DataFrame([[1.0, 0, 0]] * 3, index=idx, columns=REGIMES)
    try:
        w = allocation_stage(*_fake_run(probs, WEIGHTS, {}, "mydesk.all_cash"))
        assert (w[CASH] == 1.0).all()
        with pytest.raises(ConfigError, match=r"strategy mydesk\.leveraged: weights sum to 1\.5"):
            allocation_stage(*_fake_run(probs, WEIGHTS, {}, "mydesk.leveraged"))
        with pytest.raises(ConfigError, match="no strategy 'nope'"):
            resolve_strategy("nope")
    finally:
        for mod in ("mydesk", "mydesk.all_cash", "mydesk.leveraged"):
            sys.modules.pop(mod, None)


# -- sleeves holding several symbols -------------------------------------------------------------------------
def test_symbol_weights_split_sleeves_by_in_sleeve_weights_and_add_shared_symbols():
    idx = pd.bdate_range("2021-01-04", periods=2)
    sw = pd.DataFrame({"value": [0.6, 0.3], "income": [0.2, 0.4], CASH: [0.2, 0.3]}, index=idx)
    sleeves = {"value": {"VYM": 2.0, "DVY": 1.0}, "income": {"DVY": 1.0, "SCHD": 1.0}}
    out = symbol_weights(sw, sleeves)
    np.testing.assert_allclose(out.loc[idx[0], ["VYM", "DVY", "SCHD"]], [0.4, 0.2 + 0.1, 0.1])
    np.testing.assert_allclose(out.sum(axis=1), [0.8, 0.7])


def _two_symbol_value_sleeve_run(prices: pd.DataFrame, sleeves: dict, bench: str):  # type: ignore[no-untyped-def]
    idx = prices.index
    probs = pd.DataFrame(0.0, index=idx, columns=REGIMES)
    probs["tightening"] = 1.0  # value 0.40, bonds 0.45, growth 0.10, gold 0.05
    cfg = config_from_dict({
        "data": {"source": "synthetic", "benchmark": bench}, "sleeves": sleeves,
        "execution": {"fractional": True, "rebalance": "monthly"},
    })
    market = MarketData(prices=prices, macro=pd.DataFrame(index=idx))
    regimes = SimpleNamespace(probabilities=probs)
    weights = allocation_stage(cfg, market, regimes)
    return cfg, weights, replay_stage(cfg, market, weights)


def _check_value_sleeve(prices: pd.DataFrame, cfg, rep, a: str, b: str, share_a: float) -> None:  # type: ignore[no-untyped-def]
    held = rep.trades.pivot_table(index="date", columns="symbol", values="size", aggfunc="sum").fillna(0.0).cumsum()
    first = held.index[0]
    va, vb = held.at[first, a] * prices.at[first, a], held.at[first, b] * prices.at[first, b]
    value = rep.value.loc[first]
    assert va / (va + vb) == pytest.approx(share_a, abs=1e-6)
    assert (va + vb) / value == pytest.approx(0.40 * (1 - cfg.execution.cash_buffer), abs=2e-3)
    # the sleeve's return is the in-sleeve weighted return of its members
    r = sleeve_returns(prices, cfg.sleeves)["value"].dropna()
    expected = share_a * prices[a].pct_change() + (1 - share_a) * prices[b].pct_change()
    np.testing.assert_allclose(r, expected.dropna(), rtol=1e-12)
    assert {a, b} <= set(rep.trades["symbol"])


def test_a_two_symbol_sleeve_end_to_end_on_synthetic_prices():
    rng = np.random.default_rng(5)
    idx = pd.bdate_range("2019-01-01", periods=150, name="date")
    cols = ["G", "VA", "VB", "B", "AU", "MKT"]
    prices = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (150, 6)), axis=0)), index=idx, columns=cols)
    sleeves = {"growth": {"G": 1.0}, "value": {"VA": 2.0, "VB": 1.0}, "bonds": {"B": 1.0}, "gold": {"AU": 1.0}}
    cfg, _, rep = _two_symbol_value_sleeve_run(prices, sleeves, "MKT")
    _check_value_sleeve(prices, cfg, rep, "VA", "VB", 2 / 3)


@requires_shared
@pytest.mark.realdata
def test_value_sleeve_of_vym_and_dvy_end_to_end_on_real_data():
    syms = ["QQQ", "VYM", "DVY", "SHY", "GLD", "SPY"]
    prices = load_prices(SHARED_DATA, syms, start="2019-01-01", end="2020-12-31")
    sleeves = {"growth": {"QQQ": 1.0}, "value": {"VYM": 1.0, "DVY": 1.0}, "bonds": {"SHY": 1.0}, "gold": {"GLD": 1.0}}
    cfg, _, rep = _two_symbol_value_sleeve_run(prices, sleeves, "SPY")
    _check_value_sleeve(prices, cfg, rep, "VYM", "DVY", 0.5)
    assert rep.n_rejected == 0
