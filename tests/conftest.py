"""Shared fixtures: where the real data lives, and small fast configs for pipeline tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# regime fits are many small matrix products: BLAS threads only fight each other on 2 cores
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
HAS_SHARED = (SHARED_DATA / "SPY.csv").is_file()

requires_shared = pytest.mark.skipif(
    not HAS_SHARED, reason=f"real data not found at {SHARED_DATA} (../shared/data beside the repo)"
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not HAS_SHARED:
        pytest.skip(f"real data not found at {SHARED_DATA} (../shared/data beside the repo)")
    return SHARED_DATA


def small_synthetic_config(**regime_overrides):  # type: ignore[no-untyped-def]
    """Eight synthetic years, quarterly refits: the whole pipeline in a couple of seconds."""
    from regimeshift.backtests.config import load_config

    base = load_config(None).model_dump()
    base["name"] = "small"
    base["data"]["synthetic_years"] = 8.0
    base["regimes"].update({"min_train_days": 504, "refit": "quarterly", "n_init": 2, **regime_overrides})
    from regimeshift.backtests.config import config_from_dict

    return config_from_dict(base, "test")


def small_synthetic_toml(years: float, features: tuple[str, ...] = (
    "vol:MARKET:21", "ret:MARKET:63", "level:VOLINDEX", "level:CREDITSPREAD"
)) -> str:
    """A config file's text: the synthetic market over ``years``, quarterly refits, the Gaussian (not the default
    "auto", which fits both families at every cold fit: the mechanics these files test hold for either; seconds
    per run)."""
    listed = ", ".join(f'"{f}"' for f in features)
    return f"""
name = "small"
features = [{listed}]
[data]
source = "synthetic"
benchmark = "MARKET"
macro = ["VOLINDEX", "CREDITSPREAD"]
synthetic_years = {years!r}
[sleeves]
growth = {{ GROWTH = 1.0 }}
value = {{ VALUE = 1.0 }}
bonds = {{ SHORTBOND = 1.0 }}
gold = {{ GOLD = 1.0 }}
[regimes]
min_train_days = 504
refit = "quarterly"
n_init = 2
emission = "gaussian"
"""


@pytest.fixture()
def fred():  # type: ignore[no-untyped-def]
    """A loopback HTTP server replaying FRED's CSV download for VIXCLS (tests/vendors.py); closed after the test."""
    from tests.vendors import FredServer

    server = FredServer()
    server.record("VIXCLS")
    yield server
    server.close()
