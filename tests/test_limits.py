"""No orphan, no endless wait (issue 20, item 4): a vendor that never finishes is abandoned at a deadline, a killed
sweep takes its workers along, and a sweep of any size starts at once, says how big it is, or refuses with one
line. Every server here is on 127.0.0.1 and bounded in bytes and seconds; every wait is bounded."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from regimeshift.data.store.store import Store
from regimeshift.data.store.update import IncompleteUpdate, update_store
from tests.conftest import small_synthetic_toml
from tests.test_failures import BASE_CMD, _children, _env, _gone_within, assert_one_error, run_cli
from tests.test_store import AFTER_RECORDING, STORE_CONFIG, WANTED, snapshot
from tests.vendors import RecordedYahoo


# -- fetch deadlines ---------------------------------------------------------------------------------------------------
def test_a_vendor_dripping_a_byte_every_3s_is_abandoned_at_the_timeout_and_nothing_is_stored(tmp_path, fred,
                                                                                            monkeypatch):
    from regimeshift import store_tasks
    from regimeshift.cli.app import main

    store, config = tmp_path / "store", tmp_path / "demo.toml"
    config.write_text(STORE_CONFIG.format(store=store))
    yahoo = RecordedYahoo()
    yahoo.published = fred.published = "2020-12-07"
    monkeypatch.setattr(store_tasks, "YAHOO_DOWNLOAD", yahoo)
    first = CliRunner().invoke(main, ["data", "update", str(config), "--fred-url", fred.url])
    assert first.exit_code == 0, first.output
    before = snapshot(store)
    yahoo.published = fred.published = "2020-12-11"
    fred.fail = "drip"  # 1 byte every 3 s: the 30 s per-read timeout never fires
    started = time.monotonic()
    res = CliRunner().invoke(main, ["data", "update", str(config), "--fred-url", fred.url, "--timeout", "4"])
    took = time.monotonic() - started
    assert res.exit_code == 3
    errors = [line for line in res.output.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and errors[0].startswith(
        "error: data update failed: VIX (FRED VIXCLS: no complete answer before the deadline (abandoned after ")
    assert errors[0].endswith("nothing was stored, the store is as it was (--keep-going stores the series that "
                              "did fetch)")
    assert took < 40  # the deadline (4 s) plus at most one drip (3 s), far below the dripped minute
    assert snapshot(store) == before  # all or nothing: SPY, GLD and SHY fetched fine and were not stored either


def test_a_yahoo_download_that_never_returns_is_abandoned_and_names_the_series(tmp_path):
    class Stuck(RecordedYahoo):
        def __call__(self, ticker: str, start: str | None):  # type: ignore[no-untyped-def]
            if ticker == "GLD":
                time.sleep(20)  # bounded: the abandoned thread ends by itself
            return super().__call__(ticker, start)

    store = Store(tmp_path / "store")
    started = time.monotonic()
    with pytest.raises(IncompleteUpdate, match=r"^data update failed: GLD \(Yahoo GLD: no complete answer before "
                                               r"the deadline .*; nothing was stored"):
        update_store(store, WANTED[:2], AFTER_RECORDING, download=Stuck(), timeout=1.0)
    assert time.monotonic() - started < 15
    assert not store.exists()


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf"])
def test_a_timeout_that_is_not_positive_seconds_is_refused(tmp_path, value):
    from regimeshift.cli.app import main

    res = CliRunner().invoke(main, ["data", "update", str(tmp_path / "x.toml"), "--timeout", value])
    assert res.exit_code == 2
    assert "--timeout" in res.output and "expected seconds > 0" in res.output


# -- sweeps ---------------------------------------------------------------------------------------------------------
def _sweep_file(folder: Path, grid: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "base.toml").write_text(small_synthetic_toml(6.0))
    path = folder / "SWEEP.toml"
    path.write_text('base = "base.toml"\n' + grid)
    return path


# 1000 * 1000 * 1000 = 10^9 variants of one regime setting (none of the keys touches the fit)
HUGE = """
[grid]
"execution.commission_bps" = [{bps}]
"execution.slippage_bps" = [{bps}]
"strategy.weights.abundant.growth" = [{weights}]
"""


def _huge(folder: Path, n: int) -> Path:
    bps = ", ".join(f"{i / 100:.2f}" for i in range(n))
    weights = ", ".join(f"{0.5 + i / (4 * n):.6f}" for i in range(n))
    return _sweep_file(folder, HUGE.format(bps=bps, weights=weights))


def test_a_sweep_above_max_variants_is_refused_with_one_line_before_any_work(tmp_path):
    sweep = _huge(tmp_path / "s", 1000)
    out = tmp_path / "out"
    started = time.monotonic()
    ran = run_cli(["sweep", str(sweep), "--out", str(out), "--no-progress"], tmp_path, _env(tmp_path / "c"),
                  timeout=120)
    assert time.monotonic() - started < 60
    assert_one_error(ran, 2, f"{sweep}: 1,000,000,000 variants (1000 x 1000 x 1000); more than --max-variants "
                             "10,000,000")
    assert not out.exists()


def test_a_sweep_of_a_billion_variants_streams_its_first_results_and_says_its_size_and_eta(tmp_path):
    sweep = _huge(tmp_path / "s", 1000)
    out = tmp_path / "out"
    env = _env(tmp_path / "cache", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([*BASE_CMD, "sweep", str(sweep), "--out", str(out), "--no-progress", "--workers", "1",
                             "--max-variants", str(10**9)], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 300  # a generous bound; the first chunk needs one regime fit
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line.strip())
            if line.startswith("screened "):
                break
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert lines[0] == "SWEEP: 1,000,000,000 variants to screen (1000 x 1000 x 1000), none done yet", lines
    eta = [x for x in lines if x.startswith("screened ")]
    assert eta, lines
    assert " of 1,000,000,000 variants (" in eta[0] and "variants/s); about " in eta[0] and eta[0].endswith(" to go")


@pytest.mark.parametrize("executor", [[], ["--cluster", "local"]], ids=["process pool", "dask local cluster"])
def test_killing_a_sweep_with_sigkill_leaves_no_worker_alive(tmp_path, executor):
    grid = '[grid]\n"regimes.n_init" = [1, 2, 3]\n"execution.rebalance" = ["monthly", "weekly"]\n'
    sweep = _sweep_file(tmp_path / "s", grid)
    env = _env(tmp_path / "cache", REGIMESHIFT_CACHE="off")
    proc = subprocess.Popen([*BASE_CMD, "sweep", str(sweep), "--out", str(tmp_path / "out"), "--no-progress",
                             "--workers", "2", "--top", "0", *executor], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 300
        while len(workers) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = _children(proc.pid)
        assert len(workers) >= 2, f"the sweep never started its 2 workers (exit {proc.poll()})"
        time.sleep(1.0 if not executor else 8.0)  # let the workers arm the parent-death signal
        workers = _children(proc.pid)  # every child (Dask adds multiprocessing's resource tracker)
        proc.kill()
        proc.wait(timeout=30)
        assert _gone_within(workers, 10.0), "sweep workers outlived the killed sweep"
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in workers:  # the test never leaves an orphan of its own, whatever it found
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
