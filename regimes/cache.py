"""Content-addressed cache of walk-forward results.

The key is the sha256 of: a code version string (the source of the regime engine and the versions of the
libraries it runs on), the feature frame's values, index and column names, and every regime parameter. Same
bytes in -> same result out, so a hit returns exactly what the computation would have returned (the walk-forward
is deterministic), and a change to any input on any day -- including days after t -- is a different key: the
cache can never hand a result computed on other data to a run, so it cannot break no-look-ahead.

Where: ``$REGIMESHIFT_CACHE``, else ``$XDG_CACHE_HOME/regimeshift``, else ``~/.cache/regimeshift`` (never inside
the repository's packages). ``REGIMESHIFT_CACHE=off`` disables it. Entries are ``.npz`` files of plain arrays
plus one JSON string (no pickle), written to a temporary file and renamed into place; the JSON holds a sha256 of
the arrays, checked on load. An unreadable, altered or mismatching entry is ignored (said at debug level) and
rewritten.

Eviction: least recently used first. A hit refreshes its entry's modification time; after every write the
folder is pruned to ``$REGIMESHIFT_CACHE_MAX_MB`` (default 512 MB) and leftover temporary files of crashed
writers older than an hour are removed. Entries of an older engine version can never hit again, so they age
out the same way. ``regimeshift cache`` shows the folder; ``regimeshift cache --clear`` empties it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from regimeshift.core.errors import RegimeshiftError

FORMAT = 2  # 2: entries carry a sha256 of their arrays, verified on load
# every module of the regimes package: a fit runs code from most of them, and a list kept by hand missed the
# compiled EM kernels (lattice_kernel.py, t_density_kernel.py), so editing them left stale fits valid; an edit
# of a module that does not change fits costs one refit
_ENGINE_FILES = tuple(sorted(p.name for p in Path(__file__).resolve().parent.glob("*.py")))
_OFF = {"off", "0", "false", "no", "none"}
_PACKAGES = ("regimeshift", "core", "data", "regimes", "backtests", "strategies", "reports")
DEFAULT_MAX_MB = 512.0
log = logging.getLogger(__name__)
_STALE_TMP_SECONDS = 3600.0


def _code_version() -> str:
    h = hashlib.sha256(f"format {FORMAT}".encode())
    here = Path(__file__).resolve().parent
    for name in _ENGINE_FILES:
        h.update(name.encode())
        h.update((here / name).read_bytes())
    for dist in ("numpy", "scipy", "scikit-learn", "hmmlearn", "jumpmodels", "numba"):
        try:
            h.update(f"{dist}={metadata.version(dist)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{dist}=?".encode())
    return h.hexdigest()[:16]


CODE_VERSION = _code_version()


def cache_dir(location: bool | str | os.PathLike[str] | None = True) -> Path | None:
    """The cache folder, or None when caching is off. ``location``: True = the default rule, a path = that."""
    if location is None or location is False:
        return None
    if location is True:
        env = os.environ.get("REGIMESHIFT_CACHE", "").strip()
        if env.lower() in _OFF:
            return None
        if env:
            path = Path(env)
        else:
            xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
            path = (Path(xdg) if xdg else Path.home() / ".cache") / "regimeshift"
    else:
        path = Path(location)
    path = path.expanduser().resolve()
    repo = Path(__file__).resolve().parents[1]
    for pkg in _PACKAGES:
        if path == repo / pkg or (repo / pkg) in path.parents:
            raise RegimeshiftError(f"regime cache: {path} is inside the package '{pkg}'; set REGIMESHIFT_CACHE elsewhere")
    return path


def cache_key(features: pd.DataFrame, params: dict[str, Any]) -> str:
    h = hashlib.sha256(CODE_VERSION.encode())
    values = np.ascontiguousarray(features.to_numpy(dtype=np.float64))
    h.update(repr(values.shape).encode())
    h.update(values.tobytes())
    index = pd.DatetimeIndex(features.index)
    h.update(f"{index.tz} {index.dtype}".encode())
    h.update(np.ascontiguousarray(index.asi8).tobytes())
    h.update(json.dumps([str(c) for c in features.columns]).encode())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    return h.hexdigest()


def cached(
    features: pd.DataFrame,
    params: dict[str, Any],
    compute: Callable[[], Any],
    location: bool | str | os.PathLike[str] | None = True,
) -> Any:
    """``compute()`` (a RegimeResult), or the stored result of an identical earlier call."""
    from regimeshift.regimes.result import RegimeResult

    folder = cache_dir(location)
    if folder is None:
        return compute()
    max_bytes()  # a bad REGIMESHIFT_CACHE_MAX_MB fails now, warm cache or cold, not only when pruning
    key = cache_key(features, params)
    path = folder / "walkforward" / f"{key}.npz"
    t0 = time.perf_counter()
    hit = load(path, key)
    if hit is not None:
        _touch(path)
        return RegimeResult(
            hit.probabilities, hit.refits, hit.model, hit.oos_loglik, time.perf_counter() - t0, hit.loglik_path,
            cached=True, meta={**hit.meta, "cache_key": key, "cache_path": str(path)},
        )
    result = compute()
    try:
        save(path, key, result)
        prune(folder)
    except OSError:
        pass  # a read-only or full disk costs the cache, not the run
    # the run goes on with the stored form, as every later run of these fits will: a model rebuilt from stored
    # arrays rounds its derived figures (the naming report's z-gaps) in the last bits differently from the live
    # one, and the first run's metrics.json then differed from the second's
    stored = load(path, key)
    model = stored.model if stored is not None else result.model
    return RegimeResult(
        result.probabilities, result.refits, model, result.oos_loglik, result.seconds, result.loglik_path,
        cached=False, meta={**result.meta, "cache_key": key, "cache_path": str(path)},
    )


# -- eviction ----------------------------------------------------------------------------------------------------
def max_bytes() -> int:
    """The size cap from ``$REGIMESHIFT_CACHE_MAX_MB`` (a number of megabytes), else :data:`DEFAULT_MAX_MB`."""
    raw = os.environ.get("REGIMESHIFT_CACHE_MAX_MB", "").strip()
    try:
        mb = float(raw) if raw else DEFAULT_MAX_MB
    except ValueError:
        raise RegimeshiftError(
            f"REGIMESHIFT_CACHE_MAX_MB: {raw!r} is not a number (expected megabytes, e.g. 512)"
        ) from None
    if not mb >= 0:
        raise RegimeshiftError(f"REGIMESHIFT_CACHE_MAX_MB: {raw!r} must be >= 0")
    return int(mb * 1024 * 1024)


def entries(folder: Path) -> list[tuple[Path, int, float]]:
    """(path, bytes, last use) of every stored result, least recently used first."""
    out = []
    for p in (folder / "walkforward").glob("*.npz"):
        try:
            st = p.stat()
        except OSError:  # removed by a concurrent prune
            continue
        out.append((p, st.st_size, st.st_mtime))
    return sorted(out, key=lambda e: (e[2], e[0].name))


def prune(folder: Path, limit: int | None = None, *, now: float | None = None) -> list[Path]:
    """Delete least recently used entries until the total is <= ``limit`` bytes (default :func:`max_bytes`),
    and temporary files older than an hour. Returns what was deleted."""
    limit = max_bytes() if limit is None else limit
    now = time.time() if now is None else now
    removed: list[Path] = []
    for tmp in (folder / "walkforward").glob(".*.tmp"):
        try:
            if now - tmp.stat().st_mtime > _STALE_TMP_SECONDS:
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            continue
    found = entries(folder)
    total = sum(size for _, size, _ in found)
    for path, size, _ in found:
        if total <= limit:
            break
        try:
            path.unlink()
        except OSError:
            continue
        removed.append(path)
        total -= size
    return removed


def clear(folder: Path) -> int:
    """Delete every stored result; returns how many."""
    return len(prune(folder, limit=0, now=float("inf")))


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass  # a read-only cache still serves hits; it just cannot record the use


# -- file format -------------------------------------------------------------------------------------------------
def save(path: Path, key: str, result: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    probs = result.probabilities
    refits = result.refits
    arrays: dict[str, np.ndarray] = {
        "probs": probs.to_numpy(dtype=float),
        "probs_index": _naive_values(probs.index),
        "path_values": result.loglik_path.to_numpy(dtype=float),
        "path_index": _naive_values(result.loglik_path.index),
        "refits_index": _naive_values(pd.DatetimeIndex(refits.index)),
    }
    for col in refits.columns:
        values = refits[col].to_numpy()
        # text columns (the family emission "auto" used) as fixed-width strings: object arrays would need pickle
        arrays[f"refit__{col}"] = values.astype(str) if values.dtype == object else values
    model_arrays, model_scalars = result.model.to_state()
    for name, a in model_arrays.items():
        arrays[f"model__{name}"] = np.asarray(a)
    meta = {
        "key": key,
        "code_version": CODE_VERSION,
        "columns": [str(c) for c in probs.columns],
        "refit_columns": [str(c) for c in refits.columns],
        "tz": None if probs.index.tz is None else str(probs.index.tz),
        "index_name": probs.index.name,
        "freq": probs.index.freqstr,
        "path_freq": result.loglik_path.index.freqstr,
        "oos_loglik": result.oos_loglik,
        "seconds": result.seconds,
        "model": model_scalars,
    }
    meta["checksum"] = arrays_checksum(arrays)
    arrays["meta"] = np.array(json.dumps(meta, default=_json_default))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem[:16]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            # mypy checks a ** mapping against every keyword of savez, allow_pickle: bool included
            np.savez(fh, **cast("dict[str, Any]", arrays))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def arrays_checksum(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over every array's name, dtype, shape and bytes (``meta`` excluded: it holds the checksum)."""
    h = hashlib.sha256()
    for name in sorted(k for k in arrays if k != "meta"):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes() if a.dtype != object else repr(a.tolist()).encode())
    return h.hexdigest()


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def load(path: Path, key: str) -> Any | None:
    """The stored RegimeResult, or None when missing, unreadable, truncated or for another key."""
    from regimeshift.regimes.result import RegimeResult

    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("key") != key or meta.get("code_version") != CODE_VERSION:
                return None
            if meta.get("checksum") != arrays_checksum({k: z[k] for k in z.files}):
                log.debug("regime cache: %s: arrays do not match their checksum; recomputing", path)
                return None
            tz = meta["tz"]
            index = _index(z["probs_index"], tz, meta["index_name"], meta["freq"])
            probs = pd.DataFrame(z["probs"], index=index, columns=meta["columns"])
            path_index = _index(z["path_index"], tz, meta["index_name"], meta["path_freq"])
            loglik_path = pd.Series(z["path_values"], index=path_index, name="loglik")
            refit_index = _index(z["refits_index"], tz, "date", None)
            refits = pd.DataFrame({c: z[f"refit__{c}"] for c in meta["refit_columns"]}, index=refit_index)
            model_arrays = {k.removeprefix("model__"): z[k] for k in z.files if k.startswith("model__")}
            model = _model_from_state(model_arrays, meta["model"])
            if probs.shape[1] != model.n_states or not np.all(np.isfinite(probs.to_numpy())):
                return None
        return RegimeResult(probs, refits, model, float(meta["oos_loglik"]), float(meta["seconds"]), loglik_path)
    except Exception as exc:  # any damage (truncation, bad zip, missing member, bad JSON): a miss, to be rewritten
        log.debug("regime cache: %s: unreadable (%s); recomputing", path, exc)
        return None


def _model_from_state(arrays: dict[str, np.ndarray], scalars: dict[str, Any]) -> Any:
    """The stored model, by the family its state names (the HMM's state carries no class tag)."""
    kind = scalars.get("class", "hmm")
    if kind == "jump":
        from regimeshift.regimes.jump import JumpRegimeModel

        return JumpRegimeModel.from_state(arrays, scalars)
    if kind == "gmmhmm":
        from regimeshift.regimes.gmmhmm import GMMRegimeModel

        return GMMRegimeModel.from_state(arrays, scalars)
    from regimeshift.regimes.stored_hmm import StoredHMM  # the real LiquidityHMM (hmmlearn...) only on demand

    return StoredHMM(arrays, scalars)


def series_digest(s: pd.Series) -> str:
    """sha256 of a series' values and dates (a walk input beside the features, e.g. returns for penalty CV)."""
    h = hashlib.sha256(np.ascontiguousarray(s.to_numpy(dtype=np.float64)).tobytes())
    h.update(np.ascontiguousarray(pd.DatetimeIndex(s.index).asi8).tobytes())
    return h.hexdigest()[:16]


def _naive_values(index: pd.Index) -> np.ndarray:
    """datetime64 values in the index's own unit (UTC wall times when tz-aware)."""
    index = pd.DatetimeIndex(index)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return index.values


def _index(values: np.ndarray, tz: str | None, name: Any, freq: str | None) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(values, name=name)
    if tz:
        index = index.tz_localize("UTC").tz_convert(tz)
    if freq:
        index = pd.DatetimeIndex(index, freq=freq)
    return index
