"""``regimeshift regimes [CONFIG.toml] [--data-dir DIR] [--out DIR]``: fit the regime model, print its diagnostics,
write ``regimes.csv`` and ``regimes.png`` -- without running a backtest.

Registered on the ``regimeshift`` group in regimeshift/cli/app.py; imports stay inside the command so the
CLI starts fast.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from regimeshift.cli.options import ConfigSource, config_options


@click.command("regimes")
@config_options("runs/<name>/regimes/")
@click.option("--select-states", is_flag=True, help="Also compare 2..5 states by BIC and held-out log-likelihood.")
@click.option("--compare", "compare", default=None, metavar="MODELS",
              help="Comma-separated model families (hmm,jump,gmmhmm): run each with the same features, schedule, "
                   "strategy and costs and print switches/yr, expected durations, OOS log-lik, turnover, Sharpe.")
@click.option("--seeds", "seeds", type=int, default=None, metavar="N",
              help="Run the whole walk-forward and backtest with N model seeds (seed, seed+1, ...) and report how "
                   "often they name the same regime, the spread of switches/yr and Sharpe, and the days they disagree.")
def regimes(source: ConfigSource, select_states: bool, compare: str | None, seeds: int | None) -> None:
    """Fit the walk-forward regime model on the embedded default market, or CONFIG.toml, and report it.

    Prints the transition matrix, expected durations, state means in original units, share of days per regime,
    switches per year and the out-of-sample log-likelihood path; writes regimes.csv (date, regime, one
    probability column per regime), regimes.png, refits.csv and diagnostics.json into the output folder.
    With --select-states, also fits 2..5 states on the first 70 % of the usable rows and prints BIC and the
    held-out (last 30 %) predictive log-likelihood side by side (written to n_states.csv).
    """

    if compare is not None:
        _compare(source, compare)
        return
    if seeds is not None:
        _seeds(source, seeds)
        return
    cfg = source.resolve()  # a bad config fails here, before the stages' heavy imports
    from regimeshift.outputs import atomic_dir
    from regimeshift.pipeline import feature_stage, load_stage, regime_stage
    from regimeshift.regimes.diagnostics import (
        diagnose,
        format_diagnostics,
        plot_probabilities,
        regimes_frame,
    )

    out_dir = source.out or Path("runs") / cfg.name / "regimes"
    market = load_stage(cfg)
    features = feature_stage(cfg, market)
    result = regime_stage(cfg, features, market=market)
    diag = diagnose(result, list(features.columns))
    table = None
    if select_states:
        from regimeshift.regimes.features import stress_sign
        from regimeshift.regimes.model import select_n_states
        from regimeshift.regimes.walkforward import usable_block

        spec = cfg.regimes.spec([stress_sign(c) for c in features.columns], cfg.seed)
        table = select_n_states(usable_block(features), spec=spec)
    with atomic_dir(out_dir) as tmp:
        if table is not None:
            table.to_csv(tmp / "n_states.csv", float_format="%.10g", lineterminator="\n")
        regimes_frame(result).to_csv(
            tmp / "regimes.csv", float_format="%.10g", date_format="%Y-%m-%d", lineterminator="\n"
        )
        refits = result.refits.copy()
        refits.index.name = "date"
        refits.to_csv(tmp / "refits.csv", float_format="%.10g", date_format="%Y-%m-%d", lineterminator="\n")
        plot_probabilities(result, tmp / "regimes.png", title=f"{cfg.name}: regime probabilities (out of sample)")
        (tmp / "diagnostics.json").write_text(json.dumps(_diag_json(diag), indent=2) + "\n", encoding="utf-8")
    from regimeshift.pipeline import data_warnings

    for line in data_warnings(market):
        click.echo(f"warning: {line}")
    click.echo(format_diagnostics(diag, title=f"{cfg.name}: {', '.join(features.columns)}"))
    if table is not None:
        cols = ["n_params", "train_loglik", "bic", "oos_loglik", "oos_loglik_per_day", "best_bic", "best_oos"]
        with pd_options():
            click.echo("\nnumber of states (fit on the first 70 %, scored on the last 30 %):\n"
                       + table[[c for c in cols if c in table]].to_string())
    click.echo(f"\nwrote {out_dir / 'regimes.csv'}, {out_dir / 'regimes.png'}")


def _compare(source: ConfigSource, models: str) -> None:
    """``--compare``: regimeshift/model_compare.py; writes compare_models.csv beside the regimes output."""
    from regimeshift.model_compare import compare_models, parse_models
    from regimeshift.pipeline import load_stage

    cfg = source.resolve()
    table = compare_models(cfg, parse_models(models), load_stage(cfg))
    out_dir = source.out or Path("runs") / cfg.name / "regimes"
    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "compare_models.csv", float_format="%.10g", lineterminator="\n")
    with pd_options():
        click.echo(f"{cfg.name}: model families on the same features and schedule ({', '.join(cfg.features)})\n"
                   + table.to_string())
    if table.attrs.get("basis"):
        click.echo(f"basis: {table.attrs['basis']}")
    click.echo(f"\nwrote {out_dir / 'compare_models.csv'}")


def _seeds(source: ConfigSource, n: int) -> None:
    """``--seeds N``: regimeshift/seed_agreement.py; writes seeds.csv, seed_disagreements.csv, seed_agreement.json."""
    from regimeshift.outputs import atomic_dir
    from regimeshift.pipeline import load_stage
    from regimeshift.seed_agreement import seed_agreement, seed_list

    cfg = source.resolve()
    seeds = seed_list(cfg, n)
    click.echo(f"{cfg.name}: {n} runs, seeds {', '.join(map(str, seeds))} (each a whole walk-forward)", err=True)
    agreement = seed_agreement(cfg, seeds, load_stage(cfg))
    out_dir = source.out or Path("runs") / cfg.name / "regimes-seeds"
    with atomic_dir(out_dir) as tmp:
        agreement.per_seed.to_csv(tmp / "seeds.csv", float_format="%.10g", lineterminator="\n")
        dis = agreement.disagreements.copy()
        dis.index.name = "date"
        dis.columns = [f"seed_{c}" for c in dis.columns]
        dis.to_csv(tmp / "seed_disagreements.csv", date_format="%Y-%m-%d", lineterminator="\n")
        (tmp / "seed_agreement.json").write_text(json.dumps(agreement.as_dict(), indent=2) + "\n", encoding="utf-8")
    click.echo(agreement.describe())
    click.echo(f"\nwrote {out_dir / 'seeds.csv'}, {out_dir / 'seed_disagreements.csv'}, {out_dir / 'seed_agreement.json'}")


def pd_options():  # type: ignore[no-untyped-def]
    import pandas as pd

    return pd.option_context("display.width", 200, "display.float_format", "{:.2f}".format)


def _diag_json(d) -> dict:  # type: ignore[no-untyped-def]
    import math

    def clean(x):  # type: ignore[no-untyped-def]
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        if hasattr(x, "item"):
            x = x.item()
        if isinstance(x, float) and not math.isfinite(x):
            return None
        return x

    return clean(
        {
            "summary": d.summary,
            "transmat": d.transmat.to_dict(orient="index"),
            "expected_durations": d.expected_durations.to_dict(),
            "means": d.means.to_dict(orient="index"),
            "share": d.share.to_dict(),
            "switches_per_year": d.switches_per_year,
        }
    )


@click.command("cache")
@click.option("--clear", is_flag=True, help="Delete every stored walk-forward result.")
def cache(clear: bool) -> None:
    """Show where walk-forward results are cached, how many and how much space they take (--clear empties it).

    The folder is $REGIMESHIFT_CACHE, else $XDG_CACHE_HOME/regimeshift, else ~/.cache/regimeshift; it is kept
    under $REGIMESHIFT_CACHE_MAX_MB (default 512) by deleting the least recently used results.
    """
    from regimeshift.regimes import cache as regime_cache

    folder = regime_cache.cache_dir(True)
    if folder is None:
        click.echo("regime cache: off (REGIMESHIFT_CACHE=off)")
        return
    if clear:
        n = regime_cache.clear(folder)
        click.echo(f"regime cache: {folder}: deleted {n} result{'' if n == 1 else 's'}")
        return
    found = regime_cache.entries(folder)
    size = sum(s for _, s, _ in found) / 1024 / 1024
    limit = regime_cache.max_bytes() / 1024 / 1024
    click.echo(f"regime cache: {folder}: {len(found)} result{'' if len(found) == 1 else 's'}, "
               f"{size:.1f} MB of {limit:.0f} MB (least recently used deleted first)")
