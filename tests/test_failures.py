"""Every way a run can go wrong, through the real command line in a subprocess (issue 10).

Each case asserts the exit status (2 bad input, 3 environment: core/exit_codes.py), exactly one line on stderr
starting with ``error:``, no traceback, no output folder (nor a hidden temporary one) left behind, and no process
of the run still alive afterwards. Wrong data names the file, the line and the date.
"""
from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomli_w

CLI = Path(sys.executable).with_name("regimeshift")
BASE_CMD = [str(CLI)] if CLI.exists() else [sys.executable, "-m", "regimeshift.cli.app"]

TINY = {  # four synthetic years, yearly refits: a whole run in seconds of CPU
    "name": "tiny",
    "features": ["ret:GROWTH:2", "ret:MARKET:2", "level:VOLINDEX", "level:CREDITSPREAD"],
    "data": {"source": "synthetic", "benchmark": "MARKET", "macro": ["VOLINDEX", "CREDITSPREAD"],
             "synthetic_years": 4.0},
    "sleeves": {"growth": {"GROWTH": 1.0}, "value": {"VALUE": 1.0}, "bonds": {"SHORTBOND": 1.0},
                "gold": {"GOLD": 1.0}},
    "regimes": {"n_init": 1, "refit": "yearly", "min_train_days": 252},
}


@dataclass
class Ran:
    rc: int
    stdout: str
    stderr: str
    pid: int


def _session_alive(sid: int) -> list[int]:
    """Processes still in session ``sid`` (the run was started as a session leader)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == sid:  # fields: state ppid pgrp session ...
            alive.append(int(stat.parent.name))
    return alive


def _env(cache: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "REGIMESHIFT_CACHE": str(cache), "REGIMESHIFT_WORKERS": "1",
           "REGIMESHIFT_REPORT_WORKERS": "1", "PYTHONWARNINGS": "ignore"}
    env.pop("REGIMESHIFT_DEBUG", None)
    env.update(extra)
    return env


def run_cli(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 900, prefix: list[str] = ()) -> Ran:
    proc = subprocess.Popen([*prefix, *BASE_CMD, *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    out, err = proc.communicate(timeout=timeout)
    deadline = time.monotonic() + 10
    while _session_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _session_alive(proc.pid) == [], "processes of the run outlived it"
    return Ran(proc.returncode, out, err, proc.pid)


def assert_one_error(ran: Ran, code: int, *fragments: str) -> str:
    lines = [line for line in ran.stderr.splitlines() if line.strip()]
    assert "Traceback" not in ran.stderr, ran.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), ran.stderr
    assert ran.rc == code, (ran.rc, ran.stderr)
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def assert_no_output(out: Path) -> None:
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}.tmp-*")) and not list(out.parent.glob(f".{out.name}.old-*"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def env(cache: Path) -> dict[str, str]:
    return _env(cache)


def _merge(base: dict, changes: dict) -> dict:
    out = dict(base)
    for k, v in changes.items():
        out[k] = _merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def tiny_config(folder: Path, **changes: object) -> Path:
    path = folder / "tiny.toml"
    path.write_text(tomli_w.dumps(_merge(TINY, changes)), encoding="utf-8")
    return path


def run_tiny(tmp_path: Path, env: dict[str, str], *extra: str, **changes: object) -> Ran:
    return run_cli(["run", str(tiny_config(tmp_path, **changes)), "--out", str(tmp_path / "out"), *extra],
                   tmp_path, env)


# -- wrong data never passes silently ----------------------------------------------------------------------------
DAYS = 300


def _prices() -> list[tuple[str, float]]:
    import pandas as pd

    days = pd.bdate_range("2020-01-01", periods=DAYS)
    return [(str(d.date()), round(100 * (1 + 0.02 * math.sin(i / 7)) + 0.05 * i, 4)) for i, d in enumerate(days)]


def csv_config(tmp_path: Path, aaa: str | None = None) -> Path:
    """A real-data config over one symbol, AAA, in tmp_path/data; ``aaa`` replaces its file's text."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    if aaa is None:
        aaa = "Date,Close\n" + "".join(f"{d},{p}\n" for d, p in _prices())
    if aaa:
        (data / "AAA.csv").write_text(aaa, encoding="utf-8")
    cfg = {"name": "csv", "features": ["ret:AAA:2"], "data": {"dir": str(data), "benchmark": "AAA", "min_rows": 60},
           "sleeves": {"growth": {"AAA": 1.0}},
           "strategy": {"weights": {"abundant": {"growth": 1.0}, "tightening": {"growth": 0.5}, "crunch": {}}},
           "regimes": {"n_init": 1, "refit": "yearly", "min_train_days": 60}}
    path = tmp_path / "csv.toml"
    path.write_text(tomli_w.dumps(cfg), encoding="utf-8")
    return path


def run_csv(tmp_path: Path, env: dict[str, str], aaa: str | None = None) -> Ran:
    return run_cli(["run", str(csv_config(tmp_path, aaa)), "--out", str(tmp_path / "out")], tmp_path, env)


def test_a_volume_column_is_never_taken_as_the_price(tmp_path, env):
    ran = run_csv(tmp_path, env, "Date,Volume\n" + "".join(f"{d},{1000 + i}\n" for i, (d, _) in enumerate(_prices())))
    assert_one_error(ran, 2, "AAA.csv line 1 (header): no price column; columns seen: 'Date', 'Volume'")
    assert_no_output(tmp_path / "out")


def test_a_1000x_tick_names_file_line_date_and_move(tmp_path, env):
    rows = _prices()
    day, price = rows[150]
    rows[150] = (day, price * 1000)
    ran = run_csv(tmp_path, env, "Date,Close\n" + "".join(f"{d},{p}\n" for d, p in rows))
    move = 100 * (price * 1000 / rows[149][1] - 1)
    assert_one_error(ran, 2, f"AAA.csv line 152: price moves +{move:.1f}% on {day} (", "data.max_daily_move")
    assert_no_output(tmp_path / "out")


def test_a_constant_price_is_an_error(tmp_path, env):
    ran = run_csv(tmp_path, env, "Date,Close\n" + "".join(f"{d},42\n" for d, _ in _prices()))
    assert_one_error(ran, 2, "AAA.csv: the price is constant (42 on every row) from 2020-01-01 to ")


def test_a_folder_named_like_the_csv_is_reported_as_a_folder(tmp_path, env):
    csv_config(tmp_path, "")
    (tmp_path / "data" / "AAA.csv").mkdir()
    ran = run_cli(["run", str(tmp_path / "csv.toml"), "--out", str(tmp_path / "out")], tmp_path, env)
    assert_one_error(ran, 2, "AAA.csv: is a folder, not a file in ")


def test_a_symlink_loop_is_reported_as_a_symlink_loop(tmp_path, env):
    csv_config(tmp_path, "")
    (tmp_path / "data" / "AAA.csv").symlink_to("AAA.csv")
    ran = run_cli(["run", str(tmp_path / "csv.toml"), "--out", str(tmp_path / "out")], tmp_path, env)
    assert_one_error(ran, 2, "AAA.csv: is a symlink loop in ")


# -- strict config -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"execution": {"commission_bps": "50"}}, "field 'execution.commission_bps': Input should be a valid number"),
        ({"regimes": {"n_init": True}}, "field 'regimes.n_init': Input should be a valid integer"),
        ({"report": {"stress_windows": {"crash": ["2020-02-30", "2020-03-23"]}}},
         "field 'report.stress_windows': window 'crash': start '2020-02-30' is not a date"),
        ({"strategy": {"name": ""}}, "field 'strategy.name': '' is not a strategy name"),
        ({"strategy": {"name": "..strategies"}}, "'..strategies' is not a strategy name"),
        ({"strategy": {"name": "regime_switch", "params": {"thresholdd": 0.7}}},
         "strategy.params.thresholdd: unknown parameter of strategy regime_switch (its parameters: min_hold, threshold)"),
        ({"strategy": {"name": "regime_switch", "params": {"threshold": "high"}}},
         "strategy.params.threshold: 'high' is not a float (strategy regime_switch"),
        # a setting that takes a word or a number: one line naming the field (not the union branch) and every
        # alternative, with the value given
        ({"regimes": {"t_dof": 1.5}}, "field 'regimes.t_dof': expected 'auto' or 'per_state', or greater than 2 (got 1.5)"),
        ({"regimes": {"smooth_days": "weekly"}},
         "field 'regimes.smooth_days': expected a valid integer or 'cv' (got 'weekly')"),
        ({"regimes": {"refit": "daily"}}, "field 'regimes.refit': expected 'monthly', 'quarterly', 'semiannual' or "
                                          "'yearly', or a valid integer (got 'daily')"),
        # issue 20: the settings added after the first strict pass, and a benchmark that names nothing
        ({"regimes": {"n_mix": "2"}}, "field 'regimes.n_mix': Input should be a valid integer"),
        ({"regimes": {"jump_continuous": "yes"}}, "field 'regimes.jump_continuous': Input should be a valid boolean"),
        ({"regimes": {"penalty_grid": ["5", "10"]}}, "field 'regimes.penalty_grid.0': Input should be a valid number"),
        ({"data": {"benchmark": ""}}, "field 'data.benchmark': expected a name, got ''"),
        ({"data": {"end": "2020-02-30"}}, "field 'data.end': '2020-02-30' is not a date (expected YYYY-MM-DD)"),
    ],
    ids=["commission-string", "n_init-bool", "stress-date", "empty-name", "relative-name", "misspelt-param",
         "threshold-high", "t_dof-too-low", "smooth_days-word", "refit-word", "n_mix-string", "jump_continuous-word",
         "penalty_grid-strings", "benchmark-empty", "end-february-30"],
)
def test_bad_config_value_is_one_line_before_any_work(tmp_path, env, changes, expected):
    ran = run_tiny(tmp_path, env, **changes)
    assert_one_error(ran, 2, expected)
    assert_no_output(tmp_path / "out")


@pytest.mark.parametrize(("args", "expected"), [
    (["sweep", "SWEEP.toml", "--workers", "0"], "Invalid value for '--workers': 0 is not in the range x>=1"),
    (["signal", "--wait", "-1"], "Invalid value for '--wait': -1.0 is not in the range x>=0"),
    (["signal", "--wait", "nan"], "Invalid value for '--wait': 'nan' is not a number"),
    (["data", "show", "--store", "store", "--today", "2026-13-01"],
     "Invalid value for '--today': '2026-13-01' is not a date (expected YYYY-MM-DD)"),
    (["run", "--start", "2026-13-01"], "Invalid value for '--start': '2026-13-01' is not a date (expected YYYY-MM-DD)"),
], ids=["sweep-workers-0", "signal-wait-negative", "signal-wait-nan", "data-show-today-month-13", "run-start-month-13"])
def test_an_option_out_of_its_range_is_refused_naming_the_option(tmp_path, env, args, expected):
    ran = run_cli(args, tmp_path, env)  # refused while the command line is read: no file needs to exist
    assert_one_error(ran, 2, expected)
    assert list(tmp_path.iterdir()) == []


# -- strategies that fail ------------------------------------------------------------------------------------------
def _strategy(tmp_path: Path, name: str, body: str) -> dict[str, str]:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body), encoding="utf-8")
    return {"PYTHONPATH": str(tmp_path)}


def test_a_strategy_raising_on_import_is_named(tmp_path, cache):
    extra = _strategy(tmp_path, "broken_import", "raise RuntimeError('no such indicator')\n")
    ran = run_cli(["run", str(tiny_config(tmp_path, strategy={"name": "broken_import"})), "--out",
                   str(tmp_path / "out")], tmp_path, _env(cache, **extra))
    assert_one_error(ran, 2, "strategy 'broken_import' failed to import: RuntimeError: no such indicator")


def test_a_strategy_raising_when_called_is_named(tmp_path, cache):
    extra = _strategy(tmp_path, "broken_call", "def target_weights(ctx):\n    return 1 / 0\n")
    ran = run_cli(["run", str(tiny_config(tmp_path, strategy={"name": "broken_call"})), "--out",
                   str(tmp_path / "out"), "--no-report"], tmp_path, _env(cache, **extra))
    assert_one_error(ran, 2, "strategy broken_call: target_weights raised ZeroDivisionError: division by zero")
    assert_no_output(tmp_path / "out")


def test_a_strategy_calling_sys_exit_0_is_an_error(tmp_path, cache):
    extra = _strategy(tmp_path, "quitter", "import sys\ndef target_weights(ctx):\n    sys.exit(0)\n")
    ran = run_cli(["run", str(tiny_config(tmp_path, strategy={"name": "quitter"})), "--out",
                   str(tmp_path / "out"), "--no-report"], tmp_path, _env(cache, **extra))
    assert_one_error(ran, 2, "strategy quitter: target_weights called sys.exit(0) instead of returning weights")
    assert_no_output(tmp_path / "out")


def test_cash_that_cannot_buy_one_share_is_refused(tmp_path, env):
    ran = run_tiny(tmp_path, env, "--no-report", execution={"initial_cash": 10.0})
    assert_one_error(ran, 2, "execution.initial_cash: 10 cannot buy one share of any traded symbol (cheapest: ")
    assert_no_output(tmp_path / "out")


# -- command line and output paths ---------------------------------------------------------------------------------
def test_an_existing_file_as_out_is_one_usage_line(tmp_path, env):
    (tmp_path / "taken").write_text("x")
    ran = run_cli(["run", "--out", str(tmp_path / "taken")], tmp_path, env)
    assert_one_error(ran, 2, "Invalid value for '--out'", "regimeshift run --help")


def test_out_under_a_file_is_bad_input_before_the_run(tmp_path, env):
    (tmp_path / "file").write_text("x")
    ran = run_cli(["run", str(tiny_config(tmp_path)), "--out", str(tmp_path / "file" / "out")], tmp_path, env)
    assert_one_error(ran, 2, f"{tmp_path / 'file' / 'out'}: ", "is a file")


def test_signals_csv_being_a_folder_is_bad_input(tmp_path, env):
    (tmp_path / "live" / "signals.csv").mkdir(parents=True)
    ran = run_cli(["signal", str(tiny_config(tmp_path)), "--out", str(tmp_path / "live")], tmp_path, env)
    assert_one_error(ran, 2, f"{tmp_path / 'live' / 'signals.csv'}: exists and is not a file")


def test_a_bad_cache_size_fails_even_on_a_warm_cache(tmp_path, cache):
    warm = run_tiny(tmp_path, _env(cache), "--no-report")
    assert warm.rc == 0, warm.stderr
    shutil.rmtree(tmp_path / "out")
    ran = run_tiny(tmp_path, _env(cache, REGIMESHIFT_CACHE_MAX_MB="lots"), "--no-report")
    assert_one_error(ran, 2, "REGIMESHIFT_CACHE_MAX_MB: 'lots' is not a number")
    assert "tearsheet:" not in warm.stdout  # --no-report names no tearsheet path
    assert f"outputs: {tmp_path / 'out'} (--no-report: no HTML report)" in warm.stdout


UNSHARE = shutil.which("unshare")


def _can_mount() -> bool:
    if UNSHARE is None:
        return False
    probe = subprocess.run([UNSHARE, "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True, check=False)
    return probe.returncode == 0


needs_mount = pytest.mark.skipif(not _can_mount(), reason="cannot mount a tmpfs in a private mount namespace")


@needs_mount
def test_out_on_a_read_only_file_system_is_an_environment_error(tmp_path, env):
    mnt = tmp_path / "ro"
    mnt.mkdir()
    cfg = tiny_config(tmp_path)
    shell = f"mount -t tmpfs -o ro,size=1m tmpfs {mnt} && exec \"$@\""
    ran = run_cli(["run", str(cfg), "--out", str(mnt / "out"), "--no-report"], tmp_path, env,
                  prefix=[UNSHARE, "-rm", "sh", "-c", shell, "sh"])
    assert_one_error(ran, 3, str(mnt), "read-only")


@needs_mount
def test_out_on_a_full_disk_is_an_environment_error_and_leaves_nothing(tmp_path, env):
    mnt = tmp_path / "full"
    mnt.mkdir()
    cfg = tiny_config(tmp_path)
    shell = f"mount -t tmpfs -o size=64k tmpfs {mnt} && \"$@\"; rc=$?; ls -A {mnt} >&2; exit $rc"
    ran = run_cli(["run", str(cfg), "--out", str(mnt / "out"), "--no-report"], tmp_path, env,
                  prefix=[UNSHARE, "-rm", "sh", "-c", shell, "sh"])
    # the folder listing (last stderr line) shows only the swap's lock file: no output, no temporary folder
    *error, listing = ran.stderr.splitlines() or [""]
    assert listing.split() == [".out.lock"], ran.stderr
    assert_one_error(Ran(ran.rc, ran.stdout, "\n".join(error), ran.pid), 3, f"{mnt / 'out'}: No space left on device",
                     "the disk is full")


# -- kill -9 and concurrency ---------------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _kill_once_workers_run(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, list[int]]:
    """Start the run, wait until it has worker processes, kill -9 it; (its pid, the workers it had)."""
    proc = subprocess.Popen([*BASE_CMD, *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    workers: list[int] = []
    while not workers and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
        workers = [c for c in _children(proc.pid) if Path(f"/proc/{c}/cmdline").exists()]
    assert workers, "the run never started worker processes"
    time.sleep(1.0)  # let the pool's initializer arm the parent-death signal
    proc.kill()
    proc.wait()
    return proc.pid, workers


def _gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [p for p in pids if Path(f"/proc/{p}").exists() and "Z" not in
                 Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0:1]]
        if not alive:
            return True
        time.sleep(0.2)
    return False


def test_walk_forward_workers_die_with_a_killed_run(tmp_path):
    cfg = tiny_config(tmp_path, regimes={"refit": "monthly", "n_init": 3})
    env = _env(tmp_path / "cold-cache", REGIMESHIFT_WORKERS="2", REGIMESHIFT_CACHE="off")
    _, workers = _kill_once_workers_run(["run", str(cfg), "--out", str(tmp_path / "out")], tmp_path, env)
    assert _gone_within(workers, 5.0), "walk-forward workers outlived the killed run"


# A writer of a folder through core.atomic.atomic_dir that kills itself (-9) at a chosen step of the swap:
# "write" (while filling the temporary folder), "first" (after the old folder is moved aside), "second" (after
# the new folder is in place, before the old one is deleted).
SWAP_WRITER = """
import os, signal, sys
from pathlib import Path
from regimeshift.core import atomic

target, label, kill_at = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
real_replace, renames = os.replace, []

def replace(src, dst):
    real_replace(src, dst)
    if Path(dst).name.startswith(f".{target.name}.old-") or Path(dst) == target:
        renames.append(dst)
        if (kill_at, len(renames)) in (("first", 1), ("second", 2)):
            os.kill(os.getpid(), signal.SIGKILL)

os.replace = replace
with atomic.atomic_dir(target) as tmp:
    for i in range(20):
        (tmp / f"part{i}.txt").write_text(label * 1000)
    if kill_at == "write":
        os.kill(os.getpid(), signal.SIGKILL)
    if kill_at == "fail":
        raise SystemExit(0)
"""


def _swap(target: Path, label: str, kill_at: str = "none") -> int:
    script = target.parent / "swap_writer.py"
    script.write_text(SWAP_WRITER)
    return subprocess.run([sys.executable, str(script), str(target), label, kill_at], check=False).returncode


def _content(target: Path) -> set[str]:
    return {p.read_text()[:1] for p in target.iterdir()} if target.is_dir() else set()


@pytest.mark.parametrize("kill_at", ["write", "first", "second"])
def test_a_kill_at_any_step_of_the_swap_is_repaired_by_the_next_writer(tmp_path, kill_at):
    target = tmp_path / "out"
    assert _swap(target, "A") == 0 and _content(target) == {"A"}
    assert _swap(target, "B", kill_at) == -signal.SIGKILL
    # the next writer fails inside its block: all it does is repair what the kill left
    assert _swap(target, "C", "fail") == 0
    assert _content(target) == ({"B"} if kill_at == "second" else {"A"})  # the previous good folder, whole
    assert len(list(target.iterdir())) == 20
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out", "swap_writer.py"]


def test_two_writers_swapping_the_same_folder_at_once_both_succeed(tmp_path):
    target = tmp_path / "out"
    script = tmp_path / "swap_writer.py"
    script.write_text(SWAP_WRITER)
    procs = [subprocess.Popen(["sh", "-c", f"for i in $(seq 15); do {sys.executable} {script} {target} {label} none "
                                           "|| exit 1; done"]) for label in ("X", "Y")]
    assert [p.wait(timeout=600) for p in procs] == [0, 0]
    assert _content(target) in ({"X"}, {"Y"}) and len(list(target.iterdir())) == 20
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out", "swap_writer.py"]


def test_two_signal_runs_at_once_both_log_their_day(tmp_path, cache):
    cfg = tiny_config(tmp_path)
    live = tmp_path / "live"
    procs = [subprocess.Popen([*BASE_CMD, "signal", str(cfg), "--out", str(live), "--end", end], cwd=tmp_path,
                              env=_env(cache), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for end in ("2009-06-30", "2009-07-31")]
    results = [p.communicate(timeout=900) + (p.returncode,) for p in procs]
    assert [rc for _, _, rc in results] == [0, 0], results
    import pandas as pd

    logged = pd.read_csv(live / "signals.csv")["date"].tolist()
    assert len(logged) == 2 and logged[0].startswith("2009-06") and logged[1].startswith("2009-07")
