"""SWEEP.toml: a base config and what varies, checked whole before any work starts.

::

    base = "backtests/configs/liquidity_rotation.toml"   # relative to SWEEP.toml (omit: the embedded default)
    metric = "sharpe"          # what ranks the leaderboard: sharpe, cagr, sortino, calmar, max_drawdown,
                               # total_return, timing_sharpe (Sharpe minus the variant's static twin's)
    weights = "normalize"      # a regime's weights summing above 1: "normalize" (scale to 1) or "reject"

    [grid]                     # dotted keys of the base config -> lists; every combination is a variant
    "strategy.weights.tightening.value" = [0.3, 0.4, 0.5]
    "execution.rebalance" = ["monthly", "quarterly"]

    [random]                   # n more variants drawn with a seed: {low, high} (uniform; ints stay ints) or
    n = 100                    # {choices = [...]} per key
    seed = 1
    "execution.commission_bps" = { low = 2, high = 10 }

Bad input (an unknown key, a key the base config does not have, an empty grid, a value of the wrong type) is
one :class:`ConfigError` ``SWEEP.toml: <key>: <what was expected>``. A combination the config rejects (e.g.
weights above 1 with ``weights = "reject"``) is an *impossible variant*: reported, not dropped silently.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, ValidationError

from regimeshift.backtests.config import RunConfig, load_config
from regimeshift.core.constants import CASH
from regimeshift.core.errors import ConfigError
from regimeshift.core.toml_files import read_toml
from regimeshift.core.strict import StrictSettings
from regimeshift.sweep.variants import ENGINE_VERSION, REGIME_KEYS, Variant, VariantSpace
from regimeshift.sweep.variants import assign_creating as _assign_creating

__all__ = ["ENGINE_VERSION", "METRICS", "REGIME_KEYS", "SweepSpec", "Variant", "VariantSpace", "load_spec"]

# sharpe and sortino: daily excess returns over the base config's risk-free rate (reports/metrics.py);
# timing_sharpe: the variant's excess Sharpe minus its own static twin's (its average weights held)
METRICS = ("sharpe", "cagr", "sortino", "calmar", "max_drawdown", "total_return", "timing_sharpe")


class RandomSettings(StrictSettings):
    """``[random]``: n draws with a seed; every other key is a dotted key of the base config with its rule
    ({low, high} or {choices}), checked against the base config by ``load_spec``."""

    model_config = ConfigDict(extra="allow")
    n: int = Field(ge=1, description="a whole number >= 1")
    seed: int = Field(default=0, ge=0, description="a whole number >= 0")


class SweepSettings(StrictSettings):
    """SWEEP.toml's own settings, strict like every settings model (core/strict.py). What varies (the grid's
    and [random]'s dotted keys) is checked value by value against the base config."""

    base: str | None = Field(default=None, description="a path to a config file (string)")
    metric: Literal[METRICS] = Field(default="sharpe", description=f"one of {', '.join(METRICS)}")
    weights: Literal["normalize", "reject"] = Field(default="normalize", description='"normalize" or "reject"')
    top: int | None = Field(default=None, ge=0, description="a whole number >= 0")
    name: Annotated[str, StringConstraints(pattern=r"^[^/]+$")] | None = Field(
        default=None, description="a plain name (no slash)")
    grid: dict[str, Any] = Field(default_factory=dict, description="a table of dotted keys to lists")
    random: RandomSettings | None = Field(
        default=None, description="a table (n, seed, and {low, high} or {choices} per key)")


TOP_KEYS = set(SweepSettings.model_fields)


def _settings_error(where: str, err: ValidationError) -> ConfigError:
    """One line for the first wrong setting, in the words its declaration gives (``description``)."""
    first = err.errors()[0]
    loc = [str(p) for p in first["loc"]]
    if first["type"] == "extra_forbidden":
        return _fail(where, ".".join(loc), f"unknown key (expected one of {', '.join(sorted(TOP_KEYS))})")
    model: Any = SweepSettings
    description = None
    for part in loc:
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            break
        description = info.description
        model = next((a for a in getattr(info.annotation, "__args__", (info.annotation,)) if hasattr(a, "model_fields")),
                     None)
    if first["type"] == "missing":
        return _fail(where, ".".join(loc), f"missing (expected {description})")
    expected = f"expected {description}" if description else first["msg"]
    return _fail(where, ".".join(loc), f"{expected}, got {first.get('input')!r}")


@dataclass(frozen=True)
class SweepSpec:
    path: Path
    base: RunConfig
    grid: dict[str, list[Any]]
    random: dict[str, Any]
    metric: str = "sharpe"
    weights: str = "normalize"
    top: int | None = None
    name: str = "sweep"

    @property
    def swept_keys(self) -> list[str]:
        keys = list(self.grid)
        keys += [k for k in self.random if k not in ("n", "seed") and k not in keys]
        return keys

    @cached_property
    def variants(self) -> VariantSpace:
        """Every variant, built when reached: ``len``, iteration and ``variants[i]`` without a list of them."""
        return VariantSpace(self.base, self.grid, self.random, self.weights, self.path.name)


def _fail(where: str, key: str, expected: str) -> ConfigError:
    return ConfigError(f"{where}: {key}: {expected}")


def _lookup(tree: dict[str, Any], key: str) -> tuple[bool, Any]:
    node: Any = tree
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _assign(tree: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = tree
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value


def _key_exists(base: RunConfig, dump: dict[str, Any], key: str) -> tuple[bool, Any]:
    """The key and the base value; a weight leaf absent from the base (weight 0) exists if its regime and
    sleeve do."""
    found, value = _lookup(dump, key)
    if found:
        return True, value
    parts = key.split(".")
    if len(parts) == 4 and parts[:2] == ["strategy", "weights"]:
        if parts[2] in base.regimes.names and (parts[3] in base.sleeves or parts[3] == CASH):
            return True, 0.0
    return False, None


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _same_kind(base_value: Any, value: Any) -> bool:
    if base_value is None:
        return True  # an optional left unset: the config's own check decides
    if isinstance(base_value, bool) or isinstance(value, bool):
        return isinstance(base_value, bool) and isinstance(value, bool)
    if isinstance(base_value, (int, float)):
        return isinstance(value, (int, float))
    if isinstance(base_value, str):
        return isinstance(value, (str, int))  # refit/window: a rule name or a number of days
    if isinstance(base_value, (list, tuple)):
        return isinstance(value, list)
    if isinstance(base_value, dict):
        return isinstance(value, dict)
    return True


TYPE_ERRORS = ("_type", "_parsing", "literal_error", "enum", "missing", "extra_forbidden")


def _check_value(where: str, key: str, base: RunConfig, dump: dict[str, Any], value: Any) -> None:
    """One value alone in the base config: a wrong type is bad input (a bad combination is not)."""
    found, base_value = _key_exists(base, dump, key)
    raw = copy.deepcopy(dump)
    _assign_creating(raw, key, value)
    try:
        RunConfig.model_validate(raw)
    except ValidationError as err:
        # valid alone is valid whatever its kind (smooth_days = "cv" beside a base of 1); otherwise a value of
        # another kind than the base's is named as such
        if not _same_kind(base_value, value):
            raise _fail(where, key, f"expected {_type_name(base_value)}, got {value!r}") from None
        for e in err.errors():
            if any(t in e["type"] for t in TYPE_ERRORS):
                msg = e["msg"].removeprefix("Value error, ")
                raise _fail(where, key, f"{msg} (got {value!r})") from None


def load_spec(path: str | Path, data_dir: str | Path | None = None, allow_gaps: bool = False) -> SweepSpec:
    """Read and check SWEEP.toml: every key and value alone, before any work. The variants themselves are made
    as the sweep reaches them (``spec.variants``); a combination the config rejects is an impossible variant."""
    p = Path(path)
    where = p.name
    if not p.is_file():
        raise ConfigError(f"{p}: sweep file not found")
    raw = read_toml(p, where)
    try:
        settings = SweepSettings.model_validate(raw)
    except ValidationError as err:
        raise _settings_error(where, err) from None
    base_path = settings.base
    if base_path is None:
        base = load_config(None)
    else:
        bp = Path(base_path)
        if not bp.is_absolute():
            bp = p.parent / bp
        try:
            base = load_config(bp)
        except ConfigError as err:
            raise _fail(where, "base", str(err)) from None
    if data_dir is not None:
        from regimeshift.backtests.config import with_overrides

        base = with_overrides(base, dir=str(data_dir))
    if allow_gaps:  # --allow-gaps: every variant fills price gaps forward (and reports them)
        from regimeshift.backtests.config import with_overrides

        base = with_overrides(base, allow_gaps=True)
    metric, weights_rule, top = settings.metric, settings.weights, settings.top
    name = settings.name if settings.name is not None else p.stem

    dump = base.model_dump(mode="json")
    grid = raw.get("grid", {})
    rnd = raw.get("random", {})
    if not grid and not rnd:
        raise _fail(where, "grid", "empty: name at least one dotted key with a list of values (or a [random] section)")
    _check_one_basis(where, base, [*grid, *(k for k in rnd if k not in ("n", "seed"))])
    for key, values in grid.items():
        if not _key_exists(base, dump, key)[0]:
            raise _fail(where, key, "not a key of the base config")
        if not isinstance(values, list):
            raise _fail(where, f"grid.{key}", f"expected a list of values, got {values!r}")
        if not values:
            raise _fail(where, f"grid.{key}", "empty list (expected at least one value)")
        for v in values:
            _check_value(where, key, base, dump, v)
    if rnd:
        ranges = {k: v for k, v in rnd.items() if k not in ("n", "seed")}
        if not ranges:
            raise _fail(where, "random", "empty: name at least one key with {low, high} or {choices}")
        for key, rule in ranges.items():
            if not _key_exists(base, dump, key)[0]:
                raise _fail(where, key, "not a key of the base config")
            if not isinstance(rule, dict) or not (set(rule) == {"low", "high"} or set(rule) == {"choices"}):
                raise _fail(where, f"random.{key}", "expected { low = x, high = y } or { choices = [...] }")
            if "choices" in rule:
                if not isinstance(rule["choices"], list) or not rule["choices"]:
                    raise _fail(where, f"random.{key}", "choices: expected a non-empty list")
                for v in rule["choices"]:
                    _check_value(where, key, base, dump, v)
            else:
                lo, hi = rule["low"], rule["high"]
                if any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in (lo, hi)) or lo > hi:
                    raise _fail(where, f"random.{key}", f"expected numbers low <= high, got {lo!r}, {hi!r}")
                _check_value(where, key, base, dump, lo)
    return SweepSpec(p, base, grid, rnd, metric, weights_rule, top, name)


def _check_one_basis(where: str, base: RunConfig, swept: list[str]) -> None:
    """Every variant's ratios must be over one rate, or the leaderboard ranks them on different bases."""
    if "report.risk_free" in swept:
        raise _fail(where, "report.risk_free", "every variant is measured over one rate: set it in the base "
                    "config, do not sweep it")
    if "data.cash_rate" in swept and base.report.risk_free is None:
        raise _fail(where, "data.cash_rate", "swept while the ratios' rate follows it (report.risk_free unset): "
                    "set report.risk_free in the base config so every variant is measured over one rate")
