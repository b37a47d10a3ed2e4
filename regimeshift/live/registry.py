"""The registry of a live folder: which model produced which decision, and the means to reproduce it.

Layout (inside the live folder, beside signal.json)::

    registry/fits/<FIT_ID>/params.npz     the last regime model's arrays (start probabilities, transitions,
                                          means, covariances, scalers, state order) -- plain arrays, no pickle
    registry/fits/<FIT_ID>/fit.json       its scalars: refit date, training range and rows, log-likelihood,
                                          EM iterations, convergence, config and data hashes
    registry/configs/<CONFIG_HASH>.toml   the resolved config
    registry/decisions/<AS_OF>-<DATA_HASH>.json
                                          one evening's decision: regime, probabilities, targets, the fit id, the
                                          config hash and every series read (rows, last date, content hash)

``FIT_ID`` is a hash of the model's contents, so an evening without a refit points at the fit of the evening
before. A decision read from a store is reproduced by :func:`reproduce`: the store keeps every version a
restatement replaced, the series are cut to the recorded lengths and checked against their hashes, the whole
pipeline is re-run without the regime cache, and fit and decision must agree bit for bit.
"""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from regimeshift.core.errors import DataError
from regimeshift.core.toml_files import read_toml
from regimeshift.core.jsonsafe import json_safe
from regimeshift.core.versions import library_versions

REGISTRY = "registry"


def _arrays_hash(arrays: dict[str, np.ndarray], scalars: dict[str, Any]) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(np.asarray(arrays[key]))
        h.update(f"{key}:{a.dtype.str}:{a.shape}\0".encode())
        h.update(a.tobytes())
    h.update(json.dumps(json_safe(scalars), sort_keys=True).encode())
    return h.hexdigest()


def data_hash(provenance: dict[str, Any] | None) -> str:
    blob = json.dumps(provenance or {}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def fit_state(result: Any) -> tuple[str, dict[str, np.ndarray], dict[str, Any]]:
    """The run's last regime model as (fit id, arrays, scalars incl. its training range)."""
    model = result.regimes.model
    arrays, scalars = model.to_state()
    refits = result.regimes.refits
    last = refits.iloc[-1]
    refit_day = pd.Timestamp(refits.index[-1])
    feats = result.features.index
    pos = int(feats.searchsorted(refit_day))
    n_train = int(last["n_train"])
    train_first = feats[max(pos + 1 - n_train, 0)]
    fit = {
        "refit_date": str(refit_day.date()),
        "train_first": str(pd.Timestamp(train_first).date()),
        "train_last": str(refit_day.date()),
        "n_train": n_train,
        "loglik": float(last["loglik"]),
        "n_iter": int(last["n_iter"]),
        # hmmlearn reports converged when EM merely ran out of iterations: the walk-forward already treats
        # n_iter >= the cap as not converged, and its refits table is what is recorded here
        "converged": bool(last["converged"]),
        "fallback": bool(last.get("fallback", False)),
        "model": scalars,
    }
    return _arrays_hash(arrays, scalars)[:16], arrays, fit


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    return buf.getvalue()


def registry_files(result: Any, ticket: Any, live_dir: Path, now: str) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The files one signal adds to the registry (to commit with the rest of the live folder) and its entry."""
    cfg = result.config
    fit_id, arrays, fit = fit_state(result)
    prov = dict(result.market.provenance or {})
    dhash = data_hash(prov)
    chash = cfg.digest()
    entry = {
        "as_of": ticket.as_of,
        "recorded_at": now,
        "config_hash": chash,
        "data_hash": dhash,
        "data_source": cfg.data.source,
        "data_dir": cfg.data.dir,
        "data_first": str(result.market.prices.index[0].date()),
        "data_last": str(result.market.prices.index[-1].date()),
        "series": prov,
        "fit_id": fit_id,
        "regime": ticket.regime,
        "probabilities": ticket.probabilities,
        "sleeve_targets": ticket.sleeve_targets,
        "decision": ticket.decision,
        "versions": library_versions(),  # what produced this decision (core/versions.py)
    }
    files: dict[str, bytes] = {}
    root = f"{REGISTRY}"
    fit_dir = live_dir / REGISTRY / "fits" / fit_id
    if not (fit_dir / "fit.json").is_file():
        files[f"{root}/fits/{fit_id}/params.npz"] = npz_bytes(arrays)
        files[f"{root}/fits/{fit_id}/fit.json"] = (json.dumps(json_safe(
            {"fit_id": fit_id, "config_hash": chash, "data_hash": dhash, "recorded_at": now,
             "versions": library_versions(), **fit}),
            indent=2, sort_keys=True) + "\n").encode()
    if not (live_dir / REGISTRY / "configs" / f"{chash}.toml").is_file():
        files[f"{root}/configs/{chash}.toml"] = cfg.to_toml().encode()
    files[f"{root}/decisions/{ticket.as_of}-{dhash[:12]}.json"] = (
        json.dumps(json_safe(entry), indent=2, sort_keys=True) + "\n").encode()
    return files, entry


def decisions(live_dir: Path) -> list[dict[str, Any]]:
    """Every recorded decision, oldest first (by as-of date, then recording time)."""
    out = []
    for path in (live_dir / REGISTRY / "decisions").glob("*.json"):
        entry = json.loads(path.read_text(encoding="utf-8"))
        entry["file"] = str(path)
        out.append(entry)
    return sorted(out, key=lambda e: (e["as_of"], e["recorded_at"]))


def load_fit(live_dir: Path, fit_id: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    folder = live_dir / REGISTRY / "fits" / fit_id
    with np.load(folder / "params.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return arrays, json.loads((folder / "fit.json").read_text(encoding="utf-8"))


def reproduce(live_dir: Path, entry: dict[str, Any], store: Path | None = None) -> list[str]:
    """Re-run a recorded decision from the store (without the regime cache); the differences found, [] when
    the fit and the decision are identical bit for bit."""
    from regimeshift.backtests.config import config_from_dict
    from regimeshift.data.store.store import SnapshotSource
    from regimeshift.pipeline import run_pipeline
    from regimeshift.live.ticket import build_ticket

    cfg_path = live_dir / REGISTRY / "configs" / f"{entry['config_hash']}.toml"
    cfg = config_from_dict(read_toml(cfg_path), cfg_path.name)
    folder = store or (Path(entry["data_dir"]) if entry.get("data_source") == "store" else None)
    if folder is None:
        raise DataError(f"{entry['file']}: read from CSV files, not a store: pass the store to reproduce it from")
    source = SnapshotSource(folder, entry["series"], cfg.data.price_dir)
    result = run_pipeline(cfg, data_dir=source, cache=False)
    ticket = build_ticket(result)
    fit_id, arrays, _ = fit_state(result)
    diffs = []
    if data_hash(result.market.provenance) != entry["data_hash"]:
        diffs.append("data hash")
    if fit_id != entry["fit_id"]:
        diffs.append(f"fit {fit_id} != {entry['fit_id']}")
    else:
        stored, _ = load_fit(live_dir, fit_id)
        diffs += [f"fit array {k}" for k in arrays if not np.array_equal(stored[k], arrays[k])]
    if ticket.as_of != entry["as_of"] or ticket.regime != entry["regime"]:
        diffs.append(f"regime {ticket.as_of} {ticket.regime} != {entry['as_of']} {entry['regime']}")
    if ticket.probabilities != entry["probabilities"]:
        diffs.append("probabilities")
    if ticket.sleeve_targets != entry["sleeve_targets"]:
        diffs.append("targets")
    return diffs
