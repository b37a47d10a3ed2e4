"""Fast feedback (issue 22 items 1-3): whole-process wall times of the shipped config on ../shared/data beside
their targets, the stage times each run printed, and which heavy modules a warm run imported (a benchmark,
not a test).

    python benchmarks/fast_feedback.py [--data-dir ../shared/data] [--repeat 3] [--skip-cold] [--skip-watch]

Measures, in fresh processes (``regimeshift run``, paired and alternating so the machine's load hits both):
- cold run with tearsheet (an empty regime cache), target <= 8 s;
- warm run with tearsheet, target <= 4 s; warm ``--no-report``, target <= 2.5 s;
- the tearsheet alone (the run's own "report" timing), target <= 1.5 s;
- ``run --watch``: the re-run after a weight edit, target <= 2 s;
- ``-X importtime`` of a warm ``--no-report`` run: hmmlearn, scikit-learn and scipy must be absent.
The machine is shared: the one-minute load average is printed beside every figure, and CPU seconds (user +
system of the process and its children) beside wall seconds, which the load does not inflate.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "regimeshift.cli.app"]
CONFIG = REPO / "backtests" / "configs" / "liquidity_rotation.toml"


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float, dict[str, float], str]:
    """(wall s, cpu s, the summary's stage times, stdout) of one whole ``regimeshift`` process."""
    c0, t0 = _children_cpu(), time.perf_counter()
    out = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, check=False)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
    if out.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{out.stderr}")
    stages: dict[str, float] = {}
    line = next((x for x in out.stdout.splitlines() if x.startswith("wall time:")), "")
    for name, secs in re.findall(r"(\w+) ([0-9.]+)s", line):
        stages[name] = float(secs)
    return wall, cpu, stages, out.stdout


def _line(label: str, walls: list[float], cpus: list[float], target: float | None, stages: dict[str, float]) -> str:
    best, med = min(walls), statistics.median(walls)
    text = f"{label:34} wall best {best:6.2f} s, median {med:6.2f} s; cpu median {statistics.median(cpus):6.2f} s"
    if target is not None:
        text += f"; target {target:.1f} s -> best/target {best / target:4.2f}"
    if stages:
        text += "\n" + " " * 36 + "stages: " + ", ".join(f"{k} {v:.2f}s" for k, v in stages.items())
    return text + f"  (load {os.getloadavg()[0]:.1f})"


def _proc_cpu(pid: int) -> float:
    """CPU seconds of a live process and its waited-for children (Linux /proc; nan elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _watch_rerun(cfg_text: str, data_dir: str, env: dict[str, str], tmp: Path) -> tuple[float, float, float]:
    """Seconds of run 1 and of run 2 of ``run --watch`` when one strategy weight is edited in between, and the
    CPU seconds of run 2 (workers of the tearsheet, when it uses them, not included)."""
    cfg = tmp / "watched.toml"
    cfg.write_text(cfg_text)
    proc = subprocess.Popen([*CLI, "run", str(cfg), "--data-dir", data_dir, "--out", str(tmp / "watched"),
                             "--watch", "--max-runs", "2"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env)
    lines: list[str] = []
    threading.Thread(target=lambda: [lines.append(x) for x in iter(proc.stdout.readline, "")], daemon=True).start()

    def seconds_of(run: int) -> float:
        end = time.monotonic() + 600
        while time.monotonic() < end:
            hit = next((x for x in lines if x.startswith(f"run {run} at")), None)
            if hit:
                return float(re.search(r"\(([0-9.]+) s\)", hit).group(1))  # type: ignore[union-attr]
            time.sleep(0.05)
        proc.kill()
        raise SystemExit(f"watch: run {run} never finished: {lines}")

    first = seconds_of(1)
    cpu0 = _proc_cpu(proc.pid)
    # a tenth of the calm regime's growth weight moved to value: the quant's "change one weight and look again"
    edited = cfg_text.replace("abundant = { growth = 0.80, value = 0.10", "abundant = { growth = 0.70, value = 0.20")
    if edited == cfg_text:
        raise SystemExit("watch: found no strategy weight to edit in the config")
    time.sleep(0.5)
    cfg.write_text(edited)
    second = seconds_of(2)
    cpu = _proc_cpu(proc.pid) - cpu0
    proc.wait(timeout=60)
    return first, second, cpu


def _heavy_imports(args: list[str], env: dict[str, str]) -> list[str]:
    err = subprocess.run([sys.executable, "-X", "importtime", *CLI[1:], *args], capture_output=True, text=True,
                         env=env).stderr
    loaded = {line.rsplit("|", 1)[-1].strip() for line in err.splitlines() if line.startswith("import time:")}
    return [m for m in ("hmmlearn", "sklearn", "scipy", "quantstats", "backtrader") if m in loaded]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-cold", action="store_true")
    ap.add_argument("--skip-watch", action="store_true")
    args = ap.parse_args()
    if not (Path(args.data_dir) / "SPY.csv").is_file():
        raise SystemExit(f"{args.data_dir}: no shared data (SPY.csv); this benchmark measures the shipped config")
    with tempfile.TemporaryDirectory(prefix="rs-fast-") as tmp_name:
        tmp = Path(tmp_name)
        env = {**os.environ, "REGIMESHIFT_CACHE": str(tmp / "cache")}
        base = ["run", str(CONFIG), "--data-dir", args.data_dir, "--out", str(tmp / "run")]
        print(f"fast feedback: shipped config on {args.data_dir}, {os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.1f}")
        if not args.skip_cold:
            walls, cpus, stages = [], [], {}
            for i in range(max(1, args.repeat - 1)):
                shutil.rmtree(tmp / "cache", ignore_errors=True)
                w, c, stages, _ = _run(base, env)
                walls.append(w)
                cpus.append(c)
            print(_line("cold run with tearsheet", walls, cpus, 8.0, stages))
        else:
            _run(base, env)  # fill the cache
        results: dict[str, tuple[list[float], list[float], dict[str, float]]] = {
            "warm run with tearsheet": ([], [], {}), "warm run --no-report": ([], [], {})}
        for i in range(args.repeat):
            order = list(results) if i % 2 == 0 else list(reversed(results))
            for label in order:
                w, c, stages, _ = _run(base + (["--no-report"] if "no-report" in label else []), env)
                results[label][0].append(w)
                results[label][1].append(c)
                results[label][2].update(stages)
        for label, target in (("warm run with tearsheet", 4.0), ("warm run --no-report", 2.5)):
            walls, cpus, stages = results[label]
            print(_line(label, walls, cpus, target, stages))
        report = results["warm run with tearsheet"][2].get("report")
        if report is not None:
            print(f"{'tearsheet (the run report stage)':34} {report:6.2f} s; target 1.5 s -> {report / 1.5:4.2f}")
        heavy = _heavy_imports(base + ["--no-report", "-q"], env)
        print(f"{'heavy modules of a warm --no-report':34} {', '.join(heavy) or 'none'} "
              f"({'hmmlearn/sklearn/scipy NOT imported: ok' if not {'hmmlearn', 'sklearn', 'scipy'} & set(heavy) else 'FAIL'})")
        if not args.skip_watch:
            first, second, cpu = _watch_rerun(CONFIG.read_text(), args.data_dir, env, tmp)
            print(f"{'run --watch: first run, re-run':34} {first:6.2f} s, {second:6.2f} s after a weight edit "
                  f"(cpu {cpu:.2f} s); "
                  f"target 2.0 s -> {second / 2.0:4.2f}  (load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
