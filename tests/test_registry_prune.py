"""`regimeshift registry LIVE --prune --keep N`: the registry keeps the N newest fits and every fit signals.csv
names; after pruning every logged decision still resolves to its fit and reproduces bit for bit, and the fits
nothing logged refers to (with their decisions and configs) are gone. Bad input is one line."""
from __future__ import annotations

import csv
import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from regimeshift.backtests.config import load_config
from regimeshift.data.store.store import Store
from regimeshift.data.store.update import update_store
from regimeshift.cli.app import main
from regimeshift.live.signal import run_signal
from regimeshift.live.registry import decisions, load_fit, reproduce
from tests.test_store import STORE_CONFIG
from tests.test_store_safety import ALL, NOW
from tests.vendors import RecordedYahoo


def signal_until(tmp_path: Path, store: Path, live: Path, end: str, log: bool, minute: int) -> str:
    path = tmp_path / f"until_{end}.toml"
    path.write_text(STORE_CONFIG.format(store=store).replace('macro = ["VIX"]', f'macro = ["VIX"]\nend = "{end}"'))
    outcome = run_signal(load_config(path), live, log=log, now=NOW + datetime.timedelta(minutes=minute))
    assert outcome.entry is not None
    return str(outcome.entry["fit_id"])


def test_prune_keeps_the_newest_and_every_logged_fit_and_each_logged_decision_reproduces(tmp_path, fred,
                                                                                         monkeypatch):
    monkeypatch.setenv("REGIMESHIFT_CACHE", str(tmp_path / "cache"))
    store, live = tmp_path / "store", tmp_path / "live"
    update_store(Store(store), ALL, NOW, fred_url=fred.url, download=RecordedYahoo())
    # four evenings in four quarters (quarterly refits: four fits); two were logged, two were trial runs
    q1 = signal_until(tmp_path, store, live, "2020-03-13", False, 0)
    q2 = signal_until(tmp_path, store, live, "2020-06-15", True, 1)
    q3 = signal_until(tmp_path, store, live, "2020-08-14", False, 2)
    q4 = signal_until(tmp_path, store, live, "2020-12-11", True, 3)
    assert len({q1, q2, q3, q4}) == 4

    res = CliRunner().invoke(main, ["registry", str(live), "--prune", "--keep", "1"])
    assert res.exit_code == 0, res.output
    assert res.output == ("pruned 2 fit(s), 2 decision(s), 2 config(s); kept 1 newest fit(s) and 1 older one(s) "
                          "that signals.csv names\n")
    fits = live / "registry" / "fits"
    assert sorted(p.name for p in fits.iterdir()) == sorted([q2, q4])  # q3 is newer than q2 but unlogged: gone
    kept = decisions(live)
    assert [(e["as_of"], e["fit_id"]) for e in kept] == [("2020-06-15", q2), ("2020-12-11", q4)]
    configs = {p.stem for p in (live / "registry" / "configs").glob("*.toml")}
    assert configs == {e["config_hash"] for e in kept}

    with open(live / "signals.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["date"] for r in rows] == ["2020-06-15", "2020-12-11"]
    for row in rows:  # every logged decision resolves to its entry and its fit, and reproduces bit for bit
        entry = next(e for e in kept if e["as_of"] == row["date"] and e["data_hash"].startswith(row["data_hash"]))
        assert entry["fit_id"] == row["fit_id"]
        load_fit(live, row["fit_id"])
        assert reproduce(live, entry) == []

    shown = CliRunner().invoke(main, ["registry", str(live), "--reproduce", "2020-12-11", "--progress"])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith("2020-12-11: reproduced bit for bit")
    assert "load:" in shown.stderr and "regimes:" in shown.stderr  # a scheduler's log sees the re-run's stages
    quiet = CliRunner().invoke(main, ["registry", str(live), "--reproduce", "2020-12-11", "--progress", "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == ""

    again = CliRunner().invoke(main, ["registry", str(live), "--prune", "--keep", "1"])  # nothing more to do
    assert again.exit_code == 0 and again.output.startswith("pruned 0 fit(s), 0 decision(s), 0 config(s)")
    assert not list(live.glob(".journal*"))


@pytest.mark.parametrize("args, message", [
    (["--prune", "--keep", "0"], "error: --keep: 0 is not a whole number >= 1 (how many of the newest fits to keep)"),
    (["--prune"], "error: --prune: --keep N is required (how many of the newest fits to keep)"),
    (["--keep", "2"], "error: --keep: only with --prune"),
    (["--prune", "--keep", "1", "--reproduce", "2020-12-11"], "error: --prune and --reproduce: give one of them"),
])
def test_bad_prune_arguments_are_one_line(tmp_path, args, message):
    (tmp_path / "registry" / "fits").mkdir(parents=True)
    res = CliRunner().invoke(main, ["registry", str(tmp_path), *args])
    assert res.exit_code == 2 and res.output == message + "\n"


def test_a_logged_fit_missing_from_the_registry_stops_the_prune_with_the_line(tmp_path):
    fits = tmp_path / "registry" / "fits"
    (fits / "aaaa").mkdir(parents=True)
    (fits / "aaaa" / "fit.json").write_text('{"recorded_at": "2020-12-11T22:30:00"}')
    (tmp_path / "signals.csv").write_text("date,regime,fit_id,data_hash\n2020-12-10,calm,aaaa,x\n"
                                          "2020-12-11,calm,bbbb,y\n")
    res = CliRunner().invoke(main, ["registry", str(tmp_path), "--prune", "--keep", "1"])
    assert res.exit_code == 2
    assert res.output == (f"error: {tmp_path / 'signals.csv'} line 3: 2020-12-11 names fit bbbb, which is not in "
                          f"{fits} (expected every logged fit to be in the registry)\n")
    assert (fits / "aaaa" / "fit.json").is_file()
