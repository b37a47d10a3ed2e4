"""``regimeshift new strategy NAME [--path DIR]``: a documented strategy skeleton and its pytest test, written
into the user's strategy folder (the folder a config names as ``strategy.path``). The test runs as written."""
from __future__ import annotations

import keyword
from pathlib import Path

import click
from regimeshift.core.atomic import atomic_write_text
from regimeshift.core.errors import ConfigError

DEFAULT_FOLDER = "my_strategies"

STRATEGY = '''"""{name}: a regime strategy of your own (written by `regimeshift new strategy {name}`).

Run it by naming it in a config; the folder is read from the config file's folder, not from sys.path:

    [strategy]
    name = "{name}"
    path = "{folder}"
    params = {{ tilt = 0.5, lookback = 126 }}

What it does as written: the shipped blend (each sleeve's weight is the regime weights of the config averaged
by today's regime probabilities), then a trend filter: a sleeve whose return over the last ``lookback`` days
is negative gives ``tilt`` of its weight to cash. Change ``trend_filter`` or add algos of your own.

The contract (the run checks it and names the date that breaks it): ``target_weights(ctx)`` returns one row per
date of ``ctx.probabilities`` and one column per sleeve plus "cash", every weight >= 0, every row summing to 1.
Row t may use data up to the close of t only (rolling windows, ``shift``; never a full-sample statistic): the
replay trades it at the next bar.

``ctx`` holds: ``probabilities`` (date x regime, filtered), ``prices`` (date x symbol), ``sleeves`` (sleeve ->
symbol -> weight), ``regime_weights`` (regime -> sleeve -> weight), ``params`` (the config's [strategy.params])
and ``sleeve_returns`` (date x sleeve daily returns).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from regimeshift.strategies.algos import blend_by_probability, run_algos
from regimeshift.strategies.base import Param, StrategyContext

# What [strategy.params] may set: a misspelt name or a wrong type is refused in one line before any work.
PARAMS = {{
    "tilt": Param(float, 0.5, "share of a falling sleeve's weight moved to cash (0: none, 1: all)"),
    "lookback": Param(int, 126, "trading days the trend of each sleeve is measured over"),
}}


def _param(ctx: StrategyContext, key: str):  # noqa: ANN202
    return ctx.params.get(key, PARAMS[key].default)


def trend_filter(weights: pd.DataFrame, ctx: StrategyContext) -> pd.DataFrame:
    """An algo (weights in, weights out): move ``tilt`` of a sleeve with a negative trailing return to cash."""
    tilt, lookback = float(_param(ctx, "tilt")), int(_param(ctx, "lookback"))
    sleeves = [s for s in weights.columns if s != "cash"]
    # the log return over the ``lookback`` days up to and including t: known at the close of t (causal)
    trend = np.log1p(ctx.sleeve_returns[sleeves].fillna(0.0)).rolling(lookback).sum()
    falling = (trend < 0.0).astype(float)  # before a full window: NaN < 0 is False, nothing moves
    moved = weights[sleeves] * tilt * falling
    out = weights.copy()
    out[sleeves] = weights[sleeves] - moved
    out["cash"] = weights["cash"] + moved.sum(axis=1)
    return out


def target_weights(ctx: StrategyContext) -> pd.DataFrame:
    return run_algos([blend_by_probability, trend_filter], ctx)
'''

TEST = '''"""Tests of the strategy {name} (written by `regimeshift new strategy {name}`): `python -m pytest {folder}`.

They load the strategy the way a run does (from this folder, by name) and check it on a small made-up market.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from regimeshift.strategies.base import StrategyContext, check_weights
from regimeshift.strategies.registry import resolve_strategy
from regimeshift.strategies.sleeves import sleeve_returns

HERE = Path(__file__).resolve().parent
target_weights = resolve_strategy("{name}", HERE)

SLEEVES = {{"growth": {{"GROWTH": 1.0}}, "bonds": {{"BONDS": 1.0}}}}
REGIME_WEIGHTS = {{"calm": {{"growth": 0.9, "bonds": 0.1}}, "stressed": {{"bonds": 0.8}}}}


def market(days: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=days)
    prices = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0.0, 0.01, (days, 2)), axis=0)), index=dates,
                          columns=["GROWTH", "BONDS"])
    probabilities = pd.DataFrame(rng.dirichlet([1.0, 1.0], days), index=dates, columns=["calm", "stressed"])
    return prices, probabilities


def context(prices: pd.DataFrame, probabilities: pd.DataFrame, **params: object) -> StrategyContext:
    return StrategyContext(probabilities=probabilities, prices=prices, sleeves=SLEEVES,
                           regime_weights=REGIME_WEIGHTS, params=params,
                           sleeve_returns=sleeve_returns(prices, SLEEVES))


def test_weights_keep_the_contract():
    prices, probabilities = market()
    weights = target_weights(context(prices, probabilities))
    assert list(weights.columns) == ["growth", "bonds", "cash"]
    assert weights.index.equals(probabilities.index)
    check_weights(weights)  # finite, non-negative, each row sums to 1


def test_a_day_uses_nothing_after_it():
    prices, probabilities = market()
    t = 250
    before = target_weights(context(prices, probabilities))
    changed = prices.copy()
    changed.iloc[t + 1:] *= 1.5  # a different future
    after = target_weights(context(changed, probabilities))
    pd.testing.assert_frame_equal(before.iloc[: t + 1], after.iloc[: t + 1], rtol=1e-12)


def test_no_tilt_is_the_plain_blend():
    prices, probabilities = market()
    weights = target_weights(context(prices, probabilities, tilt=0.0))
    expected = 0.9 * probabilities["calm"]
    np.testing.assert_allclose(weights["growth"], expected, rtol=1e-12)


@pytest.mark.parametrize("tilt", [0.5, 1.0])
def test_a_falling_sleeve_gives_weight_to_cash(tilt):
    prices, probabilities = market()
    prices["GROWTH"] = np.linspace(200.0, 100.0, len(prices))  # growth falls every day
    weights = target_weights(context(prices, probabilities, tilt=tilt, lookback=20))
    late = weights.iloc[30:]
    np.testing.assert_allclose(late["growth"], 0.9 * probabilities["calm"].iloc[30:] * (1 - tilt), rtol=1e-12)
'''


def write_skeleton(name: str, folder: Path) -> tuple[Path, Path]:
    """Write ``<folder>/<name>.py`` and ``<folder>/test_<name>.py``; refuse a name that is not a Python
    identifier and either file already there (nothing is written then)."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ConfigError(f"NAME: {name!r} is not a Python identifier (expected a module name such as "
                          "momentum_tilt: letters, digits and _, not starting with a digit)")
    module, test = folder / f"{name}.py", folder / f"test_{name}.py"
    for path in (module, test):
        if path.exists():
            raise ConfigError(f"{path}: already exists (choose another NAME, or remove the file)")
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--path: {folder} is a file (expected a folder of strategy modules)")
    folder.mkdir(parents=True, exist_ok=True)
    shown = folder.as_posix()
    atomic_write_text(module, STRATEGY.format(name=name, folder=shown))
    try:
        atomic_write_text(test, TEST.format(name=name, folder=shown))
    except BaseException:
        module.unlink(missing_ok=True)  # both files or neither
        raise
    return module, test


@click.group()
def new() -> None:
    """Start something of your own from a documented skeleton."""


@new.command()
@click.argument("name")
@click.option("--path", "folder", type=click.Path(path_type=Path), default=Path(DEFAULT_FOLDER), show_default=True,
              help="The strategy folder (a config names it as strategy.path, relative to the config file).")
def strategy(name: str, folder: Path) -> None:
    """Write NAME.py (a strategy skeleton) and test_NAME.py (its test) into the strategy folder."""
    module, test = write_skeleton(name, folder)
    click.echo(f"wrote {module} and {test}")
    click.echo(f'use it: [strategy] name = "{name}", path = "<{folder} relative to the config file>"; '
               f"test it: python -m pytest {test}")
