"""How long the CLI takes before it does anything (a benchmark, not a test).

    python benchmarks/cli_startup.py [--repeat 5]

Times, in fresh processes: ``regimeshift --help``, ``regimeshift runs`` on an empty folder, and a config with a
TOML typo (the one-line error). Beside them, as the reference in the same run, a process that imports every
stage eagerly (what the CLI did before its imports moved into the commands). Prints the best wall time of each
and its ratio to the reference, then the ten slowest imports of the config-error path (``python -X importtime``).
Target: <= 0.5 s for the three commands.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EAGER = ("import regimeshift.cli.app, regimeshift.pipeline, regimeshift.outputs, regimeshift.report_stage, "
         "regimeshift.live.ticket, regimeshift.reports.compare, regimeshift.backtests.replay")


def _best(cmd: list[str], repeat: int, env: dict[str, str]) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=env, check=False)
        best = min(best, time.perf_counter() - t0)
    return best


def _slowest_imports(cmd: list[str], env: dict[str, str], n: int = 10) -> list[tuple[int, str]]:
    err = subprocess.run([sys.executable, "-X", "importtime", *cmd], capture_output=True, text=True, env=env).stderr
    rows = []
    for line in err.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = (p.strip() for p in line[len("import time:"):].split("|"))
            if cumulative.isdigit():
                rows.append((int(cumulative), name))
    return sorted(rows, reverse=True)[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        bad = Path(tmp) / "typo.toml"
        bad.write_text('name = "typo"\n[data\n', encoding="utf-8")
        cli = [sys.executable, "-m", "regimeshift.cli.app"]
        cases = {
            "regimeshift --help": [*cli, "--help"],
            "regimeshift runs (empty folder)": [*cli, "runs", "--root", tmp],
            "regimeshift run typo.toml": [*cli, "run", str(bad)],
        }
        reference = _best([sys.executable, "-c", EAGER], args.repeat, env)
        print(f"{'reference: every stage imported eagerly':44} {reference:6.2f} s")
        for label, cmd in cases.items():
            t = _best(cmd, args.repeat, env)
            verdict = "ok" if t <= 0.5 else "over the 0.5 s target"
            print(f"{label:44} {t:6.2f} s  ({t / reference:4.2f}x the reference; {verdict})")
        print("\nslowest imports (cumulative, microseconds) of `regimeshift run typo.toml`:")
        for us, name in _slowest_imports(["-m", "regimeshift.cli.app", "run", str(bad)], env):
            print(f"  {us:>9,}  {name}")


if __name__ == "__main__":
    main()
