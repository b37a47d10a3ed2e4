"""The data store: a folder of CSVs imported into it reads back identically; `data update` fetches whole series
once and then only their tail; a vendor restatement rewrites the series whole and is logged; a vendor failure is
one line naming the series, exit 3, and leaves that series byte for byte as it was while the others are updated.
No test touches the network."""
from __future__ import annotations

import datetime
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from regimeshift.backtests.config import load_config, with_overrides
from regimeshift.data.store.store import Store, StoreSource, import_csv_folder
from regimeshift.data.store.update import IncompleteUpdate, Wanted, freshness, update_store
from regimeshift.pipeline import load_stage
from tests.conftest import REPO, requires_shared
from tests.vendors import RecordedYahoo

NOW = datetime.datetime(2020, 12, 7, 22, 30)
AFTER_RECORDING = datetime.datetime(2020, 12, 11, 22, 30)  # the recorded vendors' last day: nothing fetched is later
WANTED = [Wanted("SPY", "price", "yahoo", "SPY"), Wanted("GLD", "price", "yahoo", "GLD"),
          Wanted("VIX", "macro", "fred", "VIXCLS")]

STORE_CONFIG = """
name = "store_demo"
features = ["vol:SPY:21", "ret:SPY:21", "level:VIX"]
[data]
source = "store"
dir = "{store}"
benchmark = "SPY"
macro = ["VIX"]
min_rows = 100
[sleeves]
growth = {{ SPY = 1.0 }}
bonds = {{ SHY = 1.0 }}
gold = {{ GLD = 1.0 }}
[regimes]
names = ["calm", "stress"]
covariance_type = "diag"
n_init = 1
n_iter = 50
min_train_days = 150
refit = "quarterly"
[strategy.weights]
calm = {{ growth = 0.8, bonds = 0.2 }}
stress = {{ bonds = 0.8, gold = 0.2 }}
[execution]
rebalance = "weekly"
"""


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory, shared_data) -> Path:
    """../shared/data imported into a store (once for the module)."""
    store = tmp_path_factory.mktemp("shared") / "store"
    import_csv_folder(shared_data, Store(store), NOW)
    return store


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}


# -- import: a CSV folder as a store ------------------------------------------------------------------------------
@requires_shared
@pytest.mark.realdata
@pytest.mark.parametrize("config", ["liquidity_rotation.toml", "next_open_2020.toml"])
def test_shared_data_imported_into_a_store_loads_exactly_as_the_csv_folder(shared_store, shared_data, config):
    store = shared_store
    cfg = with_overrides(load_config(REPO / "backtests" / "configs" / config), dir=str(shared_data))
    from_csv = load_stage(cfg)
    from_store = load_stage(with_overrides(cfg, source="store", dir=str(store)))
    for part in ("prices", "macro", "opens"):
        a, b = getattr(from_csv, part), getattr(from_store, part)
        assert (a is None) == (b is None), part
        if a is not None:
            pd.testing.assert_frame_equal(a, b, check_exact=True)  # bit for bit: same numbers, same lags
    assert (from_csv.history is None) == (from_store.history is None)
    if from_csv.history is not None:
        pd.testing.assert_frame_equal(from_csv.history.prices, from_store.history.prices, check_exact=True)
        pd.testing.assert_frame_equal(from_csv.history.macro, from_store.history.macro, check_exact=True)


def test_a_folder_that_is_not_a_store_is_one_clear_line(tmp_path):
    runner = CliRunner()
    res = runner.invoke(__import__("regimeshift.cli.app", fromlist=["main"]).main,
                        ["data", "show", "--store", str(tmp_path)])
    assert res.exit_code == 2
    assert res.output.strip().count("\n") == 0 and "not a data store" in res.output


# -- update: whole once, then the tail -------------------------------------------------------------------------------
def test_first_update_fetches_whole_series_then_only_the_missing_tail(tmp_path, fred):
    yahoo, store = RecordedYahoo(), Store(tmp_path / "store")
    yahoo.published = fred.published = "2020-12-07"
    report = update_store(store, WANTED, NOW, fred_url=fred.url, download=yahoo)
    assert sorted(report.created) == ["GLD", "SPY", "VIX"]
    manifest = store.manifest()["series"]
    assert manifest["SPY"]["last"] == "2020-12-07" and manifest["VIX"]["source"] == "fred"
    assert set(manifest["SPY"]) >= {"source", "fetched_at", "first", "last", "rows", "sha256"}
    assert list(store.frame("SPY").columns) == ["value", "open", "raw_open", "high", "low", "close", "volume",
                                                "dividends", "splits"]
    assert fred.requests[-1] == {"id": "VIXCLS"}  # whole history: no start date asked

    yahoo.published = fred.published = "2020-12-09"
    report = update_store(store, WANTED, NOW + datetime.timedelta(days=2), fred_url=fred.url, download=yahoo)
    assert report.appended == {"SPY": 2, "GLD": 2, "VIX": 2} and not report.restated
    assert fred.requests[-1]["cosd"] < "2020-12-07"  # the tail, from a few stored days back (the overlap)
    assert yahoo.calls[-1][1] is not None and yahoo.calls[-1][1] < "2020-12-07"
    whole = RecordedYahoo()("SPY", None)
    spy = store.frame("SPY")
    assert spy.index[-1] == pd.Timestamp("2020-12-09")
    assert spy["value"].tolist() == whole["Adj Close"][: len(spy)].tolist()  # appended, not re-scaled


def test_a_new_dividend_restates_adjusted_history_and_the_series_is_rewritten_whole_and_logged(tmp_path, fred):
    yahoo, store = RecordedYahoo(), Store(tmp_path / "store")
    yahoo.published = fred.published = "2020-12-07"
    update_store(store, WANTED, NOW, fred_url=fred.url, download=yahoo)
    yahoo.published = fred.published = "2020-12-08"
    yahoo.dividend("SPY", "2020-12-08", 0.99)  # every earlier adjusted close scaled by 0.99
    fred.revise["VIXCLS"] = {"2020-12-04": "99.99"}  # FRED revised one print inside the overlap
    report = update_store(store, WANTED, NOW, fred_url=fred.url, download=yahoo)
    assert set(report.restated) == {"SPY", "VIX"} and report.appended == {"GLD": 1}
    spy = store.frame("SPY")
    assert spy["value"].tolist() == yahoo("SPY", None)["Adj Close"].tolist()  # one scale, start to end
    assert report.restated["SPY"]["changed"] == len(spy) - 1
    assert report.restated["SPY"]["max_rel_change"] == pytest.approx(0.01)
    assert store.frame("VIX").loc["2020-12-04", "value"] == 99.99
    log = [json.loads(x) for x in (store.root / "changes.log").read_text().splitlines()]
    restated = {e["series"]: e for e in log if e["event"] == "restated"}
    assert restated["VIX"]["examples"] == [["2020-12-04", 20.79, 99.99]]


# -- failures: one line, exit 3, the failing series unchanged, the others updated ------------------------------------
def series_files(store: Store, name: str) -> tuple[bytes, dict]:
    """What a reader sees of one series: its Parquet bytes and its manifest entry."""
    return (store.root / "series" / f"{name}.parquet").read_bytes(), store.entry(name)


@pytest.mark.parametrize("failure, words", [
    (404, "HTTP 404"), (429, "HTTP 429"), (500, "HTTP 500"), ("empty", "empty response"),
    ("truncated", "truncated"), ("drop", "truncated"), ("html", "not FRED CSV"),
])
def test_a_fred_failure_is_one_line_and_leaves_the_store_unchanged(tmp_path, fred, failure, words):
    yahoo, store = RecordedYahoo(), Store(tmp_path / "store")
    yahoo.published = fred.published = "2020-12-07"
    update_store(store, WANTED, NOW, fred_url=fred.url, download=yahoo)
    before = snapshot(store.root)
    yahoo.published = fred.published = "2020-12-09"
    fred.fail = failure
    with pytest.raises(IncompleteUpdate) as err:
        update_store(store, WANTED, NOW + datetime.timedelta(days=2), fred_url=fred.url, download=yahoo)
    assert "FRED VIXCLS" in str(err.value) and words in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith("data update failed: VIX (FRED VIXCLS")
    assert str(err.value).endswith("the store is as it was (--keep-going stores the series that did fetch)")
    assert snapshot(store.root) == before  # every file, the manifest and the change log included
    assert not err.value.committed and err.value.report.appended == {}


def test_with_keep_going_a_fred_failure_leaves_only_that_series_unchanged(tmp_path, fred):
    yahoo, store = RecordedYahoo(), Store(tmp_path / "store")
    yahoo.published = fred.published = "2020-12-07"
    update_store(store, WANTED, NOW, fred_url=fred.url, download=yahoo)
    before = series_files(store, "VIX")
    yahoo.published = fred.published = "2020-12-09"
    fred.fail = 500
    with pytest.raises(IncompleteUpdate) as err:
        update_store(store, WANTED, NOW + datetime.timedelta(days=2), fred_url=fred.url, download=yahoo, keep_going=True)
    assert str(err.value).startswith("data update incomplete: VIX failed")
    assert series_files(store, "VIX") == before
    assert store.entry("SPY")["last"] == store.entry("GLD")["last"] == "2020-12-09"  # the others still landed
    assert err.value.committed and err.value.report.appended == {"SPY": 2, "GLD": 2}


def _first_cli_update(tmp_path: Path, fred, monkeypatch, macro: str = '["VIX"]'):  # type: ignore[no-untyped-def]
    """A store config (macro series ``macro``) and its first `data update` on 2020-12-07, through the CLI with
    recorded Yahoo frames: (config, store folder, the recorded Yahoo, the CLI result)."""
    from regimeshift import store_tasks
    from regimeshift.cli.app import main

    store = tmp_path / "store"
    config = tmp_path / "demo.toml"
    config.write_text(STORE_CONFIG.format(store=store).replace('macro = ["VIX"]', f"macro = {macro}"))
    yahoo = RecordedYahoo()
    monkeypatch.setattr(store_tasks, "YAHOO_DOWNLOAD", yahoo)
    yahoo.published = fred.published = "2020-12-07"
    first = CliRunner().invoke(main, ["data", "update", str(config), "--fred-url", fred.url, "--today", "2020-12-07"])
    return config, store, yahoo, first


def test_one_series_answering_500_beside_one_answering_200_is_left_alone_and_named(tmp_path, fred, monkeypatch):
    """`data update` with FRED failing one series: the good one is committed, the bad one stays as it was, the
    bad one is named on its own line and in the final error line, exit 3; the store loads, each series whole."""
    from regimeshift.cli.app import main

    fred.record("DGS2")
    config, store, yahoo, first = _first_cli_update(tmp_path, fred, monkeypatch, macro='["VIX", "DGS2"]')
    runner = CliRunner()
    assert first.exit_code == 0, first.output
    st = Store(store)
    vix_before = series_files(st, "VIX")
    yahoo.published = fred.published = "2020-12-09"
    fred.fail = {"VIXCLS": 500}
    res = runner.invoke(main, ["data", "update", str(config), "--fred-url", fred.url, "--today", "2020-12-09",
                               "--keep-going"])
    assert res.exit_code == 3
    lines = res.output.strip().splitlines()
    assert f"failed  VIX: FRED VIXCLS: HTTP 500 (server error: retry later) from {fred.url} (left as it was)" in lines
    assert "updated DGS2: +2 rows" in lines and "updated SPY: +2 rows" in lines
    assert lines[-1].startswith("error: data update incomplete: VIX failed and was left as it was (FRED VIXCLS: "
                                "HTTP 500") and lines[-1].endswith("the other 4 series were updated")
    assert sum(line.startswith("error:") for line in lines) == 1
    assert series_files(st, "VIX") == vix_before
    assert st.entry("DGS2")["last"] == "2020-12-09"
    for name in st.names():  # every series loads and matches its manifest entry (old or new, never a mix)
        assert str(st.frame(name).index[-1].date()) == st.entry(name)["last"]
    assert [json.loads(x)["series"] for x in (store / "changes.log").read_text().splitlines()
            if json.loads(x)["event"] == "appended"] == ["SPY", "SHY", "GLD", "DGS2"]  # VIX: no line
    fred.fail = None  # the next evening the vendor is back: the failed series catches up
    again = runner.invoke(main, ["data", "update", str(config), "--fred-url", fred.url, "--today", "2020-12-09"])
    assert again.exit_code == 0 and "updated VIX: +2 rows" in again.output


def test_unknown_symbols_and_unreachable_vendors_are_one_line_each(tmp_path, fred):
    store = Store(tmp_path / "store")
    with pytest.raises(IncompleteUpdate, match=r"NOPE \(Yahoo NOPE: no rows returned \(unknown symbol"):
        update_store(store, [Wanted("NOPE", "price", "yahoo", "NOPE")], AFTER_RECORDING, download=RecordedYahoo())
    with pytest.raises(IncompleteUpdate, match=r"X \(FRED NOSUCH: HTTP 404"):
        update_store(store, [Wanted("X", "macro", "fred", "NOSUCH")], AFTER_RECORDING, fred_url=fred.url)
    yahoo = RecordedYahoo()
    yahoo.fail = ConnectionError("Failed to resolve 'query2.finance.yahoo.com'")
    with pytest.raises(IncompleteUpdate, match=r"\(Yahoo SPY: download failed \(Failed to resolve"):
        update_store(store, WANTED[:1], AFTER_RECORDING, download=yahoo)
    closed = "http://127.0.0.1:9/fredgraph.csv"  # discard port: nothing listens
    with pytest.raises(IncompleteUpdate, match=r"\(FRED VIXCLS: network error"):
        update_store(store, WANTED[2:], AFTER_RECORDING, fred_url=closed)
    assert not store.exists()
    # an unknown symbol among good ones: nothing is stored by default; with keep_going the good ones are
    both = [WANTED[0], Wanted("NOPE", "price", "yahoo", "NOPE")]
    with pytest.raises(IncompleteUpdate, match=r"^data update failed: NOPE \(Yahoo NOPE: no rows returned"):
        update_store(store, both, AFTER_RECORDING, download=RecordedYahoo())
    assert not store.exists()
    with pytest.raises(IncompleteUpdate, match=r"^data update incomplete: NOPE failed .*; the other 1 series was"):
        update_store(store, both, AFTER_RECORDING, download=RecordedYahoo(), keep_going=True)
    assert store.names() == ["SPY"]


def test_cli_update_failure_exits_3_with_one_error_line_and_show_flags_stale_series(tmp_path, fred, monkeypatch):
    from regimeshift.cli.app import main

    config, store, yahoo, ok = _first_cli_update(tmp_path, fred, monkeypatch)
    runner = CliRunner()
    assert ok.exit_code == 0, ok.output
    assert "new     SHY: 384 rows" in ok.output
    fred.fail = 500
    vix = series_files(Store(store), "VIX")
    bad = runner.invoke(main, ["data", "update", str(config), "--fred-url", fred.url, "--today", "2020-12-07"])
    assert bad.exit_code == 3
    lines = bad.output.strip().splitlines()
    assert lines[-1] == (f"error: data update failed: VIX (FRED VIXCLS: HTTP 500 (server error: retry later) from "
                         f"{fred.url}); nothing was stored, the store is as it was (--keep-going stores the series "
                         f"that did fetch)")
    assert [x for x in lines if x.startswith("error")] == lines[-1:]
    assert series_files(Store(store), "VIX") == vix
    shown = runner.invoke(main, ["data", "show", "--store", str(store), "--today", "2020-12-14", "--fail-stale"])
    assert shown.exit_code == 3
    assert "stale: GLD, SHY, SPY, VIX" in shown.output
    fresh = runner.invoke(main, ["data", "show", str(config), "--today", "2020-12-08"])
    assert fresh.exit_code == 0 and "STALE" not in fresh.output


def test_freshness_allows_each_series_its_cadence_and_publication_lag(tmp_path, fred):
    yahoo, store = RecordedYahoo(), Store(tmp_path / "store")
    yahoo.published, fred.published = "2020-12-08", "2020-12-07"
    update_store(store, WANTED, NOW, fred_url=fred.url, download=yahoo)
    ages = {f.name: f for f in freshness(store, datetime.date(2020, 12, 9), {"VIX": 1})}
    assert (ages["SPY"].age, ages["SPY"].allowed) == (1, 2)  # daily close: due the same evening, one day grace
    assert (ages["VIX"].age, ages["VIX"].allowed) == (2, 3)  # a FRED print appears a business day later
    assert not any(f.stale for f in ages.values())
    assert all(f.stale for f in freshness(store, datetime.date(2020, 12, 14)))


def test_store_source_refuses_a_tampered_series(tmp_path, fred):
    store = Store(tmp_path / "store")
    update_store(store, WANTED[:1], AFTER_RECORDING, download=RecordedYahoo())
    path = store.root / "series" / "SPY.parquet"
    frame = pd.read_parquet(path)
    frame.loc[3, "value"] *= 2
    frame.to_parquet(path, index=False)
    with pytest.raises(Exception, match="does not match the manifest's hash"):
        StoreSource(store).price("SPY", min_rows=1, with_open=False)


def test_a_run_on_an_imported_store_equals_the_run_on_its_csv_folder(tmp_path, monkeypatch):
    from regimeshift.backtests.config import config_from_dict
    from regimeshift.cli.app import main
    from regimeshift.pipeline import run_pipeline

    monkeypatch.setenv("REGIMESHIFT_CACHE", "off")
    folder = tmp_path / "csv"
    folder.mkdir()
    yahoo = RecordedYahoo()
    for sym in ("SPY", "SHY", "GLD"):  # Yahoo-style files: Date, Open, Close, Adj Close (the loader scales opens)
        frame = yahoo(sym, None)
        frame.index = frame.index.strftime("%Y-%m-%d")
        frame[["Open", "Close", "Adj Close"]].to_csv(folder / f"{sym}.csv", index_label="Date")
    (folder / "VIX.csv").write_text((Path(__file__).parent / "recorded" / "fred_VIXCLS.csv").read_text())
    store = tmp_path / "store"
    res = CliRunner().invoke(main, ["data", "import", str(folder), "--store", str(store)])
    assert res.exit_code == 0 and res.output.startswith("imported 4 series"), res.output
    import tomllib

    raw = tomllib.loads(STORE_CONFIG.format(store=store))
    on_store = run_pipeline(config_from_dict(raw))
    raw["data"].update(source="csv", dir=str(folder))
    on_csv = run_pipeline(config_from_dict(raw))
    pd.testing.assert_frame_equal(on_store.returns, on_csv.returns, check_exact=True)
    pd.testing.assert_frame_equal(on_store.regimes.probabilities, on_csv.regimes.probabilities, check_exact=True)
    assert on_store.market.opens is not None  # the opens came through the store too
    differ = {k for k in on_csv.metrics if on_store.metrics[k] != on_csv.metrics[k]}
    assert differ == {"config_hash"}  # data.source and data.dir are part of the config; every figure is the same


def test_store_and_data_dir_together_are_refused(tmp_path):
    from regimeshift.cli.app import main

    res = CliRunner().invoke(main, ["run", "--store", str(tmp_path), "--data-dir", str(tmp_path)])
    assert res.exit_code == 2
    assert res.output.strip() == "error: --store and --data-dir: give one of them (a store or a folder of CSVs)"
