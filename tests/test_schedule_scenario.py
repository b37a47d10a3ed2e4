"""Done means: five evenings of `regimeshift schedule` on a test clock. Each evening the (loopback) vendors publish
one more day; on Wednesday Yahoo restates SPY's adjusted history (a dividend) and FRED revises a VIX print; on
Thursday FRED answers HTTP 500 (the prices still land, VIX stays as it was, no signal that evening). After every
evening the store, the registry, the signals log and the account's orders are checked; at the end Tuesday's
decision -- taken on data since restated -- is reproduced bit for bit."""
from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regimeshift.data.store.store import Store
from regimeshift.live.registry import decisions, load_fit, reproduce
from regimeshift.live.schedule import LiveJob, drive, read_log
from tests.test_store import STORE_CONFIG, snapshot
from tests.vendors import FredServer, RecordedYahoo


def test_five_evenings_of_update_then_signal(tmp_path: Path, fred: FredServer, monkeypatch) -> None:
    monkeypatch.setenv("REGIMESHIFT_CACHE", str(tmp_path / "cache"))
    store, live = tmp_path / "store", tmp_path / "live"
    config = tmp_path / "demo.toml"
    config.write_text(STORE_CONFIG.format(store=store))
    holdings = tmp_path / "holdings.csv"
    holdings.write_text("symbol,quantity\nSPY,100\nSHY,50\nCASH,20000\n")
    yahoo = RecordedYahoo()
    job = LiveJob(config, out=live, holdings=holdings, min_trade=100.0, fred_url=fred.url, download=yahoo, wait=5,
                  keep_going=True)  # Thursday's prices land although its VIX fails
    seen: dict[str, dict] = {}

    def publish(evening: datetime.datetime) -> None:
        day = str(evening.date())
        yahoo.published = fred.published = day
        fred.fail = 500 if day == "2020-12-10" else None
        if day == "2020-12-09":
            yahoo.dividend("SPY", day, 0.99)
            fred.revise["VIXCLS"] = {"2020-12-04": "21.50"}

    def evening(t: datetime.datetime) -> dict:
        record = job(t)
        files = {**snapshot(store), **{f"live/{k}": v for k, v in snapshot(live).items() if k != "schedule.log"}}
        seen[str(t.date())] = files
        return record

    records = drive(evening, "30 22 * * 1-5", datetime.datetime(2020, 12, 6),
                    datetime.datetime(2020, 12, 11, 23, 59), before=publish)

    # the scheduler fired once per weekday evening, at 22:30, and went on after the failed Thursday
    assert [r["at"] for r in records] == [f"2020-12-{d:02d}T22:30:00" for d in (7, 8, 9, 10, 11)]
    assert [r["status"] for r in records] == ["ok", "ok", "ok", "failed", "ok"]
    assert [r.get("as_of") for r in records] == ["2020-12-07", "2020-12-08", "2020-12-09", None, "2020-12-11"]
    assert records[3]["exit"] == 3 and records[3]["stage"] == "update"
    assert records[3]["error"].startswith("data update incomplete: VIX failed and was left as it was (FRED VIXCLS: "
                                          "HTTP 500")
    assert list(records[3]["failed"]) == ["VIX"] and records[3]["failed"]["VIX"].startswith("FRED VIXCLS: HTTP 500")
    assert "updated SPY: +1 row" in records[3]["update"]  # the good series were committed all the same
    assert read_log(live) == json.loads(json.dumps(records))  # every run logged, the failure included

    # store: Monday fetched whole histories, later evenings only tails; Wednesday rewrote SPY and VIX whole
    st = Store(store)
    assert records[0]["update"][0].startswith("new     SPY")
    assert "updated SPY: +1 row" in records[1]["update"]
    assert any(x.startswith("restated SPY: ") for x in records[2]["update"])
    assert any(x.startswith("restated VIX: 1 stored day(s) changed (2020-12-04") for x in records[2]["update"])
    assert "updated GLD: +1 row" in records[4]["update"]  # Thursday's prices landed on Thursday...
    assert "updated VIX: +2 rows" in records[4]["update"]  # ...its VIX print arrived with Friday's
    assert {n: st.entry(n)["last"] for n in ("SPY", "SHY", "GLD", "VIX")} == dict.fromkeys(
        ("SPY", "SHY", "GLD", "VIX"), "2020-12-11")
    spy = st.frame("SPY")["value"]
    assert spy.tolist() == yahoo("SPY", "2019-01-01")["Adj Close"].tolist()  # one scale throughout
    log = [json.loads(x) for x in (store / "changes.log").read_text().splitlines()]
    assert [e["series"] for e in log if e["event"] == "restated"] == ["SPY", "VIX"]
    assert len(st.versions("SPY")) == 2  # the pre-dividend version is kept for reproduction

    # Thursday's failure left VIX and the live folder as they were (and was logged); the prices moved on
    live_files = {day: {k: v for k, v in files.items() if k.startswith("live/")} for day, files in seen.items()}
    assert live_files["2020-12-10"] == live_files["2020-12-09"]
    assert seen["2020-12-10"]["series/VIX.parquet"] == seen["2020-12-09"]["series/VIX.parquet"]
    assert seen["2020-12-10"]["series/SPY.parquet"] != seen["2020-12-09"]["series/SPY.parquet"]
    assert seen["2020-12-11"] != seen["2020-12-10"]

    # registry: one decision per good evening, each naming its fit, config and data
    entries = decisions(live)
    assert [e["as_of"] for e in entries] == ["2020-12-07", "2020-12-08", "2020-12-09", "2020-12-11"]
    for e, r in zip(entries, [records[i] for i in (0, 1, 2, 4)], strict=True):
        assert e["fit_id"] == r["fit_id"] and e["regime"] == r["regime"]
        arrays, fit = load_fit(live, e["fit_id"])
        assert set(arrays) >= {"startprob", "transmat", "means", "covars"}
        assert {"loglik", "converged", "n_iter", "train_first", "train_last", "n_train", "data_hash"} <= set(fit)
        assert np.isfinite(fit["loglik"]) and fit["train_last"] <= e["as_of"]
        assert e["series"]["SPY"]["last"] == e["as_of"]
    assert len({e["data_hash"] for e in entries}) == 4

    # signals log: one row per good evening, each with the fit that produced it
    signals = pd.read_csv(live / "signals.csv")
    assert signals["date"].tolist() == ["2020-12-07", "2020-12-08", "2020-12-09", "2020-12-11"]
    assert signals["fit_id"].tolist() == [e["fit_id"] for e in entries]

    # orders for the account: whole shares, sells before buys, for Friday's targets
    orders = pd.read_csv(live / "orders.csv")
    plan = json.loads((live / "orders.json").read_text())
    assert plan["as_of"] == "2020-12-11" and plan["fit_id"] == entries[-1]["fit_id"]
    assert (orders["shares"] == orders["shares"].round()).all()
    sides = orders["side"].tolist()
    assert sides == sorted(sides, key=lambda s: s != "sell")
    assert (orders["notional"] >= 100.0).all()
    assert sum(plan["weights_after"].values()) == pytest.approx(1.0)

    # Tuesday's decision was taken on SPY before the restatement: reproduced bit for bit from the store
    assert reproduce(live, entries[1]) == []
    from click.testing import CliRunner

    from regimeshift.cli.app import main

    listing = CliRunner().invoke(main, ["registry", str(live)])
    assert listing.exit_code == 0 and listing.output.count("\n") == 5 and entries[1]["fit_id"] in listing.output


@pytest.mark.parametrize("field, days", [
    ("1-5", "mon,tue,wed,thu,fri"), ("0", "sun"), ("7", "sun"), ("6,0", "sat,sun"), ("*/2", "sun,tue,thu,sat"),
    ("mon-fri", "mon-fri"),
])
def test_cron_weekdays_mean_what_they_mean_in_crontab(field, days):
    # APScheduler 3 counts weekdays from Monday = 0: passed through, "1-5" would run Tuesday to Saturday
    from regimeshift.live.schedule import crontab_weekdays

    assert crontab_weekdays(field) == days


def test_a_bad_cron_expression_is_one_line_exit_2(tmp_path):
    from click.testing import CliRunner

    from regimeshift.cli.app import main

    config = tmp_path / "demo.toml"
    config.write_text(STORE_CONFIG.format(store=tmp_path / "store"))
    res = CliRunner().invoke(main, ["schedule", str(config), "--cron", "30 22 * *"])
    assert res.exit_code == 2
    assert res.output.startswith("error: --cron: '30 22 * *' is not a crontab expression") and res.output.count("\n") == 1
