"""`regimeshift regimes --seeds N` (issue 24 item 3): how much the answer depends on the model seed."""
from __future__ import annotations

import json
from pathlib import Path

import tomli_w

from tests.test_failures import TINY, _env, run_cli


def test_seeds_report_agreement_spread_and_disagreement_days(tmp_path: Path):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(tomli_w.dumps({**TINY, "report": {"timing_resamples": 100}}))
    ran = run_cli(["regimes", str(cfg), "--seeds", "3", "--out", str(tmp_path / "out")], tmp_path, _env(tmp_path / "c"))
    assert ran.rc == 0, ran.stderr
    d = json.loads((tmp_path / "out" / "seed_agreement.json").read_text())
    assert d["seeds"] == [7, 8, 9]
    assert 0.0 <= d["agreement_overall"] <= d["agreement_pairwise"] <= 1.0
    assert set(d["agreement_per_regime"]) == {"abundant", "tightening", "crunch"}
    lines = (tmp_path / "out" / "seed_disagreements.csv").read_text().splitlines()
    assert lines[0] == "date,seed_7,seed_8,seed_9"
    assert len(lines) - 1 == d["n_disagreement_days"]
    assert f"all name the same regime on {100 * d['agreement_overall']:.1f}%" in ran.stdout
    # the default cold start does not draw from the seed: the report says the agreement is by construction
    assert d["agreement_overall"] == 1.0 and "agree by construction" in d["note"]
    assert f"note: {d['note']}" in ran.stdout


def test_with_a_seeded_cold_start_the_report_makes_no_such_claim(tmp_path: Path):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(tomli_w.dumps({**TINY, "regimes": {**TINY["regimes"], "init": "hmmlearn"}}))
    ran = run_cli(["regimes", str(cfg), "--seeds", "2", "--out", str(tmp_path / "out")], tmp_path, _env(tmp_path / "c"))
    assert ran.rc == 0, ran.stderr
    assert "note" not in json.loads((tmp_path / "out" / "seed_agreement.json").read_text())
    assert "by construction" not in ran.stdout


def test_one_seed_is_not_a_comparison(tmp_path: Path):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(tomli_w.dumps(TINY))
    ran = run_cli(["regimes", str(cfg), "--seeds", "1", "--out", str(tmp_path / "out")], tmp_path, _env(tmp_path / "c"))
    assert ran.rc == 2 and ran.stderr.strip() == "error: --seeds: expected at least 2 seeds to compare (got 1)"
    assert not (tmp_path / "out").exists()


def test_run_with_seeds_states_the_agreement_in_metrics_summary_and_tearsheet(tmp_path: Path):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(tomli_w.dumps({**TINY, "report": {"timing_resamples": 100}}))
    ran = run_cli(["run", str(cfg), "--seeds", "2", "--out", str(tmp_path / "out")], tmp_path, _env(tmp_path / "c"))
    assert ran.rc == 0, ran.stderr
    d = json.loads((tmp_path / "out" / "metrics.json").read_text())["seed_agreement"]
    assert d["seeds"] == [7, 8]
    line = f"seeds 7-8 name the same regime on {100 * d['agreement_overall']:.1f}% of {d['n_days']} days"
    assert f"seed agreement: {line}" in ran.stdout
    page = (tmp_path / "out" / "tearsheet.html").read_text(encoding="utf-8")
    assert "Seed agreement" in page and line in page


def test_a_run_without_seeds_says_nothing_about_them(tmp_path: Path):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(tomli_w.dumps({**TINY, "report": {"timing_resamples": 100}}))
    ran = run_cli(["run", str(cfg), "--no-report", "--out", str(tmp_path / "out")], tmp_path, _env(tmp_path / "c"))
    assert ran.rc == 0, ran.stderr
    assert "seed_agreement" not in json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert "seed agreement" not in ran.stdout


def test_seeds_and_watch_do_not_combine(tmp_path: Path):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(tomli_w.dumps(TINY))
    ran = run_cli(["run", str(cfg), "--seeds", "2", "--watch"], tmp_path, _env(tmp_path / "c"))
    assert ran.rc != 0
    assert ran.stderr.strip().splitlines() == ["error: --seeds: runs the config N times, so it does not combine with --watch"]
