"""A store trusts nothing it reads (issue 20, item 3): a hand-edited or hostile manifest or journal is one line
``error: ...`` naming the store and the entry, exit 2, through the real command line; no file is written outside
the store, and a read-only command (run, data show) leaves the store byte for byte as it was."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from regimeshift.data.store.store import Store
from regimeshift.data.store.update import update_store
from tests.test_failures import _env, assert_one_error, run_cli
from tests.test_store import NOW, STORE_CONFIG, WANTED, snapshot
from tests.vendors import RecordedYahoo


@pytest.fixture
def store(tmp_path: Path, fred) -> Path:  # type: ignore[no-untyped-def]
    """SPY, GLD and VIX, as `data update` leaves them."""
    root = tmp_path / "store"
    yahoo = RecordedYahoo()
    yahoo.published = fred.published = "2020-12-07"
    update_store(Store(root), WANTED, NOW, fred_url=fred.url, download=yahoo)
    return root


def _edit_manifest(root: Path, change) -> None:  # type: ignore[no-untyped-def]
    path = root / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest["series"])
    path.write_text(json.dumps(manifest, indent=2))


def _show(root: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    return run_cli(["data", "show", "--store", str(root), "--today", "2020-12-08"], tmp_path, _env(tmp_path / "c"))


def _run(root: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    config = tmp_path / "demo.toml"
    config.write_text(STORE_CONFIG.format(store=root))
    return run_cli(["run", str(config), "--store", str(root), "--out", str(tmp_path / "out"), "--no-report"],
                   tmp_path, _env(tmp_path / "c"))


def _journal(root: Path, index: list, blobs: dict[str, bytes]) -> None:
    """What a writer killed after its commit point leaves: .journal/ with its index and blobs."""
    journal = root / ".journal"
    journal.mkdir()
    for name, data in blobs.items():
        (journal / name).write_bytes(data)
    (journal / "index.json").write_text(json.dumps(index))


# -- the manifest ------------------------------------------------------------------------------------------------------
def test_a_manifest_entry_without_its_sha256_is_one_line_naming_the_entry_and_field(store, tmp_path):
    _edit_manifest(store, lambda s: s["GLD"].pop("sha256"))
    before = snapshot(store)
    line = assert_one_error(_show(store, tmp_path), 2, f"{store / 'manifest.json'}: series 'GLD': sha256: missing")
    assert line == f"error: {store / 'manifest.json'}: series 'GLD': sha256: missing"
    assert snapshot(store) == before


def test_a_manifest_entry_that_is_a_string_is_one_line_naming_the_entry(store, tmp_path):
    _edit_manifest(store, lambda s: s.update(SPY="SPY.parquet"))
    assert_one_error(_show(store, tmp_path), 2, f"{store / 'manifest.json'}: series 'SPY': expected an object",
                     "found str 'SPY.parquet'")


def test_a_last_date_that_is_not_a_date_is_one_line_naming_the_entry_and_field(store, tmp_path):
    _edit_manifest(store, lambda s: s["VIX"].update(last="2020-13-45"))
    assert_one_error(_show(store, tmp_path), 2,
                     f"{store / 'manifest.json'}: series 'VIX': last: '2020-13-45' is not a date (expected YYYY-MM-DD)")


def test_a_row_count_given_as_text_is_refused_not_coerced(store, tmp_path):
    _edit_manifest(store, lambda s: s["SPY"].update(rows="384"))
    assert_one_error(_show(store, tmp_path), 2, "series 'SPY': rows: Input should be a valid integer")


def test_a_series_name_that_climbs_out_of_the_store_is_refused_before_any_file_is_read(store, tmp_path):
    outside = tmp_path / "secret.parquet"
    outside.write_bytes((store / "series" / "SPY.parquet").read_bytes())
    _edit_manifest(store, lambda s: s.update({"../../secret": s["SPY"]}))
    assert_one_error(_show(store, tmp_path), 2, f"{store / 'manifest.json'}: series '../../secret': not a series name")


def test_a_series_file_symlinked_outside_the_store_is_refused(store, tmp_path):
    outside = tmp_path / "elsewhere.parquet"
    (store / "series" / "SPY.parquet").rename(outside)
    os.symlink(outside, store / "series" / "SPY.parquet")
    assert_one_error(_run(store, tmp_path), 2, f"{store / 'manifest.json'}: series 'SPY': its file series/SPY.parquet leads outside the store")
    assert not (tmp_path / "out").exists()


# -- the journal ---------------------------------------------------------------------------------------------------------
def test_a_journal_naming_a_file_outside_the_store_makes_a_read_only_run_write_nothing(store, tmp_path):
    _journal(store, [{"name": "../T20-escaped.txt", "blob": "0.bin"}], {"0.bin": b"escaped\n"})
    before = snapshot(store)
    assert_one_error(_run(store, tmp_path), 2, f"data store {store}: {store / '.journal' / 'index.json'}: entry 1: "
                     f"name '../T20-escaped.txt': expected a relative file name inside {store}")
    assert not (tmp_path / "T20-escaped.txt").exists()
    assert snapshot(store) == before and not (tmp_path / "out").exists()


def test_a_journal_naming_a_file_outside_the_store_is_refused_by_a_writer_too(store, tmp_path, fred):
    _journal(store, [{"name": "manifest.json", "blob": "0.bin"}, {"name": "../T20-escaped.txt", "blob": "1.bin"}],
             {"0.bin": (store / "manifest.json").read_bytes(), "1.bin": b"escaped\n"})
    before = snapshot(store)
    config = tmp_path / "demo.toml"
    config.write_text(STORE_CONFIG.format(store=store))
    ran = run_cli(["data", "update", str(config), "--fred-url", fred.url], tmp_path, _env(tmp_path / "c"))
    assert_one_error(ran, 2, f"data store {store}: ", "entry 2: name '../T20-escaped.txt'")
    assert not (tmp_path / "T20-escaped.txt").exists()
    assert snapshot(store) == before  # refused whole: not even the manifest entry before it was applied


def test_a_journal_entry_without_its_blob_is_one_line_naming_the_entry(store, tmp_path):
    _journal(store, [{"name": "manifest.json"}], {})
    before = snapshot(store)
    assert_one_error(_show(store, tmp_path), 2, f"data store {store}: {store / '.journal' / 'index.json'}: entry 1",
                     "expected an object with 'name' and 'blob'")
    assert snapshot(store) == before


def test_a_journal_blob_missing_from_the_journal_is_one_line_naming_the_entry(store, tmp_path):
    _journal(store, [{"name": "manifest.json", "blob": "0.bin"}], {})
    assert_one_error(_show(store, tmp_path), 2,
                     "entry 1 (manifest.json): blob 0.bin is missing from the journal")


def test_a_killed_writers_committed_journal_is_read_by_a_reader_and_applied_only_by_the_next_writer(
        store, tmp_path, fred):
    manifest = json.loads((store / "manifest.json").read_text())
    manifest["series"]["GLD"]["fetched_at"] = "2020-12-07T23:59:59"
    log = (store / "changes.log").read_bytes() + b'{"event": "committed before the kill"}\n'
    _journal(store, [{"name": "manifest.json", "blob": "0.bin"}, {"name": "changes.log", "blob": "1.bin"}],
             {"0.bin": json.dumps(manifest).encode(), "1.bin": log})
    before = snapshot(store)
    shown = _show(store, tmp_path)
    assert shown.rc == 0, shown.stderr
    assert "2020-12-07T23:59:59" in shown.stdout  # the committed state, read through the journal...
    assert snapshot(store) == before  # ...and nothing written: the journal is still there, unapplied
    yahoo = RecordedYahoo()
    yahoo.published = "2020-12-07"
    update_store(Store(store), WANTED, NOW, fred_url=fred.url, download=yahoo)  # a writer applies it first
    assert not (store / ".journal").exists()
    assert (store / "changes.log").read_bytes().startswith(log)
