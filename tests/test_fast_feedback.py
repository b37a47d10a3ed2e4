"""Fast feedback (issue 22 items 1-3): a warm run loads only what it uses, every stage says what it did and how
long it took, `run --watch` re-runs on an edit and keeps watching through a bad one."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w

from tests.test_failures import BASE_CMD, TINY

HEAVY = ("hmmlearn", "sklearn", "scipy")


def _env(cache: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "REGIMESHIFT_CACHE": str(cache), "REGIMESHIFT_WORKERS": "1",
            "REGIMESHIFT_REPORT_WORKERS": "1", "PYTHONWARNINGS": "ignore", **extra}


def _config(tmp_path: Path, **changes: object) -> Path:
    cfg = json.loads(json.dumps(TINY))
    cfg.update(changes)
    path = tmp_path / "tiny.toml"
    path.write_text(tomli_w.dumps(cfg), encoding="utf-8")
    return path


# the run of the CLI's `run` command, in-process, then which heavy modules it left loaded
_PROBE = """
import sys
from regimeshift.cli.app import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    assert not exc.code, exc.code
print("LOADED", ",".join(m for m in {heavy!r} if m in sys.modules))
"""


def _loaded_after_run(args: list[str], env: dict[str, str]) -> set[str]:
    out = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=HEAVY), "run", *args], capture_output=True,
                         text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.startswith("LOADED"))
    return {m for m in line[len("LOADED "):].split(",") if m}


def test_a_cold_run_imports_no_scikit_learn_and_a_warm_run_neither_hmmlearn_nor_scipy(tmp_path: Path) -> None:
    cfg, env = _config(tmp_path), _env(tmp_path / "cache")
    args = [str(cfg), "--out", str(tmp_path / "run"), "--no-report", "-q"]
    # the cold run fits: hmmlearn's compiled lattice and scipy.special, but not scikit-learn (whose import pulls
    # in scipy.stats: regimes/estimator_params.py, regimes/hmm_twin.py)
    assert _loaded_after_run(args, env) == {"hmmlearn", "scipy"}
    assert _loaded_after_run(args, env) == set()  # the warm run reads every fit from the cache


def test_a_cached_fit_names_its_states_and_transitions_as_the_fitted_model_did(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from regimeshift.pipeline import feature_stage, load_stage, regime_stage
    from tests.conftest import small_synthetic_config

    monkeypatch.setenv("REGIMESHIFT_CACHE", str(tmp_path))
    cfg = small_synthetic_config()
    features = feature_stage(cfg, load_stage(cfg))
    fitted = regime_stage(cfg, features, cache=False).model
    stored = regime_stage(cfg, features).model  # fitted and stored: a run that fills the cache goes on with it
    assert type(stored).__name__ == "StoredHMM" and type(fitted).__name__ == "LiquidityHMM"
    np.testing.assert_allclose(stored.transmat_, fitted.transmat_, rtol=1e-12)
    want, got = fitted.naming_report(), stored.naming_report()
    assert got.describe() == want.describe()
    np.testing.assert_allclose(got.scores, want.scores, rtol=1e-12)
    np.testing.assert_allclose(got.standard_errors, want.standard_errors, rtol=1e-12)
    np.testing.assert_allclose(stored.means_, fitted.means_, rtol=1e-12)  # anything else: the restored model's


def _lines(stream, sink: list[str]) -> None:  # type: ignore[no-untyped-def]
    for line in iter(stream.readline, ""):
        sink.append(line.rstrip("\n"))


def _wait_for(lines: list[str], text: str, proc: subprocess.Popen, timeout: float = 240.0) -> str:
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        hit = next((x for x in lines if text in x), None)
        if hit is not None:
            return hit
        if proc.poll() is not None and not any(text in x for x in lines):
            break
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not seen; stdout so far: {lines}")


def test_watch_reruns_on_an_edit_says_what_changed_and_survives_a_bad_edit(tmp_path: Path) -> None:
    import threading
    import time

    cfg = _config(tmp_path, execution={"commission_bps": 5.0})
    out = tmp_path / "run"
    cmd = [*BASE_CMD, "run", str(cfg), "--out", str(out), "--no-report", "--watch", "--max-runs", "4"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(tmp_path / "cache"))
    stdout: list[str] = []
    stderr: list[str] = []
    threads = [threading.Thread(target=_lines, args=(proc.stdout, stdout), daemon=True),
               threading.Thread(target=_lines, args=(proc.stderr, stderr), daemon=True)]
    for t in threads:
        t.start()
    try:
        _wait_for(stdout, "run 1 at", proc)
        first = json.loads((out / "metrics.json").read_text())
        time.sleep(0.3)
        _config(tmp_path, execution={"commission_bps": 50.0})  # an edit: re-run
        _wait_for(stdout, "run 2 at", proc)
        changed = _wait_for(stdout, "changed settings:", proc)
        assert "execution.commission_bps: 5.0 -> 50.0" in changed
        assert "CAGR" in _wait_for(stdout, "moved:", proc)
        second = json.loads((out / "metrics.json").read_text())
        assert second["strategy"]["commission_paid"] > first["strategy"]["commission_paid"]
        time.sleep(0.3)
        cfg.write_text('name = "tiny"\n[data\n', encoding="utf-8")  # a bad edit: one error line, still watching
        _wait_for(stderr, "error:", proc)
        assert proc.poll() is None
        assert json.loads((out / "metrics.json").read_text()) == second  # the last good run's folder stays
        time.sleep(0.3)
        _config(tmp_path, execution={"commission_bps": 5.0})
        _wait_for(stdout, "run 3 at", proc)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert [x for x in stderr if x.startswith("error:")] and not any("Traceback" in x for x in stderr)
    assert json.loads((out / "metrics.json").read_text())["strategy"] == first["strategy"]


def test_a_watched_tearsheet_reloads_itself_and_a_plain_one_does_not(tmp_path: Path) -> None:
    from regimeshift.watch import VERSION_FILE, with_reload

    def render(result: object, path: Path) -> None:
        path.write_text("<html><body>page</body></html>", encoding="utf-8")

    page = tmp_path / "tearsheet.html"
    with_reload(render, "123.5")(None, page)
    text = page.read_text()
    assert text.startswith("<html><body>page<script id=\"regimeshift-watch\">") and text.endswith("</body></html>")
    assert 'var v="123.5"' in text and VERSION_FILE in text
    assert (tmp_path / VERSION_FILE).read_text() == 'window.REGIMESHIFT_RUN="123.5";\n'


# -- sweeps: every phase shows progress, no font warnings, a finished sweep re-run reuses its outputs -------------
@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A small sweep run once through the CLI with its top run and walk-forward tearsheet, then run again."""
    from tests.conftest import small_synthetic_toml
    from tests.test_sweep_run import GRID

    folder = tmp_path_factory.mktemp("sweep")
    (folder / "base.toml").write_text(small_synthetic_toml(6.0))
    (folder / "SWEEP.toml").write_text('base = "base.toml"\n' + GRID)
    out = folder / "out"
    cmd = [*BASE_CMD, "sweep", str(folder / "SWEEP.toml"), "--out", str(out), "--top", "1", "--workers", "1",
           "--walk-forward", "yearly"]
    env = _env(folder / "cache")
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert first.returncode == 0, first.stderr
    pages = [*out.glob("top/*/tearsheet.html"), out / "walk_forward_tearsheet.html"]
    written = {p: p.stat().st_mtime_ns for p in pages}
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert again.returncode == 0, again.stderr
    return first, again, written


def test_every_sweep_phase_says_what_it_does_and_no_font_warning_appears(finished_sweep) -> None:  # type: ignore[no-untyped-def]
    first, _, _ = finished_sweep
    err = first.stderr
    for phase in ("screening", "regimeshift: leaderboard: ", "regimeshift: walk-forward: ",
                  "regimeshift: walk-forward tearsheet: ", "regimeshift: top-N replays and tearsheets"):
        assert phase in err, phase
    assert "findfont" not in err


def test_a_finished_sweep_run_again_reuses_its_top_runs_and_walk_forward_tearsheet(finished_sweep) -> None:  # type: ignore[no-untyped-def]
    first, again, written = finished_sweep
    assert len(written) == 2
    assert {p: p.stat().st_mtime_ns for p in written} == written  # not one page drawn again
    import re

    def seconds_out(text: str) -> str:
        return re.sub(r"\(\d+\.\d+s\)", "", text)

    # the same report, but for how much was screened now and the seconds it took
    assert "(0 now, the rest resumed)" in again.stdout.splitlines()[0]
    assert seconds_out(again.stdout).splitlines()[1:] == seconds_out(first.stdout).splitlines()[1:]
    assert "walk-forward tearsheet" not in again.stderr
