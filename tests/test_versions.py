"""Every result says what produced it (issue 20): metrics.json, the live registry and the tearsheet's footer carry
the versions of Python and of every library that computed or rendered it."""
from __future__ import annotations

import json
import platform
from importlib import metadata

import numpy as np

from regimeshift.core.versions import LIBRARIES, library_versions
from regimeshift.reports.tearsheet import add_footer, versions_footer
from tests.test_failures import _env, run_cli, tiny_config

EXPECTED = {"python", "numpy", "pandas", "scipy", "scikit-learn", "hmmlearn", "backtrader", "quantstats", "pydantic",
            "matplotlib", "jumpmodels", "numba", "regimeshift"}


def test_the_versions_name_python_and_every_library_that_produces_a_run() -> None:
    versions = library_versions()
    assert set(versions) == EXPECTED == {"python", *LIBRARIES}
    assert versions["python"] == platform.python_version()
    assert versions["numpy"] == np.__version__
    assert versions["scikit-learn"] == metadata.version("scikit-learn")


def test_the_footer_lists_the_versions_in_small_text_at_the_end_of_the_body() -> None:
    page = add_footer("<html><body><p>x</p></body></html>", versions_footer({"python": "3.11.7", "numpy": "2.4.6"}))
    assert page.endswith('font-size:11px;color:#777;margin:2em 0 1em;text-align:center">'
                         "Produced with python 3.11.7 · numpy 2.4.6</footer>\n</body></html>")
    assert versions_footer(None) == ""


def test_a_run_records_its_versions_in_metrics_json_and_the_tearsheet_footer(tmp_path) -> None:
    ran = run_cli(["run", str(tiny_config(tmp_path)), "--out", str(tmp_path / "out")], tmp_path,
                  _env(tmp_path / "cache"))
    assert ran.rc == 0, ran.stderr
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["versions"] == library_versions()
    page = (tmp_path / "out" / "tearsheet.html").read_text(encoding="utf-8")
    assert versions_footer(library_versions()) in page


def test_a_signal_records_its_versions_in_the_registry(tmp_path) -> None:
    ran = run_cli(["signal", str(tiny_config(tmp_path)), "--out", str(tmp_path / "live")], tmp_path,
                  _env(tmp_path / "cache"))
    assert ran.rc == 0, ran.stderr
    (decision,) = (tmp_path / "live" / "registry" / "decisions").glob("*.json")
    (fit,) = (tmp_path / "live" / "registry" / "fits").glob("*/fit.json")
    assert json.loads(decision.read_text())["versions"] == library_versions()
    assert json.loads(fit.read_text())["versions"] == library_versions()
