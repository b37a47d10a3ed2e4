"""Every error line carries its context (issue 20, item 5), through the real command line: the option or field that
was wrong, the path the machine refused, exit 3 for the environment, and no folder left behind by a failed command.
(Helpers and style: tests/test_failures.py; the full-disk path is asserted there, the options and the empty
benchmark in its parametrized tables.)"""
from __future__ import annotations

import shutil
from pathlib import Path

from tests.test_failures import (
    UNSHARE,
    assert_one_error,
    csv_config,
    env,  # noqa: F401  (fixture)
    cache,  # noqa: F401  (fixture)
    needs_mount,
    run_cli,
    tiny_config,
)


def test_an_unknown_time_zone_is_blamed_on_timezone_not_on_cron(tmp_path, env):
    ran = run_cli(["schedule", str(tiny_config(tmp_path)), "--cron", "30 22 * * 1-5", "--timezone", "Mars/Base"],
                  tmp_path, env, timeout=120)
    line = assert_one_error(ran, 2, "--timezone: 'Mars/Base' is not a time zone name like 'America/New_York'")
    assert "--cron" not in line


@needs_mount
def test_compare_into_a_read_only_folder_is_an_environment_error_naming_the_page(tmp_path, env):
    first = run_cli(["run", str(tiny_config(tmp_path)), "--out", str(tmp_path / "a"), "--no-report"], tmp_path, env)
    assert first.rc == 0, first.stderr
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    mnt = tmp_path / "ro"
    mnt.mkdir()
    shell = f"mount -t tmpfs -o ro,size=1m tmpfs {mnt} && exec \"$@\""
    ran = run_cli(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(mnt / "compare.html")],
                  tmp_path, env, prefix=[UNSHARE, "-rm", "sh", "-c", shell, "sh"])
    assert_one_error(ran, 3, f"{mnt / 'compare.html'}: ", "read-only")


def test_a_holding_too_large_for_a_float_is_bad_input_naming_file_and_line(tmp_path, env):
    holdings = tmp_path / "holdings.csv"
    holdings.write_text("symbol,quantity\nGROWTH,1e308\nCASH,1000\n", encoding="utf-8")
    ran = run_cli(["signal", str(tiny_config(tmp_path)), "--holdings", str(holdings), "--out", str(tmp_path / "live")],
                  tmp_path, env)
    line = assert_one_error(ran, 2, "holdings.csv line 2: quantity '1e308' of GROWTH is too large (expected at most "
                                    "9,007,199,254,740,992")
    assert "internal error" not in line
    assert not (tmp_path / "live").exists()


def test_a_failed_signal_on_a_corrupt_store_leaves_no_new_live_folder(tmp_path, env):
    config = csv_config(tmp_path)
    store = tmp_path / "store"
    imported = run_cli(["data", "import", str(tmp_path / "data"), "--store", str(store)], tmp_path, env)
    assert imported.rc == 0, imported.stderr
    (blob,) = [p for p in store.rglob("*") if p.is_file() and p.suffix == ".parquet"]
    blob.write_bytes(b"not a parquet file")
    ran = run_cli(["signal", str(config), "--store", str(store), "--out", str(tmp_path / "live")], tmp_path, env)
    assert_one_error(ran, 2, str(store))
    assert not (tmp_path / "live").exists()  # not even a folder holding only its .lock
