"""Scale-out: the same sweep on a Dask LocalCluster (loopback only) ranks exactly like the process pool; the
leaderboard page renders in headless Chromium with its pictures and no console errors."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from regimeshift.sweep.run import run_sweep
from regimeshift.sweep.spec import load_spec

from tests.test_sweep_run import GRID, _write, cache_dir  # noqa: F401  (fixture)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_local_cluster_leaderboard_equals_the_process_pool(tmp_path: Path, cache_dir: Path) -> None:  # noqa: F811
    pytest.importorskip("dask.distributed")
    spec = load_spec(_write(tmp_path, GRID))
    pool = run_sweep(spec, tmp_path / "pool", workers=2, top=0, progress=False)
    # LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    dask = run_sweep(spec, tmp_path / "dask", workers=2, cluster="local", top=0, progress=False)
    assert dask.n_screened == pool.n_screened == 12
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "pool" / "leaderboard.csv"),
                                  pd.read_csv(tmp_path / "dask" / "leaderboard.csv"))


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium / chromium-browser on PATH (apt-get install chromium)")
def test_leaderboard_page_renders_offline_in_chromium(tmp_path: Path, cache_dir: Path) -> None:  # noqa: F811
    spec = load_spec(_write(tmp_path, GRID))
    run_sweep(spec, tmp_path / "out", workers=1, top=0, walk_forward="yearly", progress=False)
    page = tmp_path / "out" / "leaderboard.html"
    assert "walk-forward selection" in (tmp_path / "out" / "walk_forward_tearsheet.html").read_text()
    text = page.read_text()
    assert not any(f'{a}="http' in text for a in ("src", "href")), "the page must not load anything remote"
    assert text.count("<svg") >= 3 + 2  # one per swept parameter, heatmap, scatter, walk-forward
    shot = tmp_path / "shot.png"
    res = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--enable-logging=stderr", "--v=0", "--window-size=1400,2400",
         f"--screenshot={shot}", page.as_uri()],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)},
    )
    assert shot.is_file() and shot.stat().st_size > 10_000, res.stderr[-2000:]
    assert ":CONSOLE" not in res.stderr, res.stderr[-2000:]
