"""Every error line carries its context (issue 20, item 5), through the real command line: the option or field that
was wrong, the path the machine refused, exit 3 for the environment, and no folder left behind by a failed command.
(Helpers and style: tests/test_failures.py; the full-disk path is asserted there, the options and the empty
benchmark in its parametrized tables.)"""
from __future__ import annotations

import shutil

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


@needs_mount
def test_a_store_on_a_full_disk_names_the_store(tmp_path, env):
    csv_config(tmp_path)
    mnt = tmp_path / "full"
    mnt.mkdir()
    shell = f"mount -t tmpfs -o size=16k tmpfs {mnt} && exec \"$@\""
    ran = run_cli(["data", "import", str(tmp_path / "data"), "--store", str(mnt / "store")], tmp_path, env,
                  prefix=[UNSHARE, "-rm", "sh", "-c", shell, "sh"])
    assert_one_error(ran, 3, f"{mnt / 'store'}: No space left on device (the disk is full)")


def test_a_waiter_on_a_lock_whose_folder_a_failed_writer_removed_locks_the_new_folder(tmp_path):
    import threading

    from regimeshift.core.locks import folder_lock

    live = tmp_path / "live"
    held, waiting = threading.Event(), threading.Event()
    seen: list[bool] = []

    def failing_writer() -> None:
        try:
            with folder_lock(live, "the live folder", wait=0):
                held.set()
                waiting.wait(5)
                raise RuntimeError("the run failed")
        except RuntimeError:
            pass

    first = threading.Thread(target=failing_writer)
    first.start()
    held.wait(5)
    timer = threading.Timer(0.3, waiting.set)  # let the second writer start waiting on the first one's lock file
    timer.start()
    with folder_lock(live, "the live folder", wait=10):
        seen.append((live / ".lock").is_file())
        (live / "signal.json").write_text("{}")
    first.join()
    assert seen == [True]  # it holds the lock file that exists, not the one the failed writer removed
    assert sorted(p.name for p in live.iterdir()) == [".lock", "signal.json"]
