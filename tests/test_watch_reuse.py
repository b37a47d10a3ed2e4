"""A watched re-run takes from the run before what an edit did not touch (the features, the regime fits, the
benchmark replays whose inputs are unchanged) and writes exactly what a fresh run of the edited config writes."""
from __future__ import annotations

import json

import pytest

from regimeshift.backtests.config import config_from_dict
from regimeshift.core.jsonsafe import json_safe
from regimeshift.pipeline import StageReuse, load_stage, run_pipeline
from tests.conftest import small_synthetic_config


def _edited(cfg, **weights):  # type: ignore[no-untyped-def]
    data = cfg.model_dump()
    for regime, row in weights.items():
        data["strategy"]["weights"][regime] = row
    return config_from_dict(data, "test")


def _figures(result) -> str:  # type: ignore[no-untyped-def]
    metrics = {k: v for k, v in result.metrics.items() if k != "versions"}
    return json.dumps(json_safe(metrics), sort_keys=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REGIMESHIFT_CACHE", str(tmp_path_factory.mktemp("cache")))
        return _runs()


def _runs():  # type: ignore[no-untyped-def]
    cfg = small_synthetic_config()
    market = load_stage(cfg)
    first_regime = next(iter(cfg.strategy.weights))
    row = dict(cfg.strategy.weights[first_regime])
    sleeve = next(s for s in row if s != "cash")
    row[sleeve] = round(row[sleeve] / 2, 4)
    row["cash"] = round(1.0 - sum(v for k, v in row.items() if k != "cash"), 4)
    edited = _edited(cfg, **{first_regime: row})
    reuse = StageReuse()
    before = run_pipeline(cfg, market=market, reuse=reuse)
    after = run_pipeline(edited, market=market, reuse=reuse)
    fresh = run_pipeline(edited, market=market)
    return before, after, fresh


def test_a_weight_edit_reuses_the_features_and_the_regime_fits(runs) -> None:  # type: ignore[no-untyped-def]
    before, after, _ = runs
    assert after.features is before.features
    assert after.regimes is before.regimes
    assert "features" not in after.timings and "regimes" not in after.timings  # neither stage ran again


def test_only_the_static_twin_is_replayed_again_among_the_benchmarks(runs) -> None:  # type: ignore[no-untyped-def]
    before, after, _ = runs
    assert after.replay.beside["static_twin"] is not before.replay.beside["static_twin"]
    for name in ("equal_weight", "sixty_forty", "buy_hold"):
        if not isinstance(before.replay.beside[name], str):
            assert after.replay.beside[name] is before.replay.beside[name], name


def test_the_rerun_gives_the_figures_of_a_fresh_run_of_the_edited_config(runs) -> None:  # type: ignore[no-untyped-def]
    before, after, fresh = runs
    assert _figures(after) == _figures(fresh)
    assert _figures(after) != _figures(before)  # the edit moved something
    assert after.replay.value.equals(fresh.replay.value) and after.weights.equals(fresh.weights)


def test_another_market_or_regime_setting_is_computed_again(runs, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REGIMESHIFT_CACHE", str(tmp_path))
    before, _, _ = runs
    cfg = before.config
    reuse = StageReuse()
    run_pipeline(cfg, market=before.market, reuse=reuse)
    reloaded = load_stage(cfg)  # the same content, another object: the watch reads files again only on a change
    again = run_pipeline(cfg, market=reloaded, reuse=reuse)
    assert again.features is not before.features and "features" in again.timings
    data = cfg.model_dump()
    data["regimes"]["n_init"] = data["regimes"]["n_init"] + 1
    refit = run_pipeline(config_from_dict(data, "test"), market=reloaded, reuse=reuse)
    assert "features" not in refit.timings and "regimes" in refit.timings
