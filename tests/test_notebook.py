"""A notebook shows results (issue 22 item 4): executed cell by cell in a real kernel with nbclient."""
from __future__ import annotations

import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

CONFIG = ('{"name": "nb", "data": {"synthetic_years": 5}, '
          '"regimes": {"min_train_days": 504, "refit": "yearly", "n_init": 1}, "report": {"timing_resamples": 200}}')
CELLS = [
    "import regimeshift as rs",
    f"result = rs.run({CONFIG})\nresult",
    "result.summary()",
    "fig = result.plot()\ntype(fig).__name__",
    f"fit = rs.fit_regimes({CONFIG})\nfit",
    # a sweep from Python: the files are written beside the notebook (see the fixture)
    "sweep = rs.sweep('SWEEP.toml', 'out', workers=1)\nsweep",
    "type(sweep.leaderboard).__name__, 'dsr' in sweep.leaderboard.columns, 0 <= sweep.pbo <= 1",
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    cwd = tmp_path_factory.mktemp("notebook")
    from tests.conftest import small_synthetic_toml
    from tests.test_sweep_run import GRID

    (cwd / "base.toml").write_text(small_synthetic_toml(6.0))
    (cwd / "SWEEP.toml").write_text('base = "base.toml"\n' + GRID)
    env_cache = os.environ.get("REGIMESHIFT_CACHE")
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    client.execute(env={**os.environ, "REGIMESHIFT_CACHE": env_cache or str(cwd / "cache")})
    return nb


def _data(nb, i: int) -> dict:  # type: ignore[no-untyped-def]
    outs = [o for o in nb.cells[i].outputs if o.output_type == "execute_result"]
    assert outs, nb.cells[i].outputs
    return outs[0]["data"]


def test_a_run_result_displays_its_comparison_table_and_chart_not_its_price_tables(executed):
    data = _data(executed, 1)
    assert "<table>" in data["text/html"] and "Static twin" in data["text/html"] and "<svg" in data["text/html"]
    assert data["text/plain"].startswith("<RunResult nb: ") and len(data["text/plain"]) <= 2000
    assert "Regime timing changed Sharpe by" in data["text/plain"]


def test_summary_is_a_table_of_numbers_with_the_strategy_beside_its_references(executed):
    html = _data(executed, 2)["text/html"]
    for title in ("Strategy", "Static twin", "Equal weight", "60/40", "MARKET held"):
        assert title in html
    assert "Sharpe (excess)" in html


def test_plot_returns_a_matplotlib_figure(executed):
    assert _data(executed, 3)["text/plain"] == "'Figure'"


def test_a_regime_fit_displays_its_shares_and_probabilities_in_a_short_repr(executed):
    data = _data(executed, 4)
    assert data["text/plain"].startswith("<RegimeFit nb: ") and len(data["text/plain"]) <= 2000
    assert "mean_spell_days" in data["text/html"] and "<svg" in data["text/html"]


def test_a_sweep_from_python_displays_its_ranked_table_with_dsr_and_pbo_in_a_short_repr(executed):
    data = _data(executed, 5)
    assert data["text/plain"].startswith("<SweepResult ") and len(data["text/plain"]) <= 2000
    assert "PBO" in data["text/plain"] and "in-sample winner" in data["text/plain"]
    assert "<table" in data["text/html"] and "dsr" in data["text/html"]


def test_the_sweeps_leaderboard_is_a_dataframe_with_the_deflated_sharpe_and_the_pbo(executed):
    assert _data(executed, 6)["text/plain"] == "('DataFrame', True, True)"
