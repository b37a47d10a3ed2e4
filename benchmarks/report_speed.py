"""Wall time of the report stage for a 20-year daily run, against plain ``quantstats.reports.html``.

    python benchmarks/report_speed.py [--years 20] [--repeat 3] [--workers N] [--synthetic]

Runs the embedded synthetic default pipeline once (long enough for `--years` of daily returns after the
model's warm-up; ``--synthetic`` builds the seeded ReportData of tests/test_reports.py instead, no pipeline),
then, in this same process and alternating the order on each repeat:

- new:   ``backtests.report_stage.render_run`` (or ``write_tearsheet``): the whole tearsheet file, drawn in this
         process without QuantStats or matplotlib;
- plain: ``quantstats.reports.html`` alone on the same series (what the tearsheet used to call, on Agg);
- old:   the previous tearsheet path: the regime section, then plain ``quantstats.reports.html``.

Prints every run, the best and median of each, and the ratios new / plain and new / old. The machine is
shared, so compare ratios from one invocation rather than absolute seconds across invocations. QuantStats'
import is not in these numbers: the pipeline imports it for metrics.json before the report stage starts; its
cold import cost is printed separately, measured in a fresh interpreter.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from regimeshift.reports import tearsheet  # noqa: E402
from regimeshift.report_stage import reproducible_svg  # noqa: E402


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the report workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def cold_import_seconds() -> float:
    code = "import time; t = time.perf_counter(); import quantstats; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--years", type=float, default=20.0, help="years of daily returns in the report")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None,
                    help="passed to write_tearsheet (only used when QuantStats has to draw its part itself)")
    ap.add_argument("--synthetic", action="store_true", help="seeded ReportData instead of a pipeline run")
    args = ap.parse_args()

    t0 = time.perf_counter()
    if args.synthetic:
        from tests.test_reports import make_report_data  # noqa: PLC0415

        data = make_report_data(years=int(round(args.years)), seed=3)

        def render_new(path: Path) -> None:
            tearsheet.write_tearsheet(data, path, workers=args.workers)
        source = f"seeded ReportData, {args.years:g} years"
    else:
        from regimeshift.backtests.config import load_config, with_overrides  # noqa: PLC0415

        from regimeshift.pipeline import run_pipeline  # noqa: PLC0415
        from regimeshift.report_stage import render_run, report_data  # noqa: PLC0415

        cfg = load_config(None)
        cfg = with_overrides(cfg, synthetic_years=args.years + cfg.regimes.min_train_days / 252 + 0.05)
        result = run_pipeline(cfg)
        data = report_data(result)

        def render_new(path: Path) -> None:
            if args.workers is None:
                render_run(result, path)
            else:
                with reproducible_svg():
                    tearsheet.write_tearsheet(data, path, workers=args.workers)
        source = "embedded synthetic default pipeline"
    returns, benchmark, _ = tearsheet.align_inputs(data)
    print(f"report_speed: {source}: {len(returns)} daily returns "
          f"({returns.index[0].date()} .. {returns.index[-1].date()}), prepared in {time.perf_counter() - t0:.1f}s")
    print(f"cores usable: {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()}, "
          f"new drawn in this process, load average: {os.getloadavg()[0]:.2f}")

    def plain() -> None:
        tearsheet.quantstats_html(returns, benchmark, data.title, data.benchmark_name)

    def old(path: Path) -> None:
        section = tearsheet.build_regime_section(data)
        page = tearsheet.quantstats_html(returns, benchmark, data.title, data.benchmark_name)
        path.write_text(tearsheet.inject(tearsheet.make_offline(page), section, data.title), encoding="utf-8")

    times: dict[str, list[float]] = {"new": [], "plain": [], "old": []}
    cpu: dict[str, list[float]] = {"new": [], "plain": [], "old": []}
    with tempfile.TemporaryDirectory() as tmp, reproducible_svg():
        for i in range(args.repeat):
            order = ["new", "plain", "old"] if i % 2 == 0 else ["old", "plain", "new"]
            line = []
            for name in order:
                path = Path(tmp) / f"{name}-{i}.html"
                t, c = time.perf_counter(), cpu_seconds()
                {"new": lambda p=path: render_new(p), "plain": plain, "old": lambda p=path: old(p)}[name]()
                times[name].append(time.perf_counter() - t)
                cpu[name].append(cpu_seconds() - c)
                line.append(f"{name} {times[name][-1]:6.2f}s (cpu {cpu[name][-1]:5.2f}s)")
            print(f"run {i + 1}: " + "  ".join(line))
        size = (Path(tmp) / "new-0.html").stat().st_size
    best = {k: min(v) for k, v in times.items()}
    med = {k: statistics.median(v) for k, v in times.items()}
    print("best:   " + "  ".join(f"{k} {v:6.2f}s" for k, v in best.items()))
    print("median: " + "  ".join(f"{k} {v:6.2f}s" for k, v in med.items()))
    print("cpu median: " + "  ".join(f"{k} {statistics.median(v):6.2f}s" for k, v in cpu.items())
          + "  (this process + report workers; less sensitive to other load than wall time)")
    print(f"tearsheet {size // 1024} kB")
    print(f"ratio new/plain quantstats.reports.html: best {best['new'] / best['plain']:.2f}, "
          f"median {med['new'] / med['plain']:.2f}")
    print(f"ratio new/old tearsheet: best {best['new'] / best['old']:.2f}, median {med['new'] / med['old']:.2f}")
    print(f"cpu ratio new/plain: {statistics.median(cpu['new']) / statistics.median(cpu['plain']):.2f}, "
          f"new/old: {statistics.median(cpu['new']) / statistics.median(cpu['old']):.2f}")
    print(f"quantstats cold import (fresh interpreter, not in the numbers above): {cold_import_seconds():.2f}s")


if __name__ == "__main__":
    main()
