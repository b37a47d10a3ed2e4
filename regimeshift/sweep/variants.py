"""A sweep's variants, made one at a time.

:class:`VariantSpace` is the grid (last key fastest) crossed with the seeded random draws, in the order of
SWEEP.toml. It is a lazy sequence: ``len`` is a product of sizes, iteration builds each variant's config only
when it is reached, and ``space[i]`` builds variant ``i`` alone -- so a sweep of millions of variants costs no
more memory than one of ten. The draws replay one seeded stream, so variant ``i`` is the same whichever way it
is reached (and the same as when every variant was held in a list).
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from regimeshift.backtests.config import RunConfig, config_from_dict
from regimeshift.core.errors import ConfigError

# part of every variant's hash: bump when the screening rules change (screen-2: ratios over the run's
# risk-free rate, and each variant's static twin)
ENGINE_VERSION = "screen-2"

# regime-fit inputs: variants equal on these share one walk-forward fit
REGIME_KEYS = ("seed", "data", "features", "regimes")


@dataclass(frozen=True)
class Variant:
    index: int
    params: dict[str, Any]  # dotted key -> value, as swept
    config: RunConfig | None  # None: impossible
    reason: str = ""  # why it is impossible
    normalized: tuple[str, ...] = ()  # regimes whose weights were scaled to sum to 1

    @property
    def key(self) -> str:
        """Variant hash: the resolved config (or the params of an impossible one) and the engine version."""
        body = self.config.model_dump(mode="json") if self.config is not None else {"impossible": self.params}
        blob = json.dumps({"engine": ENGINE_VERSION, "config": body}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    @property
    def regime_key(self) -> str:
        assert self.config is not None
        dump = self.config.model_dump(mode="json")
        return json.dumps({k: dump[k] for k in REGIME_KEYS}, sort_keys=True)


def assign_creating(tree: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def draws(rnd: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The random section's n draws, one at a time from its seed (one draw per grid point: {} without one)."""
    if not rnd:
        yield {}
        return
    rng = np.random.default_rng(int(rnd.get("seed", 0)))
    keys = [k for k in rnd if k not in ("n", "seed")]
    for _ in range(int(rnd["n"])):
        draw: dict[str, Any] = {}
        for key in keys:
            rule = rnd[key]
            if "choices" in rule:
                draw[key] = rule["choices"][int(rng.integers(len(rule["choices"])))]
            elif isinstance(rule["low"], int) and isinstance(rule["high"], int):
                draw[key] = int(rng.integers(rule["low"], rule["high"] + 1))
            else:
                draw[key] = round(float(rng.uniform(rule["low"], rule["high"])), 10)
        yield draw


_ATOMS = (str, int, float, bool, type(None))


def _copy_tree(tree: Any) -> Any:
    """A copy of a JSON-like tree (a model_dump(mode="json") or a swept value): copy.deepcopy's result, several
    times sooner -- a sweep copies the base config once per variant."""
    kind = type(tree)
    if kind is dict:
        return {k: _copy_tree(v) for k, v in tree.items()}
    if kind is list:
        return [_copy_tree(v) for v in tree]
    return tree if kind in _ATOMS else copy.deepcopy(tree)


def _normalize_weights(raw: dict[str, Any]) -> tuple[str, ...]:
    scaled = []
    for regime, row in raw.get("strategy", {}).get("weights", {}).items():
        if not isinstance(row, dict):
            continue
        total = sum(float(w) for w in row.values() if isinstance(w, (int, float)))
        if total > 1 + 1e-12:
            for s in row:
                row[s] = float(row[s]) / total
            scaled.append(regime)
    return tuple(scaled)


class VariantSpace(Sequence[Variant]):
    """Every variant of a base config under a grid and a random section, built on demand."""

    def __init__(self, base: RunConfig, grid: dict[str, list[Any]], rnd: dict[str, Any], weights: str,
                 where: str) -> None:
        self.base, self.grid, self.random, self.weights, self.where = base, grid, rnd, weights, where
        self._keys = list(grid)
        self._n_draws = int(rnd["n"]) if rnd else 1
        self._dump: dict[str, Any] | None = None

    def __len__(self) -> int:
        return math.prod(len(self.grid[k]) for k in self._keys) * self._n_draws

    def params(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(index, swept values) of every variant in order, without building any config."""
        index = 0
        for combo in itertools.product(*(self.grid[k] for k in self._keys)):
            for draw in draws(self.random):  # the same n draws at every grid point
                params = dict(zip(self._keys, combo))
                params.update(draw)
                yield index, params
                index += 1

    def __iter__(self) -> Iterator[Variant]:
        for index, params in self.params():
            yield self.make(index, params)

    @overload
    def __getitem__(self, i: int) -> Variant: ...

    @overload
    def __getitem__(self, i: slice) -> list[Variant]: ...

    def __getitem__(self, i: int | slice) -> Variant | list[Variant]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"variant {i} of {n}")
        combo_at, draw_at = divmod(i, self._n_draws)
        combo = []
        for key in reversed(self._keys):  # mixed radix, last key fastest
            combo_at, pos = divmod(combo_at, len(self.grid[key]))
            combo.append(self.grid[key][pos])
        params = dict(zip(self._keys, reversed(combo)))
        params.update(next(itertools.islice(draws(self.random), draw_at, None)))
        return self.make(i, params)

    def make(self, index: int, params: dict[str, Any]) -> Variant:
        """The base config with ``params`` set; an impossible variant carries the config's reason instead."""
        if self._dump is None:
            self._dump = self.base.model_dump(mode="json")
        raw = _copy_tree(self._dump)
        for key, value in params.items():
            assign_creating(raw, key, _copy_tree(value))
        normalized: tuple[str, ...] = ()
        if self.weights == "normalize":
            normalized = _normalize_weights(raw)
        try:
            cfg = config_from_dict(raw, self.where)
        except ConfigError as err:
            return Variant(index, params, None, str(err).removeprefix(f"{self.where}: "))
        return Variant(index, params, cfg, "", normalized)

    def shape(self) -> str:
        """The sweep's size as a product: ``3 x 2 x 100 draws``."""
        parts = [str(len(self.grid[k])) for k in self._keys]
        if self.random:
            parts.append(f"{self._n_draws} draw{'s' if self._n_draws != 1 else ''}")
        return " x ".join(parts)

    def n_regime_settings(self) -> int:
        """An upper bound of the distinct regime fits, from the sizes alone (no variant is built)."""
        n = math.prod(len(self.grid[k]) for k in self._keys if k.split(".")[0] in REGIME_KEYS)
        if any(k.split(".")[0] in REGIME_KEYS for k in self.random if k not in ("n", "seed")):
            n *= self._n_draws
        return n

    def regime_settings(self) -> Iterator[RunConfig]:
        """One config per distinct regime fit, streamed: only a value under seed, data, features or regimes can
        change the fit, so only those keys are walked (the others stay at their first value) -- never every
        variant. A setting whose representative is impossible is skipped here; the screening fits it when a
        possible variant of it comes up."""
        fixed = {k: self.grid[k][0] for k in self._keys if k.split(".")[0] not in REGIME_KEYS}
        regime_keys = [k for k in self._keys if k not in fixed]
        seen: set[str] = set()
        for combo in itertools.product(*(self.grid[k] for k in regime_keys)):
            for draw in draws(self.random):
                params = {**fixed, **dict(zip(regime_keys, combo)), **draw}
                sig = json.dumps({k: v for k, v in params.items() if k.split(".")[0] in REGIME_KEYS},
                                 sort_keys=True, default=str)
                if sig in seen:
                    continue
                seen.add(sig)
                cfg = self.make(-1, {k: params[k] for k in self._keys + [k for k in draw if k not in self._keys]})
                if cfg.config is not None:
                    yield cfg.config
