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

HEAVY = ("hmmlearn", "sklearn")


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
from regimeshift.cli import main
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


def test_a_warm_run_without_report_imports_neither_hmmlearn_nor_scikit_learn(tmp_path: Path) -> None:
    cfg, env = _config(tmp_path), _env(tmp_path / "cache")
    args = [str(cfg), "--out", str(tmp_path / "run"), "--no-report", "-q"]
    assert _loaded_after_run(args, env) == set(HEAVY)  # the cold run fits: it needs them
    assert _loaded_after_run(args, env) == set()  # the warm run reads every fit from the cache


def test_a_cached_fit_names_its_states_and_transitions_as_the_fitted_model_did(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from regimeshift.pipeline import feature_stage, load_stage, regime_stage
    from tests.conftest import small_synthetic_config

    monkeypatch.setenv("REGIMESHIFT_CACHE", str(tmp_path))
    cfg = small_synthetic_config()
    features = feature_stage(cfg, load_stage(cfg))
    fitted = regime_stage(cfg, features).model
    stored = regime_stage(cfg, features).model
    assert type(stored).__name__ == "StoredHMM" and type(fitted).__name__ == "LiquidityHMM"
    np.testing.assert_allclose(stored.transmat_, fitted.transmat_, rtol=1e-12)
    want, got = fitted.naming_report(), stored.naming_report()
    assert got.describe() == want.describe()
    np.testing.assert_allclose(got.scores, want.scores, rtol=1e-12)
    np.testing.assert_allclose(got.standard_errors, want.standard_errors, rtol=1e-12)
    np.testing.assert_allclose(stored.means_, fitted.means_, rtol=1e-12)  # anything else: the restored model's
