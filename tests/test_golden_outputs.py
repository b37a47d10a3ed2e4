"""The refactors of this codebase change no figure: the five data outputs of the default and shipped configs
equal the ones recorded in tests/golden (recorded before the namespace refactor; re-recorded only by a commit
that says which behaviour it changes and why)."""
from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import regimeshift as rs
from regimeshift.core.versions import LIBRARIES
from tests.conftest import REPO, requires_shared

GOLDEN = Path(__file__).parent / "golden"
CSV_FILES = ("returns.csv", "regimes.csv", "weights.csv", "trades.csv")


def _golden(name: str, file: str) -> bytes:
    return gzip.decompress((GOLDEN / name / f"{file}.gz").read_bytes())


def _assert_same_csv(name: str, file: str, written: Path) -> None:
    want = pd.read_csv(io.BytesIO(_golden(name, file)))
    got = pd.read_csv(written)
    assert list(got.columns) == list(want.columns), file
    assert len(got) == len(want), file
    for col in want.columns:
        if pd.api.types.is_numeric_dtype(want[col]):
            # the same code on another CPU may round the last bit differently; anything beyond that is a change
            np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-9, atol=1e-12,
                                       err_msg=f"{name}/{file}: column {col}")
        else:
            assert got[col].astype(str).tolist() == want[col].astype(str).tolist(), f"{name}/{file}: column {col}"


def _assert_same_metrics(name: str, written: Path, ignore: tuple[str, ...] = ()) -> None:
    def flat(d: dict, prefix: str = "") -> dict:
        out = {}
        for k, v in d.items():
            out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
        return out

    want, got = flat(json.loads(_golden(name, "metrics.json"))), flat(json.loads(written.read_text()))
    # the versions that produced a run differ by machine: every library must be named, its value is not compared
    versions = {k for k in got if k.startswith("versions.")}
    assert versions == {f"versions.{lib}" for lib in ("python", *LIBRARIES)}
    got = {k: v for k, v in got.items() if k not in versions}
    want = {k: v for k, v in want.items() if not k.startswith("versions.")}
    assert sorted(got) == sorted(want)
    for key, value in want.items():
        if key in ignore:
            continue
        if isinstance(value, float) or (isinstance(value, list) and any(isinstance(x, float) for x in value)):
            # intervals are lists of floats: the same last-bit tolerance as a single figure
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        else:
            assert got[key] == value, key


def _check_run(name: str, out: Path, ignore: tuple[str, ...] = ()) -> None:
    for file in CSV_FILES:
        _assert_same_csv(name, file, out / file)
    _assert_same_metrics(name, out / "metrics.json", ignore)


# config_hash identifies the resolved config, so it changes whenever the config gains a setting (at its default)
VOLATILE = ("config_hash",)


def test_default_run_outputs_equal_the_recorded_ones(tmp_path: Path) -> None:
    out = rs.run(None).write(tmp_path / "default", report=False)
    _check_run("default", out, ignore=VOLATILE)


@requires_shared
@pytest.mark.realdata
@pytest.mark.parametrize("name", ["liquidity_rotation", "next_open_2020"])
def test_shipped_config_outputs_equal_the_recorded_ones(tmp_path: Path, name: str, shared_data: Path) -> None:
    cfg = rs.load_config(REPO / "backtests" / "configs" / f"{name}.toml")
    out = rs.run(cfg, data_dir=shared_data).write(tmp_path / name, report=False)
    _check_run(name, out, ignore=VOLATILE)
