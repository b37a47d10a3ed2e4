"""Safety of the store and the live folder: one writer at a time (a second one exits 3 with a clear line, or
waits), and a writer killed with SIGKILL at a random moment leaves the old state or the new one, never a mix;
the next run completes.

The kill tests kill an update loop and a signal loop 20 times each, at moments drawn from a seeded generator (a
failure reproduces), spread over the writer's first two steps (timed on this machine, the slowest seen) so that
kills land before, inside and after a commit. A round is cheap because the process killed is forked from a warmed-up server
(tests/crash_worker.py ``fork``): start-up, imports and the first pipeline run are paid once per test, not per
kill, and the signal runs on a small store config (half a year of bars, cached fits)."""
from __future__ import annotations

import contextlib
import datetime
import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from regimeshift.data.store.store import Store
from regimeshift.data.store.update import update_store
from regimeshift.core.atomic import recover
from tests.conftest import REPO
from tests.test_store import STORE_CONFIG, WANTED
from tests.vendors import RecordedYahoo

ALL = [*WANTED, type(WANTED[0])("SHY", "price", "yahoo", "SHY")]
NOW = datetime.datetime(2020, 12, 11, 22, 30)


def spawn(*args: str, stdin: int | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "tests.crash_worker", *args], cwd=REPO, env=env, stdin=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc


def wait_for(proc: subprocess.Popen[str], word: str) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line == word, f"worker said {line!r}: {proc.stderr.read() if proc.stderr else ''}"


def visible(folder: Path) -> dict[str, bytes]:
    """The folder as readers see it (dot-files -- lock, journal, temporary files -- are not part of it)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


# -- locks ---------------------------------------------------------------------------------------------------------
def test_a_second_update_exits_3_naming_the_holder_or_waits_for_it(tmp_path, fred, monkeypatch):
    from regimeshift import store_tasks
    from regimeshift.cli.app import main

    store = tmp_path / "store"
    config = tmp_path / "demo.toml"
    config.write_text(STORE_CONFIG.format(store=store))
    monkeypatch.setattr(store_tasks, "YAHOO_DOWNLOAD", RecordedYahoo())
    holder = spawn("hold", str(store), "3", fred.url, "2020-12-08")
    try:
        wait_for(holder, "locked")
        res = CliRunner().invoke(main, ["data", "update", str(config), "--fred-url", fred.url])
        assert res.exit_code == 3
        assert res.output.strip() == (f"error: {store}: the data store is locked by another regimeshift process "
                                      f"(pid {holder.pid}); it is still running (retry when it is done, or pass --wait)")
        waited = CliRunner().invoke(main, ["data", "update", str(config), "--fred-url", fred.url, "--wait", "60"])
        assert waited.exit_code == 0, waited.output
        assert holder.wait(timeout=60) == 0  # the first finished undisturbed...
    finally:
        holder.kill()
    # ...and the second ran after it: it found the first's data and only checked the tail
    assert "updated SPY: +" in waited.output and "new " not in waited.output
    assert Store(store).entry("SPY")["last"] == "2020-12-11"


def test_a_second_signal_on_the_same_live_folder_exits_3(tmp_path):
    from regimeshift.cli.app import main
    from regimeshift.core.locks import folder_lock

    live = tmp_path / "live"
    with folder_lock(live, "the live folder"):  # another process's signal would hold it like this
        res = CliRunner().invoke(main, ["signal", "--out", str(live), "--wait", "0"])
    assert res.exit_code == 3
    assert "the live folder is locked by another regimeshift process" in res.output
    assert res.output.count("\n") == 1


# -- kill -9 ---------------------------------------------------------------------------------------------------------
ROUNDS = 20
WINDOW = 2.0  # kills fall in the first WINDOW steps of a writer: before, inside and after its first commits


class ForkServer:
    """tests/crash_worker.py ``fork``: forks a warmed-up writer loop on demand, for the test to kill."""

    def __init__(self, *args: str) -> None:
        self.proc = spawn("fork", *args, stdin=subprocess.PIPE)
        self.child: int | None = None  # a forked writer not yet reaped

    def ready(self) -> float:
        """Wait for the warm-up; the seconds one step of the loop takes."""
        line = self._line()
        assert line.startswith("ready "), f"fork server said {line!r}: {self._stderr()}"
        return float(line.split()[1])

    def kill_after(self, seconds: float) -> None:
        """Fork a writer, SIGKILL it ``seconds`` later, and wait until it is gone."""
        pid = self._fork("go")
        # wait on the server's output rather than sleep: a writer that dies by itself (an error) shows at once
        early, _, _ = select.select([self.proc.stdout], [], [], seconds)
        assert not early, f"the writer died before it was killed: {self._line()} {self._stderr()}"
        os.kill(pid, signal.SIGKILL)
        status = self._reaped()
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status

    def once(self, step: int) -> float:
        """Run one whole step of the loop in a forked writer (a run nobody kills); the seconds it took."""
        started = time.perf_counter()
        self._fork(f"once {step}")
        status = self._reaped()
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"step {step} failed: {self._stderr()}"
        return time.perf_counter() - started

    def _fork(self, command: str) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        line = self._line()
        assert line.startswith("pid "), f"fork server said {line!r}: {self._stderr()}"
        self.child = int(line.split()[1])
        return self.child

    def _reaped(self) -> int:
        line = self._line()
        assert line.startswith("dead "), f"fork server said {line!r}: {self._stderr()}"
        self.child = None
        return int(line.split()[1])

    def close(self) -> None:
        if self.child is not None:  # a failed assertion between fork and kill: no writer outlives the test
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.child, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)

    def _line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def _stderr(self) -> str:
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.stderr.read() if self.proc.stderr else ""


def check_store(root: Path, days: set[str]) -> str:
    """The store loads, every series matches the manifest, and all prices are at the same one of ``days``."""
    st = Store(root)
    lasts = {n: str(st.frame(n).index[-1].date()) for n in st.names()}  # frame() checks the content hash
    assert lasts == {n: st.entry(n)["last"] for n in lasts}
    assert lasts.pop("VIX") == "2020-12-08"  # FRED publishes nothing new during these tests
    assert len(set(lasts.values())) == 1 and set(lasts.values()) <= days, lasts
    for line in (root / "changes.log").read_text().splitlines():
        json.loads(line)  # whole lines only
    return next(iter(lasts.values()))


def test_killing_updates_at_random_moments_leaves_old_or_new_never_a_mix(tmp_path, fred):
    store = tmp_path / "store"
    days = {"2020-12-08", "2020-12-10"}
    yahoo = RecordedYahoo()
    yahoo.published = fred.published = "2020-12-08"
    update_store(Store(store), ALL, NOW, fred_url=fred.url, download=yahoo)
    server = ForkServer("update", str(store), fred.url, "2020-12-10", "2020-12-08")
    rng = random.Random(13)
    states = []
    try:
        step = max(server.ready(), server.once(0), server.once(1))  # the slowest seen: a busy machine is slower
        for _ in range(ROUNDS):
            server.kill_after(rng.uniform(0.0, WINDOW * step))
            states.append(check_store(store, days))
    finally:
        server.close()
    assert len(set(states)) == 2, states  # the kills landed on both sides of a commit
    yahoo.published = "2020-12-11"
    update_store(Store(store), ALL, NOW, fred_url=fred.url, download=yahoo)  # the next run completes
    assert check_store(store, {"2020-12-11"}) == "2020-12-11"
    assert not (store / ".journal").exists()


def test_killing_signals_at_random_moments_leaves_old_or_new_never_a_mix(tmp_path, fred, monkeypatch):
    monkeypatch.setenv("REGIMESHIFT_CACHE", str(tmp_path / "cache"))
    store, live = tmp_path / "store", tmp_path / "live"
    update_store(Store(store), ALL, NOW, fred_url=fred.url, download=RecordedYahoo())
    configs = []
    for end in ("2020-12-09", "2020-12-11"):  # half a year of bars: a signal step takes a few tenths of a second
        path = tmp_path / f"until_{end}.toml"
        path.write_text(STORE_CONFIG.format(store=store)
                        .replace('macro = ["VIX"]', f'macro = ["VIX"]\nstart = "2020-05-01"\nend = "{end}"')
                        .replace("min_train_days = 150", "min_train_days = 100"))
        configs.append(path)
    # every signal runs in a process forked from the server, which warms up by signalling from both configs
    server = ForkServer("signal", str(configs[0]), str(configs[1]), str(live))
    try:
        step = server.ready()
        complete = []
        for i in (0, 1, 0, 1):  # once the log and registry hold both days, the two states repeat exactly
            step = max(step, server.once(i))  # the slowest seen: a busy machine is slower
            complete.append(visible(live))
        assert complete[:2] == complete[2:] and complete[0] != complete[1]
        rng = random.Random(29)
        hits = []
        for _ in range(ROUNDS):
            server.kill_after(rng.uniform(0.0, WINDOW * step))
            recover(live)  # what the next reader or writer does first, under the lock
            state = visible(live)
            assert state in complete[:2], sorted(
                k for k in set(state) | set(complete[1]) if state.get(k) != complete[1].get(k))
            hits.append(complete.index(state))
        server.once(1)  # the next run completes
        assert visible(live) == complete[1]
    finally:
        server.close()
    assert set(hits) == {0, 1}, hits  # the kills landed on both sides of a commit


def test_an_update_never_commits_while_a_run_is_reading_the_store(tmp_path, fred):
    from regimeshift.core.locks import LockedError

    store = Store(tmp_path / "store")
    yahoo = RecordedYahoo()
    yahoo.published = fred.published = "2020-12-08"
    update_store(store, ALL, NOW, fred_url=fred.url, download=yahoo)
    yahoo.published = "2020-12-09"
    with store.reading(), store.reading():  # readers share the store...
        with pytest.raises(LockedError, match="the data store is locked"):  # ...but exclude a writer
            update_store(store, ALL, NOW, fred_url=fred.url, download=yahoo)
    update_store(store, ALL, NOW, fred_url=fred.url, download=yahoo)
    assert store.entry("SPY")["last"] == "2020-12-09"
