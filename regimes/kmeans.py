"""Seeded k-means (k-means++ starts, Lloyd's iterations): scikit-learn's ``KMeans(n_clusters, random_state=seed,
n_init=n_init).fit(X)``, without its per-call cost.

Why not ``sklearn.cluster.KMeans`` itself (measured reason): a cold walk-forward of the shipped config starts EM
from 390 seeded k-means runs on a few thousand rows of a handful of features; each ``fit`` took ~5.5 ms (2.1 s of
the cold run's CPU), most of it around the arithmetic: parameter and input validation, a thread-pool context,
and in each of Lloyd's ~30 iterations an OpenMP region with BLAS calls on 256-row chunks. Here the seeding is
the same numpy expressions and Lloyd's iterations one compiled loop: ~2 ms a run (0.8 s of that CPU).

The same algorithm, in the same arithmetic order where it decides anything:
- the data centred by its mean, k-means++ seeding with scikit-learn's draws from ``RandomState(seed)`` and its
  numpy expressions (so the same rows are picked: the seeding *is* the start);
- Lloyd: each row to its nearest centre (first of equals), the centres as the mean of their rows (sums in
  scikit-learn's order on two threads: the rows' 256-row chunks split in two halves, each summed from zero in
  row order, then added; so here, where the goldens were recorded on two cores, the centres are scikit-learn's
  to the bit, tests/test_kmeans.py; unlike scikit-learn's the result no longer depends on the machine's core
  count), stopping when no label changes or the centres move by less than ``1e-4`` times the mean feature
  variance; a last assignment when stopped by the tolerance;
- ``n_init`` runs from successive draws of one generator, the lowest inertia kept unless it is the same
  partition.
A run in which a cluster empties (scikit-learn then moves a far row into it) is handed to scikit-learn itself:
rare on real features, and its relocation rule is not worth a second copy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

CHUNK = 256  # scikit-learn's rows per chunk in Lloyd's iterations (the unit its threads split)
TOL = 1e-4  # scikit-learn's default tolerance, relative to the mean feature variance
MAX_ITER = 300


@dataclass(frozen=True)
class KMeansFit:
    """Centres (n_clusters, n_features) in the data's units, each row's label, the inertia and Lloyd's iterations."""

    centers: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int


def kmeans(X: np.ndarray, n_clusters: int, seed: int, n_init: int = 1) -> KMeansFit:
    """The best of ``n_init`` seeded k-means++/Lloyd runs on the rows of ``X`` (see the module docstring)."""
    X = np.array(X, dtype=float, order="C")  # a copy: centred below
    if X.ndim != 2 or len(X) < n_clusters or n_clusters < 1 or n_init < 1:
        raise ValueError(f"k-means needs at least n_clusters={n_clusters} rows and n_init >= 1, got {X.shape}, {n_init}")
    if not np.isfinite(X).all():  # as scikit-learn: a start on non-finite rows fails (its EM start is dropped)
        raise ValueError("k-means: the rows contain NaN or infinity")
    mean = X.mean(axis=0)
    X -= mean
    sq_norms = np.einsum("ij,ij->i", X, X)
    tol = float(np.mean(np.var(X, axis=0)) * TOL)
    rng = np.random.RandomState(seed)
    weights = np.ones(len(X))
    best: KMeansFit | None = None
    for _ in range(n_init):
        start = _plusplus(X, n_clusters, sq_norms, weights, rng)
        run = _lloyd_run(X, start, tol)
        if best is None or (run.inertia < best.inertia and not _same_partition(run.labels, best.labels, n_clusters)):
            best = run
    assert best is not None
    return KMeansFit(best.centers + mean, best.labels, best.inertia, best.n_iter)


def _plusplus(X: np.ndarray, k: int, sq_norms: np.ndarray, weights: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """Greedy k-means++ (2 + log k candidates a centre) with scikit-learn's draws and expressions."""
    n = X.shape[0]
    trials = 2 + int(np.log(k))
    centers = np.empty((k, X.shape[1]))
    first = rng.choice(n, p=weights / weights.sum())
    centers[0] = X[first]
    closest = _sq_distances(centers[0, np.newaxis], X, sq_norms)
    pot = closest @ weights
    for c in range(1, k):
        draws = rng.uniform(size=trials) * pot
        ids = np.searchsorted(np.cumsum(weights * closest), draws)
        np.clip(ids, None, closest.size - 1, out=ids)
        to_cands = _sq_distances(X[ids], X, sq_norms)
        np.minimum(closest, to_cands, out=to_cands)
        pots = to_cands @ weights.reshape(-1, 1)
        best = int(np.argmin(pots))
        pot = pots[best]
        closest = to_cands[best]
        centers[c] = X[ids[best]]
    return centers


def _sq_distances(A: np.ndarray, X: np.ndarray, x_sq_norms: np.ndarray) -> np.ndarray:
    """Squared distances of A's rows to X's rows as scikit-learn's k-means++ computes them (|a|^2 - 2a.x + |x|^2,
    clipped at zero)."""
    dist = -2 * (A @ X.T)
    dist += np.einsum("ij,ij->i", A, A)[:, None]
    dist += x_sq_norms.reshape(1, -1)
    return np.maximum(dist, 0, out=dist)


def _lloyd_run(X: np.ndarray, start: np.ndarray, tol: float) -> KMeansFit:
    labels, centers, n_iter, emptied = _lloyd(X, start, tol, MAX_ITER)
    if emptied:  # a cluster lost every row: scikit-learn's own relocation, from the same start
        return _sklearn_run(X, start)
    return KMeansFit(centers, labels, float(_inertia(X, centers, labels)), int(n_iter))


def _sklearn_run(X: np.ndarray, start: np.ndarray) -> KMeansFit:
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=len(start), init=start, n_init=1, max_iter=MAX_ITER, tol=TOL).fit(X)
    return KMeansFit(km.cluster_centers_, np.asarray(km.labels_, dtype=np.int32), float(km.inertia_), int(km.n_iter_))


def _same_partition(a: np.ndarray, b: np.ndarray, k: int) -> bool:
    """The same clustering up to a renumbering of the labels."""
    mapping = np.full(k, -1)
    for x, y in zip(a.tolist(), b.tolist()):
        if mapping[x] == -1:
            mapping[x] = y
        elif mapping[x] != y:
            return False
    return True


@njit(cache=True)
def _sq_dist(a: np.ndarray, b: np.ndarray) -> float:  # pragma: no cover - compiled
    """scikit-learn's squared distance: four features at a time, then the rest."""
    d = a.shape[0]
    r = 0.0
    q = d // 4
    for g in range(q):
        i = 4 * g
        r += ((a[i] - b[i]) * (a[i] - b[i]) + (a[i + 1] - b[i + 1]) * (a[i + 1] - b[i + 1])
              + (a[i + 2] - b[i + 2]) * (a[i + 2] - b[i + 2]) + (a[i + 3] - b[i + 3]) * (a[i + 3] - b[i + 3]))
    for i in range(4 * q, d):
        r += (a[i] - b[i]) * (a[i] - b[i])
    return r


@njit(cache=True)
def _inertia(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> float:  # pragma: no cover - compiled
    """Sum of squared distances to the assigned centre, in two halves of the rows (scikit-learn's two threads)."""
    n = X.shape[0]
    half = (n + 1) // 2
    a = 0.0
    for i in range(half):
        a += _sq_dist(X[i], centers[labels[i]])
    b = 0.0
    for i in range(half, n):
        b += _sq_dist(X[i], centers[labels[i]])
    return a + b


@njit(cache=True)
def _assign(Xt: np.ndarray, centers: np.ndarray, labels: np.ndarray, dist: np.ndarray) -> None:  # pragma: no cover - compiled
    """Each row's nearest centre by |c|^2 - 2 x.c (|x|^2 is common to a row), the first of equals. ``Xt`` is the
    data transposed (features x rows), so each feature's pass runs over contiguous rows (vectorised: the
    row-by-row loop was four times slower, bound by each dot product's chain of additions)."""
    d, n = Xt.shape
    k = centers.shape[0]
    for j in range(k):
        cn = 0.0
        for f in range(d):
            cn += centers[j, f] * centers[j, f]
        row = dist[j]
        row[:] = 0.0
        for f in range(d):
            c = centers[j, f]
            xf = Xt[f]
            for i in range(n):
                row[i] += xf[i] * c
        for i in range(n):
            row[i] = cn + -2.0 * row[i]
    for i in range(n):
        best = 0
        best_d = dist[0, i]
        for j in range(1, k):
            if dist[j, i] < best_d:
                best, best_d = j, dist[j, i]
        labels[i] = best


@njit(cache=True)
def _lloyd(X: np.ndarray, start: np.ndarray, tol: float, max_iter: int):  # pragma: no cover - compiled
    """Lloyd's iterations from ``start``: (labels, centres, iterations, a cluster emptied)."""
    n, d = X.shape
    k = start.shape[0]
    chunk = CHUNK if n > CHUNK else n
    n_chunks = n // chunk + (1 if n % chunk else 0)
    # OpenMP's static schedule on two threads: the first ceil(chunks/2) chunks to one, the rest to the other
    split = min(n, ((n_chunks + 1) // 2) * chunk) if n_chunks > 1 else n
    centers = start.copy()
    Xt = np.ascontiguousarray(X.T)
    dist = np.empty((k, n))
    labels = np.full(n, -1, dtype=np.int32)
    old = labels.copy()
    sums_a = np.empty((k, d))
    sums_b = np.empty((k, d))
    count_a = np.empty(k)
    count_b = np.empty(k)
    strict = False
    it = 0
    for it in range(max_iter):
        _assign(Xt, centers, labels, dist)
        sums_a[:] = 0.0
        sums_b[:] = 0.0
        count_a[:] = 0.0
        count_b[:] = 0.0
        for i in range(split):
            j = labels[i]
            count_a[j] += 1.0
            for f in range(d):
                sums_a[j, f] += X[i, f] * 1.0
        for i in range(split, n):
            j = labels[i]
            count_b[j] += 1.0
            for f in range(d):
                sums_b[j, f] += X[i, f] * 1.0
        new = np.empty((k, d))
        shift = 0.0
        for j in range(k):
            w = count_a[j] + count_b[j]
            if w == 0.0:
                return labels, centers, it + 1, True
            alpha = 1.0 / w
            for f in range(d):
                new[j, f] = (sums_a[j, f] + sums_b[j, f]) * alpha
        for j in range(k):
            s = np.sqrt(_sq_dist(new[j], centers[j]))
            shift += s * s
        centers = new
        same = True
        for i in range(n):
            if labels[i] != old[i]:
                same = False
                break
        if same:
            strict = True
            break
        if shift <= tol:
            break
        old[:] = labels
    if not strict:
        _assign(Xt, centers, labels, dist)
    return labels, centers, it + 1, False
