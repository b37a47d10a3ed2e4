"""Sleeves as rules (issue 23 item 1): members weighed at every decision from closes up to it only, by one pure
function that the backtrader run, its array twin and the sweep screen all call."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from regimeshift.backtests.config import config_from_dict
from regimeshift.pipeline import run_pipeline
from regimeshift.strategies.member_weights import WEIGHS, member_weight_rows, member_weights
from regimeshift.strategies.sleeves import MemberBook
from regimeshift.sweep.screen import screen_with_twin
from sklearn.covariance import LedoitWolf

from tests.conftest import requires_shared
from tests.test_sweep_screen import WHOLE_SHARE_BOUND


def _closes(n: int = 200, k: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vols = np.linspace(0.005, 0.03, k)
    return 100 * np.exp(np.cumsum(rng.normal(0.0003, vols, (n, k)), axis=0))


@settings(max_examples=40, deadline=None)
@given(weigh=st.sampled_from(WEIGHS), lookback=st.integers(2, 40), t=st.integers(0, 79), seed=st.integers(0, 2**16),
       k=st.integers(1, 5), top_k=st.integers(1, 5))
def test_prices_after_a_decision_change_nothing_at_or_before_it(weigh, lookback, t, seed, k, top_k) -> None:
    closes = _closes(80, k, seed)
    rows = np.arange(80)
    top = min(top_k, k) if weigh == "momentum" else None
    before, filled = member_weight_rows(closes, rows, weigh, lookback, top)
    changed = closes.copy()
    changed[t + 1:] *= np.random.default_rng(seed + 1).uniform(0.5, 2.0, changed[t + 1:].shape)
    after, filled_after = member_weight_rows(changed, rows, weigh, lookback, top)
    np.testing.assert_array_equal(after[: t + 1], before[: t + 1])
    np.testing.assert_array_equal(filled_after[: t + 1], filled[: t + 1])
    assert (before >= 0).all()
    np.testing.assert_allclose(before.sum(axis=1), 1.0, rtol=1e-12)


def test_until_the_lookback_is_filled_members_are_held_equally_and_it_says_so() -> None:
    closes = _closes(30, 3)
    short = member_weights(closes, "inverse_vol", lookback=30)  # 30 closes give 29 returns
    full = member_weights(closes, "inverse_vol", lookback=29)
    np.testing.assert_allclose(short.weights, [1 / 3] * 3, rtol=1e-15)
    assert (short.filled, full.filled) == (False, True)


def test_inverse_vol_weighs_each_member_by_one_over_its_window_volatility() -> None:
    closes = _closes()
    rets = closes[-64:][1:] / closes[-64:][:-1] - 1.0
    expected = 1.0 / rets.std(axis=0, ddof=1)
    np.testing.assert_allclose(member_weights(closes, "inverse_vol", 63).weights, expected / expected.sum(),
                               rtol=1e-12)


def test_min_variance_is_the_ledoit_wolf_minimum_variance_portfolio() -> None:
    closes = _closes()  # four independent members: the unconstrained optimum is long-only, so it is the answer
    rets = closes[-64:][1:] / closes[-64:][:-1] - 1.0
    inv = np.linalg.inv(LedoitWolf().fit(rets).covariance_) @ np.ones(4)
    np.testing.assert_allclose(member_weights(closes, "min_variance", 63).weights, inv / inv.sum(), rtol=1e-6)


def test_risk_parity_gives_every_member_the_same_risk_contribution() -> None:
    closes = _closes(k=6, seed=4)
    rets = closes[-64:][1:] / closes[-64:][:-1] - 1.0
    cov = LedoitWolf().fit(rets).covariance_
    w = member_weights(closes, "risk_parity", 63).weights
    contribution = w * (cov @ w)
    np.testing.assert_allclose(contribution, contribution.mean(), rtol=1e-9)


def test_momentum_holds_the_top_k_risers_of_the_window_equally() -> None:
    days = np.arange(30.0)[:, None]
    closes = 100 * (1 + days * np.array([0.001, 0.004, -0.002, 0.003]))
    np.testing.assert_array_equal(member_weights(closes, "momentum", 20, top_k=2).weights, [0, 0.5, 0, 0.5])
    np.testing.assert_array_equal(member_weights(closes, "momentum", 20).weights, [0, 0.5, 0, 0.5])  # half, up


def test_the_book_splits_sleeve_weights_by_each_dates_member_weights() -> None:
    idx = pd.bdate_range("2020-01-01", periods=120)
    prices = pd.DataFrame(_closes(120, 3), index=idx, columns=["A", "B", "C"])
    cfg = config_from_dict({"sleeves": {"growth": {"members": ["A", "B"], "weigh": "inverse_vol", "lookback": 20},
                                        "bonds": {"C": 1.0}},
                            "strategy": {"weights": {"abundant": {"growth": 1.0}, "tightening": {"bonds": 1.0},
                                                     "crunch": {}}}})
    book = MemberBook(prices, cfg.sleeves)
    dates = idx[[10, 60, 119]]
    sleeve_w = pd.DataFrame({"growth": [0.6, 0.5, 0.2], "bonds": [0.3, 0.5, 0.8], "cash": [0.1, 0.0, 0.0]},
                            index=dates)
    targets = book.targets(sleeve_w)
    inner = book.weights("growth", dates)
    np.testing.assert_allclose(targets[["A", "B"]].to_numpy(), inner.to_numpy() * sleeve_w[["growth"]].to_numpy(),
                               rtol=1e-15)
    np.testing.assert_allclose(targets["C"], sleeve_w["bonds"], rtol=1e-15)
    np.testing.assert_allclose(inner.iloc[0], [0.5, 0.5])  # day 10: 20 days of returns do not exist yet
    assert book.filled("growth", dates).tolist() == [False, True, True]


# -- the backtrader run, its array twin and the sweep screen run the same rules ------------------------------------
TINY = {
    "name": "rules",
    "features": ["ret:GROWTH:2", "ret:MARKET:2", "level:VOLINDEX", "level:CREDITSPREAD"],
    "data": {"source": "synthetic", "benchmark": "MARKET", "macro": ["VOLINDEX", "CREDITSPREAD"],
             "synthetic_years": 4.0},
    "regimes": {"n_init": 1, "refit": "yearly", "min_train_days": 252},
}


def _rule_config(weigh: str) -> object:
    rule = {"members": ["GROWTH", "VALUE", "MARKET"], "weigh": weigh, "lookback": 42}
    if weigh == "momentum":
        rule["top_k"] = 2
    return config_from_dict({**TINY, "sleeves": {"growth": rule, "value": {"VALUE": 1.0},
                                                 "bonds": {"members": ["SHORTBOND", "GOLD"], "weigh": "min_variance"},
                                                 "gold": {"GOLD": 1.0}}})


@pytest.mark.parametrize("weigh", WEIGHS)
def test_the_screen_and_the_array_twin_agree_with_the_backtrader_run_on_every_rule(weigh: str) -> None:
    cfg = _rule_config(weigh)
    run = run_pipeline(cfg)
    _, screened, twin = screen_with_twin(cfg)
    value = run.replay.value.to_numpy()
    assert np.max(np.abs(screened.value / value - 1.0)) <= WHOLE_SHARE_BOUND
    assert screened.n_orders == run.replay.n_orders
    static_twin = run.replay.beside["static_twin"]
    assert np.max(np.abs(twin.value / static_twin.value.to_numpy() - 1.0)) <= WHOLE_SHARE_BOUND
    # and the run did weigh by the rule: member_weights.csv holds the book's weights on every decision
    table = run.member_weights
    assert set(table["sleeve"]) == {"growth", "bonds"}
    np.testing.assert_allclose(table.groupby(["date", "sleeve"])["weight"].sum(), 1.0, rtol=1e-12)
    assert run.metrics["sleeve_rules"]["growth"]["weigh"] == weigh


def test_a_rule_sleeve_differs_from_holding_its_members_equally() -> None:
    ruled = run_pipeline(_rule_config("inverse_vol"))
    equal = run_pipeline(_rule_config("equal"))
    assert abs(ruled.replay.value.iloc[-1] / equal.replay.value.iloc[-1] - 1.0) > 1e-4


# -- sweeps over the rules ------------------------------------------------------------------------------------------
RULE_SWEEP = """
[grid]
"sleeves.growth.weigh" = ["equal", "inverse_vol", "momentum"]
"sleeves.growth.lookback" = [21, 63]
"sleeves.growth.members" = [["GROWTH", "VALUE"], ["GROWTH", "VALUE", "MARKET"]]
"""


def test_a_sweep_varies_how_a_sleeve_weighs_which_members_over_what_window(tmp_path, monkeypatch) -> None:
    from regimeshift.sweep.run import run_sweep
    from regimeshift.sweep.spec import load_spec

    from tests.conftest import small_synthetic_toml

    monkeypatch.setenv("REGIMESHIFT_CACHE", str(tmp_path / "cache"))
    base = small_synthetic_toml(6.0).replace('growth = { GROWTH = 1.0 }',
                                             'growth = { members = ["GROWTH", "VALUE"], weigh = "equal" }')
    (tmp_path / "base.toml").write_text(base)
    (tmp_path / "SWEEP.toml").write_text('base = "base.toml"\n' + RULE_SWEEP)
    spec = load_spec(tmp_path / "SWEEP.toml")
    rules = {(v.config.sleeves["growth"].weigh, v.config.sleeves["growth"].lookback,
              v.config.sleeves["growth"].members) for v in spec.variants}
    assert len(rules) == 12 and ("momentum", 21, ("GROWTH", "VALUE", "MARKET")) in rules
    out = run_sweep(spec, tmp_path / "out", workers=1, top=0, progress=False, report=False)
    assert out.n_screened == 12 and (out.table["status"] == "ok").all()
    # the rules make different portfolios (the equal-weight ones ignore the window: 2 of their 4 are repeats)
    assert out.table["sharpe"].nunique() >= 8


# -- bad input: one line naming the field, exit 2, nothing written -------------------------------------------------
def _run_with_growth(tmp_path, env, growth: dict):
    import tomli_w

    from tests.test_failures import TINY as FAILURE_TINY
    from tests.test_failures import run_cli

    raw = {**FAILURE_TINY, "sleeves": {**FAILURE_TINY["sleeves"], "growth": growth}}
    (tmp_path / "tiny.toml").write_text(tomli_w.dumps(raw), encoding="utf-8")
    return run_cli(["run", str(tmp_path / "tiny.toml"), "--out", str(tmp_path / "out")], tmp_path, env)


@pytest.mark.parametrize(("growth", "expected"), [
    ({"members": ["GROWTH", "VALUE"], "weigh": "magic"},
     "field 'sleeves.growth.weigh': Input should be 'equal', 'inverse_vol', 'min_variance', 'risk_parity' or "
     "'momentum'"),
    ({"members": ["GROWTH", "VALUE"], "weigh": "momentum", "top_k": 3},
     "field 'sleeves.growth.top_k': top_k = 3 is above the member count (2: GROWTH, VALUE)"),
    ({"members": ["GROWTH", "NOPE"], "weigh": "inverse_vol"},
     "sleeves.growth.members: 'NOPE' is not in the synthetic market"),
    ({"members": ["GROWTH", "VALUE"], "weigh": "risk_parity", "lookback": 5000},
     "sleeves.growth.lookback: 5000 trading days is longer than the history (1008 days of prices"),
], ids=["unknown weigh", "top_k above the members", "member without data", "lookback beyond the history"])
def test_a_bad_rule_is_one_line_naming_the_field_exit_2_nothing_written(tmp_path, growth, expected) -> None:
    from tests.test_failures import _env, assert_no_output, assert_one_error

    ran = _run_with_growth(tmp_path, _env(tmp_path / "cache"), growth)
    assert_one_error(ran, 2, expected)
    assert_no_output(tmp_path / "out")


def test_a_member_without_a_price_file_names_the_field_and_the_file(tmp_path) -> None:
    import tomli_w

    from tests.test_failures import _env, _prices, assert_no_output, assert_one_error, run_cli

    data = tmp_path / "data"
    data.mkdir()
    (data / "AAA.csv").write_text("Date,Close\n" + "".join(f"{d},{p}\n" for d, p in _prices()), encoding="utf-8")
    cfg = {"name": "csv", "features": ["ret:AAA:2"], "data": {"dir": str(data), "benchmark": "AAA", "min_rows": 60},
           "sleeves": {"growth": {"members": ["AAA", "BBB"], "weigh": "inverse_vol", "lookback": 20}},
           "strategy": {"weights": {"abundant": {"growth": 1.0}, "tightening": {"growth": 0.5}, "crunch": {}}},
           "regimes": {"n_init": 1, "refit": "yearly", "min_train_days": 60}}
    (tmp_path / "csv.toml").write_text(tomli_w.dumps(cfg), encoding="utf-8")
    ran = run_cli(["run", str(tmp_path / "csv.toml"), "--out", str(tmp_path / "out")], tmp_path, _env(tmp_path / "c"))
    assert_one_error(ran, 2, "sleeves.growth.members: BBB has no data (BBB.csv: file not found in ")
    assert_no_output(tmp_path / "out")


# -- the README's worked example -------------------------------------------------------------------------------------
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "rule_sleeves.toml"


def test_the_rule_sleeve_example_is_what_the_readme_shows_on_the_ten_etfs() -> None:
    from regimeshift.backtests.config import load_config

    assert EXAMPLE.read_text() in (EXAMPLE.parents[1] / "README.md").read_text()
    cfg = load_config(EXAMPLE)
    assert sorted(s for spec in cfg.sleeves.values() for s in spec.members) == sorted(
        ["QQQ", "VUG", "IWF", "DVY", "VYM", "SCHD", "SHY", "VGSH", "GLD", "IAU"])
    assert [spec.weigh for spec in cfg.sleeves.values()] == ["momentum", "inverse_vol", "min_variance", "equal"]


@requires_shared
@pytest.mark.realdata
def test_the_rule_sleeve_example_runs_and_writes_each_decisions_member_weights(tmp_path, shared_data) -> None:
    import regimeshift as rs

    out = rs.run(EXAMPLE, data_dir=shared_data).write(tmp_path / "run", report=False)
    table = pd.read_csv(out / "member_weights.csv")
    assert list(table.columns) == ["date", "sleeve", "symbol", "weight", "rule"]
    assert set(table["sleeve"]) == {"growth", "value", "bonds", "gold"}
    # the CSV keeps 10 significant digits: three thirds add up to 0.9999999999
    np.testing.assert_allclose(table.groupby(["date", "sleeve"])["weight"].sum(), 1.0, rtol=0, atol=1e-9)
    growth = table[table["sleeve"] == "growth"]
    held = growth.groupby(["date", "rule"])["weight"].apply(lambda w: int((w > 0).sum())).reset_index()
    # the prices start on 2012-01-03: until 126 days of returns exist the three are held equally, and it says so;
    # from then on momentum holds its top two
    assert set(held.loc[held["rule"] == "momentum", "weight"]) == {2}
    early = held[held["rule"] == "equal (lookback not filled)"]
    assert set(early["weight"]) == {3} and early["date"].max() < held.loc[held["rule"] == "momentum", "date"].min()
    metrics = json.loads((out / "metrics.json").read_text())["sleeve_rules"]["growth"]
    assert metrics["equal_fallback_decisions"] == len(early) > 0


# -- a universe of any size ------------------------------------------------------------------------------------------
def test_the_synthetic_universe_is_deterministic_with_its_members_in_four_sleeves() -> None:
    from regimeshift.data.synthetic import generate_universe

    a, sleeves = generate_universe(60, seed=3, years=2.0)
    b, _ = generate_universe(60, seed=3, years=2.0)
    pd.testing.assert_frame_equal(a.prices, b.prices)
    assert {k: len(v) for k, v in sleeves.items()} == {"growth": 15, "value": 15, "bonds": 15, "gold": 15}
    assert (a.prices[list(sleeves["growth"])].iloc[0] == 100.0).all()
    assert sleeves["bonds"][0] == "SHORTBOND01" and a.prices.notna().all().all()


def test_a_60_asset_universe_runs_end_to_end_and_its_tearsheet_lists_members_by_sleeve(tmp_path) -> None:
    from regimeshift.data.market import MarketData
    from regimeshift.data.synthetic import generate_universe
    from regimeshift.outputs import write_outputs
    from regimeshift.report_stage import render_run

    market, sleeves = generate_universe(60, years=4.0)
    cfg = config_from_dict({**TINY, "name": "universe", "report": {"shock_date": "", "timing_resamples": 100},
                            "sleeves": {name: {"members": list(members), "weigh": "inverse_vol"}
                                        for name, members in sleeves.items()}})
    run = run_pipeline(cfg, market=MarketData(prices=market.prices, macro=market.macro))
    out = tmp_path / "run"
    write_outputs(run, out, render_run)
    page = (out / "tearsheet.html").read_text()
    assert len(set(run.replay.trades["symbol"])) == 60
    # the header names each sleeve's rule in a line, the members table lists all sixty
    assert "growth: 15 members (weighed by inverse_vol over 63 days at each decision)" in page
    members = page[page.index('id="members-table"'):]
    members = members[: members.index("</table>")]
    assert all(f"{sym} " in members for names in sleeves.values() for sym in names)
    assert len(pd.read_csv(out / "member_weights.csv")["symbol"].unique()) == 60


@pytest.mark.parametrize("weigh", ["min_variance", "risk_parity"])
def test_a_window_too_short_for_a_covariance_holds_members_equally_and_says_so(weigh) -> None:
    closes = _closes(80, 2, 0)
    two_returns = member_weights(closes[:3], weigh, lookback=2)  # rank-one covariance: no optimum
    assert two_returns.weights.tolist() == [0.5, 0.5] and not two_returns.filled
    assert member_weights(closes[:40], weigh, lookback=30).filled
